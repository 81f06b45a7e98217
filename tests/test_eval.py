"""`lean-sidecar eval` on a 20-problem miniF2F slice (from shared/data when present), with the
stand-in endpoint and REPL scripted per problem: the summary must match the script, a run that
was cut short resumes, and the report is written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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


def run_eval(
    tmp: Path,
    bench: Path,
    url: str,
    *extra: str,
    stages: str = "cascade,samples,fix",
    tactics: str = "norm_num",
) -> subprocess.CompletedProcess[str]:
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
        str(tmp / "results.jsonl"),
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
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "LEAN_SIDECAR_TACTICS": tactics,
        "LEAN_SIDECAR_SAMPLES_PER_REQUEST": "2",
        "LEAN_SIDECAR_ENDPOINT_CONCURRENCY": "1",
    }
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
