"""Run the pipeline over problems, appending one JSON line per finished problem, so that a
killed run continues where it stopped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lean_bridge.hole_fill import hole_mode
from lean_bridge.holes import TextModel
from lean_bridge.sorry_scan import scan_sorries
from lean_bridge.verifier import HoleSite
from lean_sidecar.evaluation.problems import Problem
from lean_sidecar.prover.task import build_task
from lean_sidecar.search.engine import HoleResult, SearchEngine


def result_row(problem: Problem, result: HoleResult) -> dict[str, Any]:
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


def cascade_stats(result: HoleResult) -> dict[str, dict[str, Any]]:
    """Per tactic of the goal's own cascade (not sub-goals' or negations'): whether it closed
    the goal, and the seconds it took (a generator's include re-checking its suggestions)."""
    out: dict[str, dict[str, Any]] = {}
    for a in result.attempts:
        if a.kind != "tactic" or a.candidate is None:
            continue
        row = out.setdefault(a.candidate, {"closed": 0, "seconds": 0.0, "outcome": a.outcome})
        row["closed"] = int(row["closed"] or a.outcome == "verified")
        row["seconds"] = round(row["seconds"] + a.seconds, 3)
        row["outcome"] = a.outcome
    return out


def site_of(problem: Problem) -> HoleSite | None:
    text = problem.text()
    model = TextModel(text)
    tokens = scan_sorries(text, model.masked, model.index)
    if not tokens:
        return None
    tok = tokens[-1]
    decl = model.declaration_at(tok.start)
    if decl is None:
        return None
    return HoleSite(text, decl, tok.start, tok.end, hole_mode(model.masked, tok.start))


async def run_problems(
    problems: list[Problem],
    engine: SearchEngine,
    out: Path,
    concurrency: int,
    on_done: Callable[[Problem, dict[str, Any]], None],
) -> None:
    semaphore = asyncio.Semaphore(concurrency)
    lock = asyncio.Lock()

    async def one(problem: Problem) -> None:
        async with semaphore:
            site = site_of(problem)
            if site is None:
                row: dict[str, Any] = {
                    "name": problem.name,
                    "status": "error",
                    "samples": 0,
                    "error": "no sorry/declaration in the statement",
                }
            else:
                task = build_task(TextModel(site.text), site.decl, site.start, site.end, None)
                result = await engine.search(site, None, task, max_found=1)
                row = result_row(problem, result)
        async with lock:
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            on_done(problem, row)

    await asyncio.gather(*(one(p) for p in problems))
