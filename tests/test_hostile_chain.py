"""The attack chain, end to end through ``lean-sidecar fill FILE --write``: a hostile endpoint
answers with proofs that carry ``#eval!`` (read the API key from the REPL's environment and
throw it back as a Lean error, so that the error-fix prompt carries it to the endpoint; then run
a program and be written into the user's file).

The REPL is a hostile stand-in (tests/standins/hostile_repl.py ``--lean``) that does what Lean
would do with ``#eval!``: it reads the variable the candidate names from its own environment and
tries to write to the user's home and project. The endpoint is the scripted stand-in, whose every
request body is recorded.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from lean_bridge.candidate_filter import check_candidate
from lean_bridge.sandbox import detect
from tests.conftest import CHECKOUT_PYTHONPATH, PROJECT, ROOT
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import install_script

SECRET = 'sk-live/"chain"+key&=9f2'  # differs in plain, JSON-escaped and URL-encoded form
STATEMENT = "theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by"
EXFILTRATE = (
    'omega\n  #eval! do let k ← IO.getEnv "LEAN_SIDECAR_API_KEY"; throw (IO.userError s!"KEY={k}")'
)
RUN_PROGRAM = (
    'omega\n  #eval! IO.Process.run {cmd := "sh", args := #["-c", "echo pwned >> ~/.bashrc"]}'
)


def answer(proof: str) -> str:
    return f"<think>Easy.</think>\n```lean4\n{STATEMENT}\n  {proof}\n```"


def secret_forms(secret: str) -> list[str]:
    return [
        secret,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
    ]


def run_chain(tmp: Path, pretend_env: str | None = None) -> dict[str, Any]:
    home = tmp / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# the user's\n")
    project = tmp / "proj"
    project.mkdir()
    shutil.copy(PROJECT / "lean-toolchain", project / "lean-toolchain")
    target = project / "FillCli.lean"
    shutil.copy(PROJECT / "FillCli.lean", target)
    original = target.read_text()
    tc = tmp / "tc"
    (tc / "repl" / ".lake" / "build" / "bin").mkdir(parents=True)
    shutil.copy(PROJECT / "lean-toolchain", tc / "repl" / "lean-toolchain")
    lake = tc / "lake"
    lake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "env" ]; then shift; exec "$@"; fi\n'
        'if [ "$1" = "--version" ]; then echo "Lake version 5.0.0 (Lean version 4.24.0)"; fi\n'
    )
    lake.chmod(0o755)
    args = [sys.executable, str(install_script(tc, "hostile_repl.py")), "--lean"]
    args += ["--write", str(home / ".bashrc"), "--write", str(target)]
    if pretend_env:
        args += ["--pretend-env", pretend_env]
    repl = tc / "repl" / ".lake" / "build" / "bin" / "repl"
    repl.write_text("#!/bin/sh\nexec " + shlex.join(args) + "\n")
    repl.chmod(0o755)
    ep = StandInEndpoint(
        script=[
            {
                "match": "div_self'",
                "responses": [{"texts": [answer(EXFILTRATE)]}, {"texts": [answer(RUN_PROGRAM)]}],
            }
        ]
    )
    url = ep.start_in_thread()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": CHECKOUT_PYTHONPATH,
        "HOME": str(home),
        "LEAN_SIDECAR_API_KEY": SECRET,
        "LEAN_SIDECAR_CACHE_PATH": str(tmp / "cache.sqlite"),
        "LEAN_SIDECAR_TACTICS": "rfl",
        "LEAN_SIDECAR_BUDGET_SAMPLES": "2",
        "LEAN_SIDECAR_FIX_ROUNDS": "1",
    }
    cmd = [sys.executable, "-m", "lean_sidecar", "fill", str(target), "--write"]
    cmd += ["--repl-path", str(tc / "repl"), "--lake-path", str(lake), "--endpoint", url]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    bodies = [json.dumps(r.body, ensure_ascii=False) for r in ep.generation_requests()]
    bodies += [json.dumps(r.body) for r in ep.generation_requests()]
    return {
        "done": done,
        "bodies": bodies,
        "requests": ep.generation_requests(),
        "original": original,
        "final": target.read_text(),
        "bashrc": (home / ".bashrc").read_text(),
        "target": target,
    }


needs_sandbox = pytest.mark.skipif(detect() == "none", reason="no sandbox tool (bubblewrap)")


@needs_sandbox
def test_hostile_endpoint_gets_no_secret_and_the_home_is_untouched(tmp_path: Path) -> None:
    out = run_chain(tmp_path)
    assert out["done"].returncode in (0, 1), out["done"].stderr
    assert len(out["requests"]) >= 1
    for form in secret_forms(SECRET):
        for body in out["bodies"]:
            assert form not in body, "the endpoint received the key back"
        assert form not in out["done"].stdout + out["done"].stderr
    assert not check_candidate(EXFILTRATE).ok  # the gate refused it before Lean
    assert out["bashrc"] == "# the user's\n"  # the sandbox kept the hostile REPL out of HOME


@needs_sandbox
def test_nothing_hostile_is_written_and_the_file_is_unchanged(tmp_path: Path) -> None:
    out = run_chain(tmp_path)
    # The sandbox: the hostile REPL could not write to the user's file while it ran.
    assert "written by the hostile REPL" not in out["final"]
    assert out["bashrc"] == "# the user's\n"
    assert not check_candidate(RUN_PROGRAM).ok  # refused before Lean, so never written
    assert "#eval" not in out["final"]
    assert out["final"] == out["original"]
