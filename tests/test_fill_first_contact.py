"""`lean-sidecar fill` as a stranger first meets it, with default settings (only the stand-in
toolchain's `--lake-path`/`--repl-path` and a fresh HOME): the endpoint is checked once, up
front, and its failure is one line on stderr, never one per hole nor a log line; every row that
is not filled says why; `--trace` folds a run of duplicate samples into one line."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CHECKOUT_PYTHONPATH, PROJECT, ROOT
from tests.search_helpers import REPL_FACTS, lean_answer
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\b(WARNING|INFO|DEBUG)\b", re.M)
UNSOUND = "proofs from a model may be unsound"  # the stand-in's Lean 4.24 (said once, as before)


def fill(
    tmp: Path,
    *args: str,
    facts: Path = REPL_FACTS,
    source: Path = PROJECT / "FillCli.lean",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    lake, repl = make_toolchain(tmp / "tc", facts)
    project = tmp / "proj"
    project.mkdir(exist_ok=True)
    shutil.copy(PROJECT / "lean-toolchain", project / "lean-toolchain")
    target = project / source.name
    if not target.exists():
        shutil.copy(source, target)
    cmd = [sys.executable, "-m", "lean_sidecar", "fill", str(target)]
    cmd += ["--lake-path", str(lake), "--repl-path", str(repl), *args]
    full_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "PYTHONPATH": CHECKOUT_PYTHONPATH}
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env={**full_env, **(env or {})}
    )


def rows(stdout: str) -> dict[str, str]:
    """hole -> its whole row."""
    return {line.split()[0]: line for line in stdout.splitlines()[1:] if ":" in line.split()[0]}


def said(stderr: str) -> list[str]:
    """What fill said on stderr, less the progress bar, the timing and the toolchain notice."""
    return [
        line
        for line in stderr.splitlines()
        if line and not line.startswith(("[", "(")) and UNSOUND not in line
    ]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_endpoint_is_one_line_up_front_then_the_tactics_run(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    done = fill(tmp_path, "--endpoint", url)
    assert done.returncode == 1, done.stderr  # one hole stays unsolved
    (line,) = said(done.stderr)
    assert line == (
        f"lean-sidecar fill: warning: endpoint {url}: cannot connect (ConnectError). Check that "
        "the server is running and that --endpoint (or LEAN_SIDECAR_ENDPOINTS) has its URL "
        "(`lean-sidecar doctor` checks it). Going on with the symbolic tactics only."
    )
    assert not LOG_LINE.search(done.stderr), done.stderr
    table = rows(done.stdout)
    assert "solved" in table["easy:4"] and "solved" in table["with_have:12"]
    assert table["by_cases_demo:15"].split()[1:3] == ["unsolved", "-"]
    assert table["by_cases_demo:15"].endswith("tactics only: endpoint unreachable (see above)")
    assert "healthy" not in done.stdout and "not retried" not in done.stdout


@pytest.mark.parametrize(
    ("extra", "says", "row"),
    [
        (
            {"env": {"LEAN_SIDECAR_API_KEY": "wrong"}},
            "/v1/models answered HTTP 401: Unauthorized. Set the server's key in "
            "LEAN_SIDECAR_API_KEY",
            "tactics only: endpoint refused the key (see above)",
        ),
        (
            {"args": ["--model", "someone/else"]},
            "serves AI-MO/Kimina-Prover-Distill-8B, not someone/else. Set --model (or "
            "LEAN_SIDECAR_MODEL) to a model it serves",
            "tactics only: endpoint does not serve the model (see above)",
        ),
    ],
    ids=["key refused", "model not served"],
)
def test_an_endpoint_that_fails_its_check_is_said_once(
    tmp_path: Path, extra: dict[str, object], says: str, row: str
) -> None:
    ep = StandInEndpoint(require_key="right")
    url = ep.start_in_thread()
    env = dict(extra.get("env", {"LEAN_SIDECAR_API_KEY": "right"}))  # type: ignore[call-overload]
    args = list(extra.get("args", []))  # type: ignore[call-overload]
    done = fill(tmp_path, "--endpoint", url, *args, env=env)
    assert done.returncode == 1, done.stderr
    (line,) = said(done.stderr)
    assert line.startswith(f"lean-sidecar fill: warning: endpoint {url}: {says}"), line
    assert line.endswith("Going on with the symbolic tactics only.")
    assert rows(done.stdout)["by_cases_demo:15"].endswith(row)
    assert not ep.generation_requests()  # no request per hole to fail again
    assert not LOG_LINE.search(done.stderr), done.stderr


def test_every_unfilled_row_says_why(tmp_path: Path) -> None:
    """No endpoint: the row says only the tactics ran and how to add one. With one, the row
    says how many samples were spent."""
    done = fill(tmp_path)
    assert done.returncode == 1 and said(done.stderr) == [], done.stderr
    assert rows(done.stdout)["by_cases_demo:15"].endswith(
        "tactics only: no endpoint (set one with --endpoint or LEAN_SIDECAR_ENDPOINTS)"
    )
    ep = StandInEndpoint()  # answers every prompt with prose, no proof
    done = fill(tmp_path, "--endpoint", ep.start_in_thread())
    assert done.returncode == 1 and said(done.stderr) == [], done.stderr
    why = rows(done.stdout)["by_cases_demo:15"].split("  ")[-1]
    assert re.fullmatch(r"(no proof|sample budget spent) after \d+ samples", why), why


def test_trace_folds_duplicate_samples_into_one_line(tmp_path: Path) -> None:
    """A model that repeats itself: the trace says in one line how many samples were
    duplicates (samples are checked concurrently: in any order), and shows the one that
    verified."""
    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps(
            {
                "proofs": {
                    "(n : Nat) (h : 3 < n) : n ≠ 2": {
                        "goal": "n : Nat\nh : 3 < n\n⊢ n ≠ 2",
                        "accepted": ["by exact magic n h"],
                        "error": "omega could not prove the goal",
                    }
                }
            }
        )
    )
    source = tmp_path / "Magic.lean"
    statement = "theorem magic_use (n : Nat) (h : 3 < n) : n ≠ 2 := by"
    source.write_text(f"{statement}\n  sorry\n")
    wrong, right = lean_answer(statement, "  simp"), lean_answer(statement, "  exact magic n h")
    ep = StandInEndpoint(
        script=[
            {
                "match": "magic_use",
                "responses": [{"texts": [wrong]}, {"texts": [wrong, wrong, wrong, right]}],
            }
        ]
    )
    done = fill(tmp_path, "--trace", "--endpoint", ep.start_in_thread(), facts=facts, source=source)
    assert done.returncode == 0, done.stdout + done.stderr
    samples = [
        line.strip() for line in done.stdout.splitlines() if line.strip().startswith("sample")
    ]
    duplicates = [line for line in samples if " duplicate " in line]
    assert len(duplicates) == 1, samples
    assert re.search(
        r"\b[2-9] duplicate samples \(each the same as a candidate tried", duplicates[0]
    )
    (verified,) = [line for line in samples if line.startswith("sample   verified")]
    assert "exact magic n h" in verified


def test_no_repl_offline_says_what_is_missing_and_what_to_do(tmp_path: Path) -> None:
    """No --repl-path and no network: lean-interact cannot clone the REPL. The error used to
    start with lean-interact's internal path (`InvalidGitRepositoryError: …/site-packages/
    lean_interact/cache/…`, from the empty folder a failed clone leaves, on every later run);
    it says what is missing and the two ways out, and a second run says the same."""
    from lean_bridge.repl_pool import _clean_copy

    if shutil.which("git", path="/usr/bin:/bin") is None:
        pytest.skip("no git in /usr/bin or /bin: lean-interact cannot even try to clone")
    clone = _clean_copy()
    if clone is not None and clone.is_dir() and any(clone.iterdir()):
        pytest.skip(f"lean-interact already holds a REPL clone in {clone}: it would build it")
    lake, _repl = make_toolchain(tmp_path / "tc", REPL_FACTS)
    project = tmp_path / "proj"
    project.mkdir()
    shutil.copy(PROJECT / "lean-toolchain", project / "lean-toolchain")
    target = project / "FillCli.lean"
    shutil.copy(PROJECT / "FillCli.lean", target)
    # Offline, whatever this machine's network: git is sent to a repository that does not exist.
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": CHECKOUT_PYTHONPATH,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{tmp_path / 'offline'}/.insteadOf",
        "GIT_CONFIG_VALUE_0": "https://github.com/",
        "GIT_TERMINAL_PROMPT": "0",
    }
    cmd = [sys.executable, "-m", "lean_sidecar", "fill", str(target), "--lake-path", str(lake)]
    for _ in range(2):
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith(
            "lean-sidecar fill: error: no Lean REPL for leanprover/lean4:v4.24.0: --repl-path "
            "(or LEAN_SIDECAR_REPL_PATH) is not set, and one could not be fetched and built"
        ), line
        assert "git clone failed: " in line
        assert "git checkout v4.24.0 && lake build) and set --repl-path" in line
        assert "or run again with network access" in line
        for internal in ("site-packages", "lean_interact", "InvalidGitRepositoryError", "cmdline"):
            assert internal not in line, line
