"""`eval` throughput, in Lean checks a second, with the local REPL pool against 1, 2 and 4
Kimina Lean Servers (the stand-in built from Kimina's source, tests/standins/kimina_server.py),
every Lean check taking a fixed time on a REPL; and the sidecar's own CPU time per check, the
cost that bounds how far adding servers helps.

    python bench/verifier_scaling.py [--problems 96] [--latency 0.25] [--repls 4]
                                     [--servers 1,2,4] [--concurrency 16] [--ceiling]

Each problem is a miniF2F-shaped file (`import Mathlib`, one theorem with a sorry) searched by the
eval runner with the cascade only (`rfl, decide, norm_num, simp`, none of which closes it), so
each costs 1 + 4 Lean checks (its goal, then each tactic), all in flight together up to the
cascade's concurrency (`replPoolSize`, here `--repls`). The local pool has `--repls` REPLs (the
stand-in REPL in the bubblewrap sandbox, as `eval` runs it); each stand-in server `--repls`
REPLs (Kimina's LEAN_SERVER_MAX_REPLS) and `verifierConcurrency` = `--repls`. The stand-in REPL
sleeps `--latency` s per command, so a backend of N REPLs can do at most N / latency checks a
second: that is the "capacity" column, and "efficiency" is what eval got of it.

The sidecar's cost is the eval process's CPU seconds (time.process_time: all its threads; the
REPLs and servers are other processes) over the checks: the gate, the snippet, HTTP, reading
JSON and the info tree, the parse of record, the audit, the search around them. One event loop
does that work, so 1 / cost is the most checks a second one eval process can drive, whatever
the number of servers. `--ceiling` adds a run on 4 servers with no latency, which measures that
limit directly (on this machine the stand-ins compete for the same cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lean_bridge.remote_pool import RemotePool  # noqa: E402
from lean_bridge.repl_pool import ReplPool  # noqa: E402
from lean_sidecar.evaluation.problems import Problem  # noqa: E402
from lean_sidecar.evaluation.runner import run_problems  # noqa: E402
from lean_sidecar.search.build import build_engine  # noqa: E402
from lean_sidecar.settings import Settings  # noqa: E402
from tests.kimina_helpers import KiminaProc, start_servers, with_probe  # noqa: E402
from tests.standins.toolchain import make_toolchain  # noqa: E402

TACTICS = ["rfl", "decide", "norm_num", "simp"]


def problems(n: int) -> list[Problem]:
    return [
        Problem(
            f"bench_{i}",
            "import Mathlib\n\n",
            f"theorem bench_{i} (x : ℕ) (h : {i} < x) : {i} + 1 ≤ x := by\n",
        )
        for i in range(n)
    ]


def counted(pool: ReplPool) -> list[int]:
    """Count the local pool's checks (a remote pool counts its own)."""
    n = [0]
    command, commands = pool.command, pool.commands

    async def one(*a: Any, **kw: Any) -> Any:
        n[0] += 1
        return await command(*a, **kw)

    async def many(*a: Any, **kw: Any) -> Any:
        n[0] += 1
        return await commands(*a, **kw)

    pool.command = one  # type: ignore[method-assign]
    pool.commands = many  # type: ignore[method-assign]
    return n


async def run(
    label: str, settings: Settings, project: Path, todo: list[Problem], out: Path, concurrency: int
) -> dict[str, Any]:
    built = await build_engine(settings, project, use_cache=False, use_endpoint=False, batch=True)
    if built.setup_error:
        raise SystemExit(f"{label}: {built.setup_error}")
    pool = built.pool
    local = counted(pool) if isinstance(pool, ReplPool) else None
    statuses: list[str] = []
    cpu, t0 = time.process_time(), time.perf_counter()
    try:
        await run_problems(
            todo,
            built.engine,
            out,
            concurrency,
            lambda _p, row: statuses.append(row["status"]),
            built.verifier_lost,
        )
    finally:
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu
        await built.close()
    checks = (
        local[0] if local is not None else pool.checks_sent if isinstance(pool, RemotePool) else 0
    )
    assert statuses.count("unsolved") == len(todo), statuses  # every problem searched, none lost
    return {"label": label, "checks": checks, "wall": wall, "cpu": cpu}


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--problems", type=int, default=96)
    p.add_argument("--latency", type=float, default=0.25, help="seconds per Lean check")
    p.add_argument("--repls", type=int, default=4, help="REPLs of the local pool and per server")
    p.add_argument("--servers", default="1,2,4")
    p.add_argument("--concurrency", type=int, default=16, help="problems searched at once")
    p.add_argument("--ceiling", action="store_true", help="also 4 servers with no latency")
    args = p.parse_args()
    counts = [int(x) for x in args.servers.split(",") if x.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="verifier-scaling-"))
    todo = problems(args.problems)
    base = {
        "tactics": TACTICS,
        "budget_samples": 0,
        "fix_rounds": 0,
        "decompose_depth": 0,
        "budget_seconds": 600.0,
        "repl_pool_size": args.repls,
        "repl_timeout": 60.0,
        "log_level": "WARNING",
    }
    rows = []

    # the local pool: the stand-in REPL, sandboxed, `--repls` of them
    facts = tmp / "tc" / "facts.json"
    facts.parent.mkdir(parents=True)
    facts.write_text(json.dumps(with_probe({"latency": args.latency})))
    lake, repl = make_toolchain(tmp / "tc", facts)
    project = tmp / "proj"
    project.mkdir()
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    local = Settings.model_validate({**base, "repl_path": str(repl), "lake_path": str(lake)})
    row = await run("local pool", local, project, todo, tmp / "local.jsonl", args.concurrency)
    rows.append({**row, "repls": args.repls, "capacity": args.repls / args.latency})

    runs = [(n, args.latency) for n in counts] + ([(4, 0.0)] if args.ceiling else [])
    for n, latency in runs:
        sub = tmp / f"s{n}-{latency}"
        sub.mkdir()
        servers: list[KiminaProc] = []
        try:
            servers, proj = start_servers(sub, {"latency": latency}, n, max_repls=args.repls)
            remote = Settings.model_validate(
                {
                    **base,
                    "verifier_servers": [s.url for s in servers],
                    "verifier_concurrency": args.repls,
                }
            )
            label = f"{n} server{'s' if n > 1 else ''}" + (" (no latency)" if not latency else "")
            row = await run(label, remote, proj, todo, sub / "out.jsonl", args.concurrency)
        finally:
            for s in servers:
                s.kill()
        capacity = n * args.repls / latency if latency else float("inf")
        rows.append({**row, "repls": n * args.repls, "capacity": capacity})

    print(
        f"{args.problems} problems x {1 + len(TACTICS)} checks, {args.latency:g} s per check, "
        f"{args.repls} REPLs per backend, eval --concurrency {args.concurrency}"
    )
    print(
        f"{'backend':<24}{'REPLs':>6}{'checks':>8}{'wall s':>9}{'checks/s':>10}"
        f"{'capacity':>10}{'efficiency':>12}{'CPU ms/check':>14}"
    )
    for r in rows:
        rate = r["checks"] / r["wall"]
        cap = r["capacity"]
        eff = f"{100 * rate / cap:.0f}%" if cap != float("inf") else "-"
        print(
            f"{r['label']:<24}{r['repls']:>6}{r['checks']:>8}{r['wall']:>9.2f}{rate:>10.1f}"
            f"{(f'{cap:.0f}' if cap != float('inf') else '-'):>10}{eff:>12}"
            f"{1000 * r['cpu'] / r['checks']:>14.2f}"
        )
    shutil.rmtree(tmp, ignore_errors=True)
    remote_rows = [r for r in rows if r["label"] != "local pool"]
    mean = sum(r["cpu"] for r in remote_rows) / sum(r["checks"] for r in remote_rows)
    saturated = [r for r in remote_rows if r["capacity"] == float("inf")]
    cost = saturated[0]["cpu"] / saturated[0]["checks"] if saturated else mean
    print(
        f"sidecar's own cost per remote check: {1000 * cost:.2f} ms CPU"
        + (f" at saturation ({1000 * mean:.2f} ms over all remote runs)" if saturated else "")
        + f" -> at most ~{1 / cost:.0f} checks/s from one eval process, whatever the number of "
        "servers"
    )


if __name__ == "__main__":
    asyncio.run(main())
