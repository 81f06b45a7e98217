"""``lean-sidecar eval``: solved %, pass@k by samples, latency, tokens, Lean and GPU seconds,
over miniF2F (from shared/data) or any JSONL of ``{name, header, formal_statement}``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from lean_sidecar.evaluation.problems import Problem, load
from lean_sidecar.evaluation.report import write_report
from lean_sidecar.evaluation.rows import ResultRow
from lean_sidecar.evaluation.runner import run_problems
from lean_sidecar.evaluation.summary import format_summary, read_results, repair_tail, summarize
from lean_sidecar.fill_cli import ProgressBar
from lean_sidecar.search.build import build_engine
from lean_sidecar.settings import Settings

STAGES = ("cascade", "samples", "fix", "decompose")


def add_eval_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
    settings_from: Callable[..., Settings],
    setup_logging: Callable[[str], None],
) -> None:
    p = sub.add_parser("eval", help="run the whole pipeline over a benchmark")
    p.add_argument(
        "benchmark", help="a JSONL file, or minif2f-test / minif2f-valid / proofnet-test"
    )
    p.add_argument("--split", help="only rows of this split")
    p.add_argument("--limit", type=int, help="the first N problems")
    p.add_argument(
        "--out", type=Path, default=Path("eval-results.jsonl"), help="results (appended; resumable)"
    )
    p.add_argument("--budget", type=int, default=32, help="model samples per problem")
    p.add_argument("--seconds", type=float, default=600.0, help="wall time per problem")
    p.add_argument("--concurrency", type=int, default=2, help="problems searched at once")
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma list of {', '.join(STAGES)}")
    p.add_argument("--project", type=Path, help="the Lake project (with Mathlib) the REPL runs in")
    p.add_argument(
        "--report",
        type=Path,
        nargs="?",
        const=Path("__default__"),
        help="write an HTML report (default: next to --out)",
    )
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    p.add_argument("--quiet", action="store_true")
    common(p)

    def run(args: argparse.Namespace) -> int:
        stages = {s.strip() for s in args.stages.split(",") if s.strip()}
        unknown = stages - set(STAGES)
        if unknown:
            print(f"error: unknown stage(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        base = settings_from(args)
        settings = base.merged(
            {
                "budget_samples": args.budget if "samples" in stages else 0,
                "budget_seconds": args.seconds,
                "tactics": base.tactics if "cascade" in stages else [],
                "fix_rounds": base.fix_rounds if "fix" in stages else 0,
                "decompose_depth": base.decompose_depth if "decompose" in stages else 0,
            },
            "eval options",
        )
        setup_logging(settings.log_level if args.log_level else "WARNING")
        return asyncio.run(evaluate(args, settings))

    p.set_defaults(func=run)


async def evaluate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        problems = load(args.benchmark, args.split, args.limit)
    except (FileNotFoundError, json.JSONDecodeError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    if args.fresh and out.exists():
        out.unlink()
    repair_tail(out)
    done = {r["name"] for r in read_results(out)}
    todo = [p for p in problems if p.name not in done]
    if done:
        print(
            f"resuming: {len(done)} problem(s) already in {out}, {len(todo)} to go", file=sys.stderr
        )
    built = await build_engine(
        settings,
        args.project,
        start_repl=bool(todo),
        use_cache=False,
        use_endpoint=settings.budget_samples > 0,
    )
    try:
        for notice in built.notices:
            print(f"warning: {notice}", file=sys.stderr)
        if built.setup_error is not None:
            print(f"error: {built.setup_error}", file=sys.stderr)
            return 2
        engine = built.engine
        bar = ProgressBar(len(todo), enabled=not args.quiet)
        solved = 0

        def on_done(problem: Problem, row: ResultRow) -> None:
            nonlocal solved
            bar.done += 1
            solved += row["status"] == "solved"
            bar.show(f"{problem.name}: {row['status']} ({solved} solved)")

        await run_problems(todo, engine, out, args.concurrency, on_done)
        bar.finish()
    finally:
        await built.close()
    names = {p.name for p in problems}
    rows = [r for r in read_results(out) if r["name"] in names]
    summary = summarize(rows, settings.budget_samples)
    print(format_summary(summary))
    summary_path = out.with_suffix(".summary.json")
    summary_path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if args.report is not None:
        report = out.with_suffix(".html") if str(args.report) == "__default__" else args.report
        write_report(report, summary, rows, f"lean-sidecar eval: {args.benchmark}")
        print(f"report: {report}")
    return 0
