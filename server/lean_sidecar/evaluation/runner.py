"""Run the pipeline over problems, appending one JSON line per finished problem, so that a
killed run continues where it stopped. A run whose Lean went away (every verifier server
stopped answering) stops the same way: the problems it could not finish get no line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from lean_bridge.repl_pool import ReplUnavailable
from lean_sidecar.evaluation.problems import Problem
from lean_sidecar.evaluation.rows import ResultRow, TacticStats
from lean_sidecar.search.engine import HoleResult, SearchEngine
from lean_sidecar.search.fill_file import fill_file


def result_row(problem: Problem, result: HoleResult) -> ResultRow:
    first = result.found[0] if result.found else None
    return {
        "name": problem.name,
        "status": result.status,
        "how": first.how if first else None,
        "proof": first.script if first else None,
        "helpers": first.helpers if first and first.helpers else None,
        "samples": result.samples,
        "samples_at_first": first.samples if first else None,
        "time_to_first": round(first.seconds, 3) if first else None,
        "seconds": round(result.seconds, 3),
        "tokens": result.tokens,
        "gpu_seconds": round(result.gpu_seconds, 3),
        "lean_seconds": round(result.lean_seconds(), 3),
        "attempts": sum(1 for _ in result.walk()),
        "error": result.error,
        "tactics": cascade_stats(result),
        "refuted": result.refuted.statement if result.refuted else None,
    }


def cascade_stats(result: HoleResult) -> dict[str, TacticStats]:
    """Per tactic of the goal's own cascade (not sub-goals' or negations'): whether it closed
    the goal, and the seconds it took (a generator's include re-checking its suggestions)."""
    out: dict[str, TacticStats] = {}
    for a in result.attempts:
        if a.kind != "tactic" or a.candidate is None:
            continue
        row = out.setdefault(a.candidate, {"closed": 0, "seconds": 0.0, "outcome": a.outcome})
        row["closed"] = int(row["closed"] or a.outcome == "verified")
        row["seconds"] = round(row["seconds"] + a.seconds, 3)
        row["outcome"] = a.outcome
    return out


def error_row(problem: Problem, why: str) -> ResultRow:
    return {"name": problem.name, "status": "error", "samples": 0, "error": why}


async def solve_problem(problem: Problem, engine: SearchEngine) -> ResultRow:
    """The problem's row: its statement's sorry searched as ``fill`` searches it (goal from the
    REPL, the whole declaration re-checked when it has several holes)."""
    try:
        filled = await fill_file(problem.text(), engine, max_found=1)
    except ReplUnavailable as exc:
        return error_row(problem, str(exc))
    results = [h.result for h in filled.holes if h.result is not None]
    if not results:
        return error_row(problem, "no sorry/declaration in the statement")
    # one hole per statement in the benchmarks; with several, the first that did not hold
    return result_row(problem, next((r for r in results if r.status != "solved"), results[-1]))


async def run_problems(
    problems: list[Problem],
    engine: SearchEngine,
    out: Path,
    concurrency: int,
    on_done: Callable[[Problem, ResultRow], None],
    halted: Callable[[], str | None] = lambda: None,
) -> None:
    """``halted``: why nothing more can be checked (None while Lean is there). From then on no
    problem starts, and one that ends unsolved is not written: its search was cut, not done,
    so a rerun searches it again (one that was solved is written: its proof was checked)."""
    semaphore = asyncio.Semaphore(concurrency)
    lock = asyncio.Lock()

    async def one(problem: Problem) -> None:
        async with semaphore:
            if halted() is not None:
                return
            row = await solve_problem(problem, engine)
        if halted() is not None and row["status"] != "solved":
            return
        async with lock:
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            on_done(problem, row)

    await asyncio.gather(*(one(p) for p in problems))
