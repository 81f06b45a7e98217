"""VS Code end to end: the built .vsix in a real workbench (code-server, headless Chromium).

Runs when code-server is installed under .cache/code-server (vscode-extension/test/e2e/
install-code-server.sh), Chromium is present and the .vsix is built (`.ci/run` does all three);
skipped with the reason otherwise. The screenshot lands in artifacts/vscode-fill-sorry.png."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, ROOT, standin_lean_command
from tests.search_helpers import REPL_FACTS
from tests.standins.toolchain import make_toolchain

EXT = ROOT / "vscode-extension"
CODE_SERVER = ROOT / ".cache" / "code-server" / "package" / "out" / "node" / "entry.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = [
    what
    for what, ok in [
        (
            "code-server (run vscode-extension/test/e2e/install-code-server.sh .cache/code-server)",
            CODE_SERVER.exists(),
        ),
        ("chromium", CHROMIUM is not None),
        ("the built lean-sidecar.vsix", (EXT / "lean-sidecar.vsix").exists()),
        (
            "playwright-core (npm install --prefix vscode-extension/.tools playwright-core)",
            (EXT / ".tools" / "node_modules" / "playwright-core").exists(),
        ),
    ]
    if not ok
]


@pytest.mark.skipif(bool(MISSING), reason="VS Code end-to-end needs: " + "; ".join(MISSING))
def test_fill_sorry_in_a_real_vscode_workbench(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    for name in ("lean-toolchain", "Fill.lean"):
        shutil.copy(PROJECT / name, project / name)
    lake, repl = make_toolchain(tmp_path / "tc", REPL_FACTS)
    shots = ROOT / "artifacts"
    shots.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "CODE_SERVER": str(CODE_SERVER),
        "VSIX": str(EXT / "lean-sidecar.vsix"),
        "STUB_VSIX": str(EXT / "stub-lean4.vsix"),
        "PYTHON": sys.executable,
        "PROJECT": str(project),
        "REPL_PATH": str(repl),
        "LAKE_PATH": str(lake),
        "WORK": str(tmp_path / "work"),
        "UPSTREAM_JSON": json.dumps(standin_lean_command(PROJECT / "holes_facts.json")),
        "SHOT": str(shots / "vscode-fill-sorry.png"),
        "CHROMIUM": CHROMIUM or "",
        "NODE_PATH": str(EXT / ".tools" / "node_modules"),
    }
    done = subprocess.run(
        ["node", str(EXT / "test" / "e2e" / "e2e.js")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "E2E OK" in out
    assert (shots / "vscode-fill-sorry.png").stat().st_size > 10_000
