"""Round-trip latency and throughput of hover/plainGoal requests, sent directly to the stand-in
Lean server and through the sidecar, in one run.

    python bench/proxy_overhead.py [--requests 10000] [--window 64] [--rounds 3]

Direct and proxied runs alternate for ``--rounds`` rounds (a shared machine's load drifts);
the medians are compared. Also printed: the sidecar's own CPU time per forwarded message
(user + system, from /proc), which load on other processes does not inflate.

Targets: p50 overhead < 0.2 ms, throughput through the sidecar >= 80 % of direct.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STANDIN = [
    sys.executable,
    str(ROOT / "tests" / "standins" / "lean_server.py"),
    "--delay-ms",
    "0",
    "--facts",
    str(ROOT / "tests" / "fixtures" / "project" / "holes_facts.json"),
]
SIDECAR = [
    sys.executable,
    "-m",
    "lean_sidecar",
    "serve",
    "--log-level",
    "WARNING",
    "--upstream",
    shlex.join(STANDIN),
]
DOC = ROOT / "tests" / "fixtures" / "project" / "Holes.lean"


class Peer:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.waiters: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.next_id = 0
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = await out.readline()
                if not line:
                    return
                if line == b"\r\n":
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            assert length is not None
            msg = json.loads(await out.readexactly(length))
            if "method" in msg and "id" in msg:  # a request to the editor: answer it
                self.write({"jsonrpc": "2.0", "id": msg["id"], "result": None})
            elif "method" not in msg and msg.get("id") in self.waiters:
                self.waiters.pop(msg["id"]).set_result(msg)

    def write(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def request(self, method: str, params: Any) -> asyncio.Future[dict[str, Any]]:
        self.next_id += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[self.next_id] = fut
        self.write({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return fut

    def notify(self, method: str, params: Any) -> None:
        self.write({"jsonrpc": "2.0", "method": method, "params": params})


async def start(cmd: list[str]) -> tuple[Peer, str]:
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    peer = Peer(proc)
    await peer.request(
        "initialize", {"processId": None, "rootUri": DOC.parent.as_uri(), "capabilities": {}}
    )
    peer.notify("initialized", {})
    uri = DOC.as_uri()
    peer.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": uri,
                "languageId": "lean4",
                "version": 1,
                "text": DOC.read_text(encoding="utf-8"),
            }
        },
    )
    await peer.request("textDocument/waitForDiagnostics", {"uri": uri, "version": 1})
    return peer, uri


def params_for(i: int, uri: str) -> tuple[str, dict[str, Any]]:
    method = "textDocument/hover" if i % 2 else "$/lean/plainGoal"
    return method, {"textDocument": {"uri": uri}, "position": {"line": 6, "character": 2 + (i % 3)}}


async def measure(cmd: list[str], n: int, window: int) -> dict[str, float]:
    peer, uri = await start(cmd)
    for i in range(200):  # warm up
        await peer.request(*params_for(i, uri))
    latencies = []
    cpu0 = _cpu_seconds(peer.proc.pid)
    for i in range(n):
        t0 = time.perf_counter()
        await peer.request(*params_for(i, uri))
        latencies.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    pending: set[asyncio.Future[dict[str, Any]]] = set()
    for i in range(n):
        pending.add(peer.request(*params_for(i, uri)))
        if len(pending) >= window:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.gather(*pending)
    rate = n / (time.perf_counter() - t0)
    cpu = _cpu_seconds(peer.proc.pid) - cpu0
    await peer.request("shutdown", None)
    peer.notify("exit", None)
    try:
        await asyncio.wait_for(peer.proc.wait(), 10)
    except asyncio.TimeoutError:
        peer.proc.kill()
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[int(0.99 * len(latencies)) - 1],
        "rate": rate,
        "cpu_us": cpu * 1e6 / (2 * n),  # per request answered (both directions)
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument(
        "--window", type=int, default=64, help="requests in flight for the throughput run"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating direct/proxied runs")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"direct": [], "sidecar": []}
    for _ in range(args.rounds):
        runs["direct"].append(await measure(STANDIN, args.requests, args.window))
        runs["sidecar"].append(await measure(SIDECAR, args.requests, args.window))
    med = {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()
    }
    print(
        f"{args.requests} hover/plainGoal requests each way (stand-in Lean server, loopback pipes), "
        f"medians of {args.rounds} alternating rounds"
    )
    print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'msgs/s':>9} {'CPU us/msg':>11}")
    for name, r in med.items():
        print(f"{name:10} {r['p50']:8.3f} {r['p99']:8.3f} {r['rate']:9.0f} {r['cpu_us']:11.1f}")
    overhead = med["sidecar"]["p50"] - med["direct"]["p50"]
    ratio = med["sidecar"]["rate"] / med["direct"]["rate"]
    ratios = [s["rate"] / d["rate"] for d, s in zip(runs["direct"], runs["sidecar"], strict=True)]
    print(
        f"p50 overhead: {overhead:.3f} ms (target < 0.2)   throughput ratio: {ratio:.1%} "
        f"(target >= 80%; per round: {', '.join(f'{r:.0%}' for r in ratios)})"
    )


if __name__ == "__main__":
    asyncio.run(main())
