"""`lean-sidecar fill` on a file with several sorries: a table, and a file whose holes are filled."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import CHECKOUT_PYTHONPATH, PROJECT, ROOT
from tests.search_helpers import REPL_FACTS, lean_answer
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain

STATEMENT = "theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by"


def run_fill(
    tmp: Path,
    *args: str,
    endpoint: str | None = None,
    target: Path | None = None,
    env_extra: dict[str, str] | None = None,
    repl: bool = True,
) -> subprocess.CompletedProcess[str]:
    lake, repl_dir = make_toolchain(tmp / "tc", REPL_FACTS)
    project = tmp / "proj"
    project.mkdir(exist_ok=True)
    shutil.copy(PROJECT / "lean-toolchain", project / "lean-toolchain")
    if target is None:
        target = project / "FillCli.lean"
        if not target.exists():
            shutil.copy(PROJECT / "FillCli.lean", target)
    cmd = [sys.executable, "-m", "lean_sidecar", "fill", str(target), "--lake-path", str(lake)]
    cmd += ["--repl-path", str(repl_dir)] if repl else []
    cmd += list(args)
    if endpoint:
        cmd += ["--endpoint", endpoint]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": CHECKOUT_PYTHONPATH,
        "LEAN_SIDECAR_CACHE_PATH": str(tmp / "cache.sqlite"),
        "LEAN_SIDECAR_TACTICS": "rfl,omega,nlinarith",
        "HOME": str(tmp),
        **(env_extra or {}),
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
    assert done.returncode == 1, done.stderr  # one hole stays unsolved
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
    assert done.returncode == 1, done.stderr
    assert "+  omega" in done.stdout
    assert "div_self':7" in done.stdout and "unsolved" in done.stdout
    assert "  tactic   rejected" in done.stdout  # the trace lists the cascade's attempts
    assert (tmp_path / "proj" / "FillCli.lean").read_text().count(
        "sorry"
    ) == 5  # --diff writes nothing


def test_a_hole_that_errored_is_exit_1_with_its_whole_reason(tmp_path: Path) -> None:
    # The key is refused by generation only: `fill` checks /v1/models before the search (a key
    # refused there is said once, up front: tests/test_fill_first_contact.py), so this is an
    # endpoint that fails during the search.
    ep = StandInEndpoint(script=[{"match": "", "responses": [{"status": 401, "body": "bad key"}]}])
    url = ep.start_in_thread()
    done = run_fill(tmp_path, "--quiet", endpoint=url, env_extra={"LEAN_SIDECAR_API_KEY": "bad"})
    assert done.returncode == 1, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("div_self':7"))
    assert row.split()[1] == "error"
    # the whole reason, not cut at 60 characters: what happened and what to do
    assert "answered HTTP 401" in row and "Set the right key in `apiKey`" in row
    assert row.rstrip().endswith("LEAN_SIDECAR_API_KEY).")


def test_setup_errors_name_the_flag_or_variable_on_stderr(tmp_path: Path) -> None:
    _lake, old_repl = make_toolchain(tmp_path / "old", REPL_FACTS, lean_version="v4.9.0")
    done = run_fill(tmp_path, repl=False, env_extra={"LEAN_SIDECAR_REPL_PATH": str(old_repl)})
    assert done.returncode == 2 and done.stdout == ""
    (line,) = [x for x in done.stderr.splitlines() if "error" in x]
    assert line.startswith("lean-sidecar fill: error: the REPL at ")
    assert "v4.9.0" in line and "--repl-path (or LEAN_SIDECAR_REPL_PATH)" in line
    assert "repl_path" not in line


# What the dynamic loader prints when a REPL built against one Lean is run with another's
# libraries: the REPL then exits at once, before answering anything.
LOADER_ERROR = (
    "repl: error while loading shared libraries: libleanshared.so: "
    "cannot open shared object file: No such file or directory"
)


def break_repl(repl_dir: Path) -> None:
    """The REPL's binary replaced by one that fails as a mis-built REPL does."""
    binary = repl_dir / ".lake" / "build" / "bin" / "repl"
    binary.write_text(f"#!/bin/sh\necho '{LOADER_ERROR}' >&2\nexit 127\n")


def test_a_repl_that_cannot_run_is_a_setup_error_with_its_stderr(tmp_path: Path) -> None:
    _lake, broken = make_toolchain(tmp_path / "broken", REPL_FACTS)
    break_repl(broken)
    done = run_fill(tmp_path, repl=False, env_extra={"LEAN_SIDECAR_REPL_PATH": str(broken)})
    # not "unsolved" for every hole (every check failing alike): the cause, in one line
    assert done.returncode == 2 and done.stdout == "", done.stdout
    (line,) = done.stderr.splitlines()
    assert line.startswith("lean-sidecar fill: error: the Lean REPL stopped before answering")
    assert "libleanshared.so: cannot open shared object file" in line


def test_invalid_settings_are_errors_naming_the_variable(tmp_path: Path) -> None:
    done = run_fill(tmp_path, env_extra={"LEAN_SIDECAR_BUDGET_SAMPLES": "many"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[0]
        .startswith("lean-sidecar: error: invalid value 'many' for LEAN_SIDECAR_BUDGET_SAMPLES")
    )
    done = run_fill(tmp_path, "--model-family", "gpt-9")
    assert done.returncode == 2 and "for --model-family:" in done.stderr


def test_files_that_are_not_lean_are_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    latin1 = tmp_path / "proj" / "Latin.lean"
    latin1.write_bytes(b"theorem caf\xe9 : True := by sorry\n")
    notes = tmp_path / "proj" / "notes.txt"
    notes.write_text("theorem t : True := by sorry\n")
    folder = tmp_path / "proj" / "Dir.lean"
    folder.mkdir()
    for target, says in (
        (latin1, "is not UTF-8 text"),
        (notes, "is not a Lean file"),
        (folder, "is a directory"),
        (tmp_path / "proj" / "Missing.lean", "no such file"),
    ):
        done = run_fill(tmp_path, target=target)
        assert done.returncode == 2, (target, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and says in lines[0] and "Traceback" not in done.stderr, lines


def test_serve_on_a_terminal_says_it_speaks_lsp(tmp_path: Path) -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lean_sidecar", "serve", "--upstream", "true"],
        cwd=ROOT,
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": CHECKOUT_PYTHONPATH},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
    finally:
        proc.kill()
        proc.wait(10)
        os.close(leader)
        os.close(follower)
    assert "Language Server Protocol on stdin/stdout" in line


def test_upstream_variable_is_split_shell_style() -> None:
    from lean_sidecar.settings import load_settings

    s = load_settings(env={"LEAN_SIDECAR_UPSTREAM": "'/opt/my lean/lake' serve -- \"a b\""})
    assert s.upstream == ["/opt/my lean/lake", "serve", "--", "a b"]


async def test_write_refuses_a_declaration_whose_final_text_holds_another_command() -> None:
    from lean_bridge.hole_site import HoleSite
    from lean_sidecar.search.engine import Found, HoleResult
    from lean_sidecar.search.fill_file import FileHole, assemble

    text = "theorem t (n : Nat) : n + 0 = n := by\n  sorry\n"
    site = HoleSite.at(text, text.index("sorry"))
    assert site is not None and site.mode == "tactic"
    hostile = 'simp\n#eval! IO.Process.run {cmd := "sh"}'
    row = FileHole(site, 2, "t", None, HoleResult([Found(hostile, "model", 1.0)], status="solved"))
    assert await assemble(text, [row], verifier=None) == text  # type: ignore[arg-type]
    assert row.result is not None and row.result.status == "refused"
    assert row.result.error == "edit refused: extra command: `#eval!`"
    fine = FileHole(site, 2, "t", None, HoleResult([Found("simp", "tactic", 1.0)], status="solved"))
    assert "  simp\n" in await assemble(text, [fine], verifier=None)  # type: ignore[arg-type]


def test_paranoid_replay_is_skipped_with_its_reason_before_lean_4_35(tmp_path: Path) -> None:
    """The stand-in project's Lean (4.24) has no `lake check` and lacks the kernel fixes: the
    replay is skipped, with the reason, and the run says (once) that a model's proofs may be
    unsound on this toolchain."""
    done = run_fill(tmp_path, "--write", "--paranoid")
    assert "paranoid: kernel replay skipped: Lean 4.24.0 has no `lake check`" in done.stdout
    assert done.stderr.count("upgrade to ≥ 4.34.1") == 1, done.stderr
    done = run_fill(tmp_path, "--paranoid")
    assert done.returncode == 2 and "use it with --write" in done.stderr


async def test_paranoid_replay_reports_a_failing_checker(tmp_path: Path) -> None:
    """On 4.35+ the replay builds the module and runs the toolchain's checker; its failure is
    the replay's failure, with the command that failed."""
    from lean_bridge.kernel_replay import module_name, replay

    project = tmp_path / "p"
    (project / "Foo").mkdir(parents=True)
    target = project / "Foo" / "Bar.lean"
    target.write_text("theorem t : True := trivial\n")
    assert module_name(project, target) == "Foo.Bar"
    calls = tmp_path / "calls"
    lake = tmp_path / "lake"
    lake.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        'if [ "$1" = "env" ]; then echo "uncaught exception: kernel declaration rejected"; exit 1; fi\n'
    )
    lake.chmod(0o755)
    check = await replay(project, target, (4, 35, 0), str(lake))
    assert check.status == "failed" and "leanchecker Foo.Bar" in check.detail
    assert calls.read_text().splitlines() == ["build Foo.Bar", "env leanchecker Foo.Bar"]
    assert (await replay(project, target, (4, 34, 1), str(lake))).status == "skipped"


def test_without_a_sandbox_no_model_candidate_is_run_and_the_user_is_told_once(
    tmp_path: Path,
) -> None:
    """With no sandbox (here: turned off), the symbolic cascade still fills what it can, no
    model is asked, and one line on stderr says why and what to install or set."""
    ep = StandInEndpoint(
        script=[
            {
                "match": "div_self'",
                "responses": [{"texts": [lean_answer(STATEMENT, "  field_simp")]}],
            }
        ]
    )
    url = ep.start_in_thread()
    env = {"LEAN_SIDECAR_REPL_SANDBOX": "false"}
    done = run_fill(tmp_path, "--quiet", endpoint=url, env_extra=env)
    assert "easy:4" in done.stdout and "solved" in done.stdout  # the cascade still works
    assert not ep.generation_requests()
    told = [line for line in done.stderr.splitlines() if "not checked" in line]
    assert len(told) == 1, done.stderr
    assert "bubblewrap" in told[0] and "LEAN_SIDECAR_ALLOW_UNSANDBOXED" in told[0]
    # Someone who accepts the risk opts out explicitly: the model is asked again.
    env["LEAN_SIDECAR_ALLOW_UNSANDBOXED"] = "1"
    done = run_fill(tmp_path, "--quiet", endpoint=url, env_extra=env)
    assert ep.generation_requests() and "not checked" not in done.stderr
