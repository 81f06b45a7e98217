"""`lean-sidecar fill` on a file with several sorries: a table, and a file whose holes are filled."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT, ROOT
from tests.search_helpers import REPL_FACTS, lean_answer
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain

STATEMENT = "theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by"


def run_fill(
    tmp: Path, *args: str, endpoint: str | None = None
) -> subprocess.CompletedProcess[str]:
    lake, repl = make_toolchain(tmp / "tc", REPL_FACTS)
    project = tmp / "proj"
    project.mkdir(exist_ok=True)
    shutil.copy(PROJECT / "lean-toolchain", project / "lean-toolchain")
    target = project / "FillCli.lean"
    if not target.exists():
        shutil.copy(PROJECT / "FillCli.lean", target)
    cmd = [
        sys.executable,
        "-m",
        "lean_sidecar",
        "fill",
        str(target),
        "--repl-path",
        str(repl),
        "--lake-path",
        str(lake),
        *args,
    ]
    if endpoint:
        cmd += ["--endpoint", endpoint]
    env = {
        "PATH": "/usr/bin:/bin",
        "LEAN_SIDECAR_CACHE_PATH": str(tmp / "cache.sqlite"),
        "LEAN_SIDECAR_TACTICS": "rfl,omega,nlinarith",
        "HOME": str(tmp),
    }
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_fill_writes_verified_proofs_and_prints_the_table(tmp_path: Path) -> None:
    ep = StandInEndpoint(
        script=[
            {
                "match": "div_self'",
                "responses": [{"texts": [lean_answer(STATEMENT, "  field_simp")]}],
            }
        ]
    )
    url = ep.start_in_thread()
    done = run_fill(tmp_path, "--write", endpoint=url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    table = {line.split()[0]: line.split()[1:4] for line in lines[1:] if ":" in line.split()[0]}
    assert table["easy:4"][:2] == ["solved", "tactic"]
    assert table["div_self':7"][:2] == ["solved", "model"]
    assert table["with_have:10"][:2] == ["solved", "tactic"]
    assert table["with_have:12"][:2] == ["solved", "tactic"]
    assert table["by_cases_demo:15"][0] == "unsolved"
    assert "4/5 holes filled" in done.stdout
    filled = (tmp_path / "proj" / "FillCli.lean").read_text()
    assert "  omega\n" in filled and "  field_simp\n" in filled
    assert "have hx : 1 ≤ x := by omega" in filled and "_ ≤ x * x := by nlinarith" in filled
    assert filled.count("sorry") == 1  # the unsolved hole keeps its sorry
    assert "[" in done.stderr  # the progress bar


def test_fill_without_endpoint_uses_the_cascade_alone_and_diffs(tmp_path: Path) -> None:
    done = run_fill(tmp_path, "--diff", "--trace")
    assert done.returncode == 0, done.stderr
    assert "+  omega" in done.stdout
    assert "div_self':7" in done.stdout and "unsolved" in done.stdout
    assert "  tactic   rejected" in done.stdout  # the trace lists the cascade's attempts
    assert (tmp_path / "proj" / "FillCli.lean").read_text().count(
        "sorry"
    ) == 5  # --diff writes nothing
