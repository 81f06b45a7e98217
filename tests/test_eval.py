"""`lean-sidecar eval` on a 20-problem miniF2F slice (from shared/data when present), with the
stand-in endpoint and REPL scripted per problem: the summary must match the script, a run that
was cut short resumes, and the report is written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lean_sidecar.evaluation.problems import Problem, data_dir, load
from tests.conftest import ROOT
from tests.search_helpers import lean_answer
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain

DATA = data_dir()


def slice20(tmp: Path) -> tuple[Path, list[Problem]]:
    """20 test problems with a single `:=`; a synthetic set when shared/data is absent."""
    if DATA is not None and (DATA / "minif2f-lean4-v4.24").exists():
        problems = [p for p in load("minif2f-test") if p.formal_statement.count(":=") == 1][:20]
    else:
        problems = [
            Problem(
                f"synthetic_{i}",
                "import Mathlib\n\n",
                f"theorem synthetic_{i} (x : ℕ) (h : {i} < x) : {i} + 1 ≤ x := by\n",
            )
            for i in range(20)
        ]
    path = tmp / "slice.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "name": p.name,
                    "header": p.header,
                    "formal_statement": p.formal_statement,
                    "split": "test",
                }
            )
            + "\n"
            for p in problems
        )
    )
    return path, problems


def signature(stmt: str) -> str:
    """What the stand-in REPL keys its facts by: the statement after the name, up to `:=`."""
    m = re.search(r"theorem\s+\S+\s*(.*?):=", stmt, re.S)
    assert m is not None
    return " ".join(m.group(1).split())


def script_problems(problems: list[Problem]) -> tuple[dict, list[dict]]:
    """0–3: the cascade (norm_num) proves them; 4–9: the model's first answer; 10–12: an
    error-fix round; 13–19: nothing does."""
    proofs, rules = {}, []
    for i, p in enumerate(problems):
        stmt = p.formal_statement.rstrip()
        good = f"nlinarith [sq_nonneg ({i} : ℝ)]"
        accepted = ["by norm_num"] if i < 4 else ([f"by {good}"] if i < 13 else [])
        proofs[signature(stmt)] = {
            "accepted": accepted,
            "error": "linarith failed to find a contradiction",
        }
        if 10 <= i < 13:
            rules.append(
                {"match": f"wrong_{i}]", "responses": [{"texts": [lean_answer(stmt, f"  {good}")]}]}
            )
        answer = good if 4 <= i < 10 else f"linarith [wrong_{i}]"
        after = stmt[
            stmt.index(p.name) + len(p.name)
        ]  # the name's own end, not a longer name's prefix
        rules.append(
            {
                "match": f"theorem {p.name}{after}",
                "responses": [{"texts": [lean_answer(stmt, f"  {answer}")]}],
            }
        )
    return {"proofs": proofs}, rules


def eval_command(
    tmp: Path,
    bench: Path | str,
    url: str,
    *extra: str,
    stages: str = "cascade,samples,fix",
    tactics: str = "norm_num",
    out: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """`lean-sidecar eval` over ``bench`` with the stand-in REPL and endpoint, and its env."""
    facts = tmp / "tc" / "facts.json"  # inside the toolchain folder: the REPL's sandbox shows it
    lake, repl = make_toolchain(tmp / "tc", facts, tmp / "repl.log")
    project = tmp / "proj"
    project.mkdir(exist_ok=True)
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    cmd = [
        sys.executable,
        "-m",
        "lean_sidecar",
        "eval",
        str(bench),
        "--out",
        str(out or tmp / "results.jsonl"),
        "--budget",
        "4",
        "--stages",
        stages,
        "--project",
        str(project),
        "--repl-path",
        str(repl),
        "--lake-path",
        str(lake),
        "--endpoint",
        url,
        "--quiet",
        *extra,
    ]
    base = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        # this checkout's code, whatever the venv's editable install points to
        "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT)]),
        "LEAN_SIDECAR_TACTICS": tactics,
        "LEAN_SIDECAR_SAMPLES_PER_REQUEST": "2",
        "LEAN_SIDECAR_ENDPOINT_CONCURRENCY": "1",
    }
    return cmd, {**base, **(env or {})}


def run_eval(
    tmp: Path, bench: Path | str, url: str, *extra: str, **kw: object
) -> subprocess.CompletedProcess[str]:
    cmd, env = eval_command(tmp, bench, url, *extra, **kw)  # type: ignore[arg-type]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def setup(tmp_path: Path):
    bench, problems = slice20(tmp_path)
    facts, rules = script_problems(problems)
    (tmp_path / "tc").mkdir()
    (tmp_path / "tc" / "facts.json").write_text(json.dumps(facts, ensure_ascii=False))
    ep = StandInEndpoint(script=rules)
    url = ep.start_in_thread()
    return tmp_path, bench, problems, ep, url


def test_summary_matches_the_script_and_a_cut_run_resumes(setup) -> None:
    tmp, bench, problems, ep, url = setup
    first = run_eval(tmp, bench, url, "--limit", "10")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "solved 10/10 (100.0%)" in first.stdout
    with (tmp / "results.jsonl").open("a") as f:
        f.write('{"name": "' + problems[10].name + '", "status": "sol')  # a run killed mid-write
    before = len(ep.generation_requests())
    second = run_eval(tmp, bench, url, "--report")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming: 10 problem(s) already in" in second.stderr
    asked = {
        r.body["messages"][-1]["content"].split("theorem ")[1].split()[0].rstrip(":")
        for r in ep.generation_requests()[before:]
        if r.body and "theorem " in r.body["messages"][-1]["content"]
    }
    assert asked <= {p.name for p in problems[10:]}, "solved problems are not asked again"
    summary = json.loads((tmp / "results.summary.json").read_text())
    assert summary["problems"] == 20 and summary["solved"] == 13 and summary["solved_pct"] == 65.0
    assert summary["by_stage"] == {"tactic": 4, "model": 9}
    assert summary["pass_at_samples"] == {"0": 0.2, "1": 0.2, "2": 0.5, "4": 0.65}
    assert (
        summary["time_to_first_p50"] is not None
        and summary["time_to_first_p95"] >= summary["time_to_first_p50"]
    )
    assert summary["tokens"] > 0 and summary["lean_seconds"] > 0 and summary["gpu_seconds"] > 0
    rows = [
        json.loads(line)
        for line in (tmp / "results.jsonl").read_text().splitlines()
        if line.endswith("}")
    ]
    by_name = {r["name"]: r for r in rows}
    assert [by_name[p.name]["how"] for p in problems[:4]] == ["tactic"] * 4
    assert {by_name[p.name]["samples_at_first"] for p in problems[4:10]} == {2}
    assert {by_name[p.name]["samples_at_first"] for p in problems[10:13]} == {
        3
    }  # 2 samples + 1 fix
    assert all(by_name[p.name]["status"] == "unsolved" for p in problems[13:])
    assert "solved 13/20 (65.0%)" in second.stdout
    report = (tmp / "results.html").read_text()
    assert report.count("<svg") == 3 and "Solved 13/20 (65.0%)" in report


def test_fresh_run_and_unknown_benchmark(setup) -> None:
    tmp, bench, problems, ep, url = setup
    done = run_eval(tmp, tmp / "nope.jsonl", url)
    assert done.returncode == 2 and "no benchmark file" in done.stderr


def test_cascade_stage_reports_goals_closed_and_seconds_per_tactic(setup) -> None:
    """`eval --stages cascade`: no model, and per tactic the goals it closed and its seconds,
    in the summary (printed and JSON) and per problem in the results JSONL."""
    tmp, bench, problems, ep, url = setup
    done = run_eval(tmp, bench, url, stages="cascade", tactics="rfl,norm_num,omega")
    assert done.returncode == 0, done.stderr[-3000:]
    assert ep.generation_requests() == []
    summary = json.loads((tmp / "results.summary.json").read_text())
    table = summary["by_tactic"]
    assert table["norm_num"]["closed"] == 4 and table["norm_num"]["tried"] == 20
    assert table["rfl"]["closed"] == 0 and table["omega"]["closed"] == 0
    assert next(iter(table)) == "norm_num"  # ordered by goals closed
    assert all(v["seconds"] > 0 for v in table.values())
    assert "cascade, per tactic (goals closed / tried, seconds):" in done.stdout
    assert re.search(r"norm_num\s+4 / 20\s+\d+\.\d\d s", done.stdout)
    rows = [json.loads(line) for line in (tmp / "results.jsonl").read_text().splitlines()]
    closed = [r["name"] for r in rows if r["tactics"].get("norm_num", {}).get("closed")]
    assert sorted(closed) == sorted(p.name for p in problems[:4])


# ---- outputs: made before searching, written as they come ------------------------------------


def rows_of(path: Path) -> list[dict]:
    """Every line of a results file, each of which must be a whole JSON object."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_out_in_a_missing_folder_is_made_first_and_a_killed_run_keeps_every_finished_row(
    setup,
) -> None:
    """`--out new/deeper/x.jsonl`: the folders are made before anything is searched, each row
    is on disk as soon as its problem is done, and a run killed midway resumes from them."""
    tmp, bench, problems, ep, url = setup
    out = tmp / "new" / "deeper" / "x.jsonl"
    stalls = problems[4]
    after = stalls.formal_statement[stalls.formal_statement.index(stalls.name) + len(stalls.name)]
    ep.script.insert(  # problem 4's model request never answers: the run stalls there
        0, {"match": f"theorem {stalls.name}{after}", "responses": [{"hang": True}]}
    )
    cmd, env = eval_command(tmp, bench, url, "--concurrency", "1", out=out)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and len(out.read_text().splitlines()) >= 4):
            assert proc.poll() is None, proc.communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "the first four rows never came"
            time.sleep(0.1)
        time.sleep(0.5)  # problem 4 is waiting on the endpoint: nothing more is written
        proc.kill()  # SIGKILL: no cleanup runs
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = rows_of(out)  # every line whole
    assert [r["name"] for r in rows] == [p.name for p in problems[:4]]
    assert {r["status"] for r in rows} == {"solved"}
    del ep.script[0]  # the endpoint answers again
    second = run_eval(tmp, bench, url, out=out)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"resuming: 4 problem(s) already in {out}, 16 to go" in second.stderr
    assert "solved 13/20 (65.0%)" in second.stdout
    assert sorted(r["name"] for r in rows_of(out)) == sorted(p.name for p in problems)
    assert (out.parent / "x.summary.json").exists()


def test_an_out_that_cannot_be_written_is_refused_in_one_line_before_searching(setup) -> None:
    tmp, bench, problems, ep, url = setup
    (tmp / "a-file").write_text("")
    done = run_eval(tmp, bench, url, out=tmp / "a-file" / "x.jsonl")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert done.stderr.startswith("error: cannot create the folder ")
    assert "Traceback" not in done.stderr
    assert ep.generation_requests() == [] and not (tmp / "repl.log").exists()
    report = run_eval(tmp, bench, url, "--report", str(tmp / "a-file" / "r.html"))
    assert report.returncode == 2 and "cannot create the folder" in report.stderr
    assert ep.generation_requests() == [] and not (tmp / "repl.log").exists()


# ---- named benchmarks: what they are and where to get them ------------------------------------


@pytest.mark.parametrize(
    ("name", "upstream", "command"),
    [
        (
            "minif2f-test",
            "https://github.com/yangky11/miniF2F-lean4",
            "lean-sidecar eval miniF2F-lean4/MiniF2F/Test",
        ),
        (
            "minif2f-valid",
            "https://github.com/yangky11/miniF2F-lean4",
            "lean-sidecar eval miniF2F-lean4/MiniF2F/Valid",
        ),
        (
            "minif2f-ds-test",
            "https://github.com/deepseek-ai/DeepSeek-Prover-V1.5",
            "lean-sidecar eval DeepSeek-Prover-V1.5/datasets/minif2f.jsonl --split test",
        ),
        (
            "proofnet-test",
            "https://github.com/deepseek-ai/DeepSeek-Prover-V1.5",
            "lean-sidecar eval DeepSeek-Prover-V1.5/datasets/proofnet.jsonl --split test",
        ),
    ],
)
def test_a_named_benchmark_without_its_data_says_what_it_is_and_where_to_get_it(
    setup, name: str, upstream: str, command: str
) -> None:
    tmp, bench, problems, ep, url = setup
    empty = tmp / "data"
    empty.mkdir()
    done = run_eval(tmp, name, url, "--data", str(empty))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    err = done.stderr
    assert err.startswith(f"error: {name}: its data is not on this machine ({empty} has no ")
    assert f"{name} is " in err and upstream in err and command in err
    assert "or give --data a folder holding" in err
    assert '{"name", "header", "formal_statement"}' in err and "folder of .lean files" in err
    gone = run_eval(tmp, name, url, "--data", str(tmp / "nowhere"))
    assert f"(--data {tmp / 'nowhere'} is not a folder)" in gone.stderr
    assert upstream in gone.stderr


def test_a_folder_of_lean_files_is_a_benchmark(setup) -> None:
    """What the missing-data message proposes: `eval miniF2F-lean4/MiniF2F/Test` (one
    `theorem … := by sorry` per file) runs like the JSONL."""
    tmp, bench, problems, ep, url = setup
    folder = tmp / "MiniF2F" / "Test"
    folder.mkdir(parents=True)
    for p in problems[:6]:
        (folder / f"{p.name}.lean").write_text(
            p.header + p.formal_statement.rstrip() + " sorry\n", encoding="utf-8"
        )
    done = run_eval(tmp, folder, url, stages="cascade")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "solved 4/6 (66.7%)" in done.stdout  # 0–3 by norm_num, as scripted


# ---- known defective statements --------------------------------------------------------------

# As in deepseek-prover-v1.5/minif2f.jsonl (314, 158: defective) and yangky11/miniF2F-lean4
# (342: its body parenthesised, so sound).
DEFECTIVE_SET = [
    (
        "mathd_algebra_314",
        "theorem mathd_algebra_314 (n : ℕ) (h₀ : n = 11) : (1 / 4) ^ (n + 1) * 2 ^ (2 * n) = 1 / 4 := by\n",
    ),
    (
        "mathd_algebra_158",
        "theorem mathd_algebra_158 (a : ℕ) (h₀ : Even a)\n"
        "    (h₁ : ↑(∑ k in Finset.range 8, 2 * k + 1) - ↑(∑ k in Finset.range 5, a + 2 * k) = (4 : ℤ)) :\n"
        "    a = 8 := by\n",
    ),
    (
        "mathd_algebra_342",
        "theorem mathd_algebra_342\n  (a d: ℝ)\n  (h₀ : ∑ k ∈ (Finset.range 5), (a + k * d) = 70)\n"
        "  (h₁ : ∑ k ∈ (Finset.range 10), (a + k * d) = 210) :\n  a = 42/5 := by\n",
    ),
    ("synthetic_ok", "theorem synthetic_ok (x : ℕ) (h : 1 < x) : 2 ≤ x := by\n"),
]


def test_known_defective_statements_are_flagged_in_the_summary_and_the_report(setup) -> None:
    tmp, bench, problems, ep, url = setup
    header = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
    bench = tmp / "defects.jsonl"
    bench.write_text(
        "".join(
            json.dumps({"name": n, "header": header, "formal_statement": s}) + "\n"
            for n, s in DEFECTIVE_SET
        )
    )
    solvable = {"mathd_algebra_314", "mathd_algebra_158", "synthetic_ok"}
    facts = {
        "proofs": {
            signature(s): {"accepted": ["by norm_num"] if n in solvable else [], "error": "no"}
            for n, s in DEFECTIVE_SET
        }
    }
    (tmp / "tc" / "facts.json").write_text(json.dumps(facts, ensure_ascii=False))
    done = run_eval(tmp, bench, url, "--report", stages="cascade")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "solved 3/4 (75.0%), of which 2 defective statements" in out
    assert "solved, without the defective statements: 1/2 (50.0%)" in out
    assert "mathd_algebra_314 (solved): trivial over ℕ" in out
    assert "mathd_algebra_158 (solved): k escapes its binder, and the statement is vacuous" in out
    assert "mathd_algebra_342" not in out  # stated soundly here
    summary = json.loads((tmp / "results.summary.json").read_text())
    assert set(summary["defective"]) == {"mathd_algebra_314", "mathd_algebra_158"}
    assert sorted(summary["solved_defective"]) == ["mathd_algebra_158", "mathd_algebra_314"]
    report = (tmp / "results.html").read_text()
    assert "Solved 3/4 (75.0%), of which 2 defective statements" in report
    assert report.count('class="flag"') == 2
    assert "https://github.com/deepseek-ai/DeepSeek-Prover-V1.5/issues/26" in report


# ---- without matplotlib -----------------------------------------------------------------------


def test_without_matplotlib_eval_says_how_to_install_it_and_still_writes_the_results(
    setup,
) -> None:
    tmp, bench, problems, ep, url = setup
    blocker = tmp / "no-matplotlib" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError(\"No module named 'matplotlib'\")\n")
    cmd, env = eval_command(tmp, bench, url, "--report", "--limit", "6", stages="cascade")
    env["PYTHONPATH"] = os.pathsep.join([str(blocker.parent), env["PYTHONPATH"]])
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    install = [line for line in done.stderr.splitlines() if "pip install" in line]
    assert len(install) == 1, done.stderr
    assert "matplotlib" in install[0] and "'.[eval]'" in install[0]
    assert "solved 4/6 (66.7%)" in done.stdout
    assert len(rows_of(tmp / "results.jsonl")) == 6
    assert json.loads((tmp / "results.summary.json").read_text())["solved"] == 4
    assert not (tmp / "results.html").exists()
    assert "Traceback" not in done.stderr
