"""Time to the first verified proof per hole, and REPL work per hole, with an endpoint that
answers in a realistic time: the sequential pipeline (one sample per request, one REPL) against
the real concurrent one (n samples per request, requests in flight, a REPL pool), in one run.

    python bench/fill_latency.py [--holes 4] [--latency 2.0] [--samples 8] [--repl-latency 0.2]

Each hole's 8 samples hold one correct proof (the 6th); the rest fail in Lean. The symbolic
cascade runs first in both pipelines and fails. Also printed: how many times each hole's file
prefix was elaborated (target: once per document version, whatever the number of candidates).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lean_bridge.repl_pool import ReplPool, ReplSettings  # noqa: E402
from lean_bridge.verifier import Verifier  # noqa: E402
from lean_sidecar.prover.endpoint import EndpointClient  # noqa: E402
from lean_sidecar.search.engine import SearchEngine  # noqa: E402
from lean_sidecar.settings import Settings  # noqa: E402
from tests.search_helpers import lean_answer, site_and_task  # noqa: E402
from tests.standins.openai_endpoint import StandInEndpoint  # noqa: E402
from tests.standins.toolchain import make_toolchain  # noqa: E402


def workload(
    holes: int, samples: int, repl_latency: float
) -> tuple[str, dict, dict[int, list[str]]]:
    text = "import Mathlib\n\n"
    proofs: dict = {}
    answers: dict[int, list[str]] = {}
    for k in range(holes):
        statement = f"theorem bench_{k} (x : Nat) (h : {k} < x) : {k} + 1 ≤ x := by"
        text += f"{statement}\n  sorry\n\n"
        proofs[f"(x : Nat) (h : {k} < x) : {k} + 1 ≤ x"] = {
            "goal": f"x : Nat\nh : {k} < x\n⊢ {k} + 1 ≤ x",
            "accepted": [f"by exact bench_lemma_{k} h"],
            "error": "linarith failed to find a contradiction",
        }
        wrong = [
            lean_answer(statement, f"  nlinarith [sq_nonneg (x - {i})]") for i in range(samples)
        ]
        wrong[5] = lean_answer(statement, f"  exact bench_lemma_{k} h")
        answers[k] = wrong
    return text, {"proofs": proofs, "latency": repl_latency}, answers


async def run(mode: str, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    text, facts, answers = workload(args.holes, args.samples, args.repl_latency)
    facts_path = tmp / f"facts-{mode}.json"
    facts_path.write_text(json.dumps(facts))
    lake, repl = make_toolchain(tmp / f"tc-{mode}", facts_path)
    project = tmp / "proj"
    project.mkdir(exist_ok=True)
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    sequential = mode == "sequential"
    script = []
    for k in range(args.holes):
        if sequential:
            responses = [{"texts": [a], "delay": args.latency} for a in answers[k]]
        else:
            responses = [{"texts": answers[k], "delay": args.latency}]
        target = f"bench_{k} (x : Nat) (h : {k} < x) : {k} + 1 ≤ x := by\n```"  # not the context
        script.append({"match": target, "responses": responses})
    ep = StandInEndpoint(script=script)
    url = await ep.start()
    settings = Settings(
        endpoints=[url],
        tactics=["rfl", "omega", "simp"],
        budget_samples=args.samples,
        samples_per_request=1 if sequential else args.samples,
        endpoint_concurrency=1 if sequential else 4,
        repl_pool_size=1 if sequential else 3,
        cache_path=tmp / f"cache-{mode}.sqlite",
        budget_seconds=600,
        fix_rounds=0,  # this measures whole-proof sampling ; see search_budget.py
        decompose_depth=0,
    )
    pool = ReplPool(
        ReplSettings(
            project_dir=project,
            repl_path=repl,
            lake_path=str(lake),
            pool_size=settings.repl_pool_size,
            timeout=60,
            sandbox_writable=(tmp,),  # the stand-in's facts live here (the sandbox hides /tmp)
        )
    )
    await pool.start()
    engine = SearchEngine(settings, Verifier(pool), EndpointClient([url]), None)
    firsts, repl_calls, prefixes = [], [], []
    for k in range(args.holes):
        before_cmds, before_prefix = pool.commands_run, pool.prefix_elaborations
        site, task = site_and_task(text, k, f"x : Nat\nh : {k} < x\n⊢ {k} + 1 ≤ x")
        result = await engine.search(site, task.goal if task else None, task, max_found=1)
        assert result.found, f"{mode}: hole {k} unsolved: {result.attempts[-3:]}"
        firsts.append(result.found[0].seconds)
        repl_calls.append(pool.commands_run - before_cmds)
        prefixes.append(pool.prefix_elaborations - before_prefix)
    requests = len(ep.generation_requests())
    await engine.endpoint.close()  # type: ignore[union-attr]
    await pool.close()
    await ep.stop()
    return {
        "first_p50": statistics.median(firsts),
        "first_max": max(firsts),
        "repl_calls": statistics.mean(repl_calls),
        "prefix": statistics.mean(prefixes),
        "prefix_max": max(prefixes),
        "requests": requests / args.holes,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--holes", type=int, default=4)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per endpoint request")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--repl-latency", type=float, default=0.2, help="seconds per REPL command")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lean-sidecar-bench-"))
    rows = {mode: await run(mode, args, tmp) for mode in ("sequential", "concurrent")}
    print(
        f"{args.holes} holes; endpoint {args.latency:g} s/request; {args.samples} samples per hole, "
        f"the 6th correct; REPL {args.repl_latency:g} s/command"
    )
    print(
        f"{'pipeline':12} {'first p50 s':>11} {'first max s':>11} {'requests':>9} {'REPL calls':>10} "
        f"{'prefix elab':>11}"
    )
    for mode, r in rows.items():
        print(
            f"{mode:12} {r['first_p50']:11.2f} {r['first_max']:11.2f} {r['requests']:9.1f} "
            f"{r['repl_calls']:10.1f} {r['prefix']:11.2f}"
        )
    speedup = rows["sequential"]["first_p50"] / rows["concurrent"]["first_p50"]
    print(
        f"time to first verified proof: {speedup:.1f}x faster with the concurrent pipeline; "
        f"prefix elaborated at most {max(r['prefix_max'] for r in rows.values()):g} time(s) per hole"
    )


if __name__ == "__main__":
    asyncio.run(main())
