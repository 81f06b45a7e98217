"""``lean-sidecar eval``: solved %, pass@k by samples, latency, tokens, Lean and GPU seconds,
over miniF2F or ProofNet (from a data folder), any JSONL of ``{name, header, formal_statement}``
or a folder of ``.lean`` files. Every file it writes is checked to be writable before anything
is searched; results are appended one line per finished problem, so a killed run resumes."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from lean_sidecar.evaluation.defects import defects_in
from lean_sidecar.evaluation.problems import NAMED, Problem, load
from lean_sidecar.evaluation.rows import ResultRow, RunInfo
from lean_sidecar.evaluation.run_info import now, run_info
from lean_sidecar.evaluation.runner import run_problems
from lean_sidecar.evaluation.summary import format_summary, read_results, repair_tail, summarize
from lean_sidecar.fill_cli import ProgressBar
from lean_sidecar.prover.endpoint_errors import EndpointError
from lean_sidecar.search.build import build_engine
from lean_sidecar.search.protocols import ModelEndpoint
from lean_sidecar.settings import Settings

STAGES = ("cascade", "samples", "fix", "decompose")
EXIT_LOST = 3  # Lean went away mid-run (every verifier server): what is done is kept


def add_eval_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
    settings_from: Callable[..., Settings],
    setup_logging: Callable[[str], None],
) -> None:
    p = sub.add_parser("eval", help="run the whole pipeline over a benchmark")
    p.add_argument(
        "benchmark",
        help="a JSONL file, a folder of .lean files, or one of " + " / ".join(NAMED),
    )
    p.add_argument(
        "--data",
        type=Path,
        help="the folder with the named benchmarks' data (see docs/benchmarks.md)",
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
        return asyncio.run(evaluate(args, settings, [s for s in STAGES if s in stages]))

    p.set_defaults(func=run)


MATPLOTLIB = "matplotlib>=3.8,<4"  # as pyproject.toml's `eval` extra has it
CHARTS_MISSING = (
    f"the HTML report needs matplotlib, which is not installed: {sys.executable} -m pip install "
    f"'{MATPLOTLIB}' (or pip install '.[eval]' in the lean-sidecar checkout)"
)


def charts_missing() -> bool:
    """Whether the report cannot be drawn (matplotlib is an extra: ``lean-sidecar[eval]``)."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return True
    return False


def prepare_outputs(out: Path, others: list[Path]) -> str | None:
    """Make the folders of every file the run will write, and open the results file for
    appending, before anything is searched; the reason when that cannot be done."""
    for path in [out, *others]:
        if path.is_dir():
            return f"cannot write {path}: it is a folder"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create the folder {path.parent} for {path}: {exc.strerror or exc}"
    try:
        with out.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"cannot write the results to {out}: {exc.strerror or exc}"
    for path in others:
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return f"cannot write {path}: permission denied"
    return None


def earlier_runs(summary_path: Path) -> list[RunInfo]:
    """The runs recorded in an earlier summary of the same results file (oldest first)."""
    try:
        old = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict) or not isinstance(old.get("run"), dict):
        return []
    return [*old.get("earlier_runs", []), old["run"]]


_COMPARED = (
    *("model", "endpoints", "model_family", "stages", "budget_samples", "budget_seconds"),
    *("tactics", "toolchain", "sidecar_commit"),
)


def differences(earlier: list[RunInfo], now: RunInfo) -> list[str]:
    """What the earlier runs of a resumed results file did differently from this one."""
    out = []
    for key in _COMPARED:
        seen = {json.dumps(r.get(key)) for r in earlier} - {json.dumps(now.get(key))}
        if seen:
            out.append(f"{key} {', '.join(sorted(seen))} (now {json.dumps(now.get(key))})")
    return out


async def served_model(endpoint: ModelEndpoint) -> str | None:
    """The model the first reachable endpoint serves (what requests without a model get)."""
    for url in endpoint.urls:
        try:
            models = await asyncio.wait_for(endpoint.check(url), 15)
        except (EndpointError, asyncio.TimeoutError):
            continue
        if models:
            return models[0]
    return None


async def evaluate(args: argparse.Namespace, settings: Settings, stages: list[str]) -> int:
    try:
        problems = load(args.benchmark, args.split, args.limit, args.data)
    except (FileNotFoundError, json.JSONDecodeError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    summary_path = out.with_suffix(".summary.json")
    report: Path | None = None
    if args.report is not None:
        report = out.with_suffix(".html") if str(args.report) == "__default__" else args.report
    if args.fresh and out.exists():
        out.unlink()
    why = prepare_outputs(out, [summary_path] + ([report] if report is not None else []))
    if why is not None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    no_charts = report is not None and charts_missing()
    if no_charts:
        print(
            f"warning: {CHARTS_MISSING}; the results and the summary are still written",
            file=sys.stderr,
        )
    repair_tail(out)
    done = {r["name"] for r in read_results(out)}
    todo = [p for p in problems if p.name not in done]
    resumed = sum(1 for p in problems if p.name in done)
    if done:
        print(
            f"resuming: {len(done)} problem(s) already in {out}, {len(todo)} to go", file=sys.stderr
        )
    info = run_info(
        settings,
        benchmark=args.benchmark,
        split=args.split,
        limit=args.limit,
        stages=stages,
        concurrency=args.concurrency,
        project=args.project,
        resumed=resumed,
    )
    earlier = [] if args.fresh or not resumed else earlier_runs(summary_path)
    if not todo and earlier:
        # nothing left to search: this invocation only summarizes, the last run is the run
        info, earlier = earlier[-1], earlier[:-1]
    changed = differences(earlier, info)
    if changed:
        print(
            "warning: resuming rows that an earlier run made with other settings: "
            + "; ".join(changed),
            file=sys.stderr,
        )
    built = await build_engine(
        settings,
        args.project,
        start_repl=bool(todo),
        use_cache=False,
        use_endpoint=settings.budget_samples > 0,
        batch=True,
    )
    try:
        for notice in built.notices:
            print(f"warning: {notice}", file=sys.stderr)
        if built.setup_error is not None:
            print(f"error: {built.setup_error}", file=sys.stderr)
            return 2
        engine = built.engine
        if todo and settings.model is None and engine.endpoint is not None:
            info["served_model"] = await served_model(engine.endpoint)
        bar = ProgressBar(len(todo), enabled=not args.quiet)
        solved = 0

        def on_done(problem: Problem, row: ResultRow) -> None:
            nonlocal solved
            bar.done += 1
            solved += row["status"] == "solved"
            bar.show(f"{problem.name}: {row['status']} ({solved} solved)")

        await run_problems(todo, engine, out, args.concurrency, on_done, built.verifier_lost)
        bar.finish()
    finally:
        await built.close()
    lost = built.verifier_lost()
    if lost is not None:
        kept = len(read_results(out))
        print(
            f"error: eval stopped: {lost}. The {kept} finished problem(s) are in {out}; run the "
            "same command again to resume",
            file=sys.stderr,
        )
        return EXIT_LOST
    if todo or info["finished"] is None:
        info["finished"] = now()
    names = {p.name for p in problems}
    rows = [r for r in read_results(out) if r["name"] in names]
    summary = summarize(rows, settings.budget_samples, defects_in(problems))
    print(format_summary(summary))
    recorded = {**summary, "run": info, "earlier_runs": earlier}
    summary_path.write_text(json.dumps(recorded, indent=1, ensure_ascii=False), encoding="utf-8")
    if report is not None:
        if no_charts:
            print("report: not written (no matplotlib, see above)", file=sys.stderr)
        else:
            from lean_sidecar.evaluation.report import write_report

            notes = (
                ["Resumed rows come from earlier runs with other settings: " + "; ".join(changed)]
                if changed
                else []
            )
            write_report(report, summary, rows, f"lean-sidecar eval: {args.benchmark}", info, notes)
            print(f"report: {report}")
    return 0
