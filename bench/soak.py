"""Soak: many documents, edits, searches and hovers through the sidecar, against the stand-ins
(Lean's server, Lean's REPL, the model endpoint). Memory must come back when documents close.

    python bench/soak.py [--scale 1.0] [--documents 20]

At scale 1: 20 documents, 10,000 edits (below the holes, so searches stay valid and their
proofs are re-offered per version), 1,000 proof searches, 10,000 hovers. Printed: the sidecar's
RSS at start, warm (after a first open/edit/search/close cycle has loaded everything), peak
(VmHWM) and end (all documents closed); latency percentiles of `leanSidecar/holes` and of a
pass-through hover during the edit burst. Target: end RSS within 10 % of warm.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proxy_overhead import Peer  # noqa: E402
from tests.search_helpers import REPL_FACTS, lean_answer  # noqa: E402
from tests.standins.openai_endpoint import StandInEndpoint  # noqa: E402
from tests.standins.toolchain import make_toolchain  # noqa: E402

PROJECT = ROOT / "tests" / "fixtures" / "project"
FILL = PROJECT / "Fill.lean"
STANDIN = [
    sys.executable,
    str(ROOT / "tests" / "standins" / "lean_server.py"),
    "--delay-ms",
    "0",
    "--facts",
    str(PROJECT / "holes_facts.json"),
]
STATEMENT = "theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by"


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Soak:
    def __init__(self, peer: Peer, documents: int) -> None:
        self.peer = peer
        self.uris = [(PROJECT / f"Soak{i}.lean").as_uri() for i in range(documents)]
        self.versions = {u: 1 for u in self.uris}
        self.lines = {u: len(FILL.read_text(encoding="utf-8").splitlines()) for u in self.uris}
        self.search_errors = 0
        self.searches_solved = 0
        self.statuses: dict[str, int] = {}

    async def open_all(self) -> None:
        text = FILL.read_text(encoding="utf-8")
        for uri in self.uris:
            self.versions[uri] = 1
            self.lines[uri] = len(text.splitlines())
            self.peer.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": "lean4", "version": 1, "text": text}},
            )
        for uri in self.uris:
            await self.holes(uri)

    def close_all(self) -> None:
        for uri in self.uris:
            self.peer.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def edit(self, uri: str, n: int) -> None:
        """Append a comment line at the end: below every hole."""
        self.versions[uri] += 1
        line = self.lines[uri]
        self.lines[uri] += 1
        at = {"line": line, "character": 0}
        self.peer.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": self.versions[uri]},
                "contentChanges": [{"range": {"start": at, "end": at}, "text": f"\n-- edit {n}"}],
            },
        )

    async def holes(self, uri: str) -> dict[str, Any]:
        answer = await asyncio.wait_for(
            self.peer.request("leanSidecar/holes", {"textDocument": {"uri": uri}}), 120
        )
        return answer.get("result") or {}

    async def hover(self, uri: str) -> None:
        params = {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 9}}
        await asyncio.wait_for(self.peer.request("textDocument/hover", params), 120)

    async def search(self, uri: str) -> None:
        snap = await self.holes(uri)
        holes = [h for h in snap.get("holes", []) if h.get("kind") == "sorry"]
        if not holes:
            self.search_errors += 1
            return
        hole = holes[0]
        args = {"uri": uri, "version": snap["version"], "position": hole["range"]["start"]}
        answer = await asyncio.wait_for(
            self.peer.request(
                "workspace/executeCommand",
                {"command": "leanSidecar.searchProof", "arguments": [args]},
            ),
            300,
        )
        result = answer.get("result") or {}
        status = str(result.get("status") or (answer.get("error") or {}).get("message"))
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if "error" in answer:
            self.search_errors += 1
        elif result.get("found"):
            self.searches_solved += 1

    async def cycle(
        self, edits: int, searches: int, hovers: int, latencies: dict[str, list[float]]
    ) -> None:
        await self.open_all()
        every_search = max(1, edits // max(1, searches))
        every_hover = max(1, edits // max(1, hovers))
        pending: set[asyncio.Future[Any]] = set()
        for n in range(edits):
            uri = self.uris[n % len(self.uris)]
            self.edit(uri, n)
            if n % every_hover == 0:
                t0 = time.perf_counter()
                await self.hover(uri)
                latencies["hover"].append((time.perf_counter() - t0) * 1000)
            if n % every_search == 0:
                pending.add(asyncio.ensure_future(self.search(uri)))
            if n % 20 == 0:
                t0 = time.perf_counter()
                await self.holes(uri)
                latencies["holes"].append((time.perf_counter() - t0) * 1000)
            if len(pending) > 8:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            await asyncio.gather(*pending)
        self.close_all()
        await self.peer.request(
            "textDocument/hover",
            {"textDocument": {"uri": self.uris[0]}, "position": {"line": 0, "character": 0}},
        )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full workload")
    parser.add_argument("--documents", type=int, default=20)
    args = parser.parse_args()
    edits = max(20, int(10_000 * args.scale))
    searches = max(2, int(1_000 * args.scale))
    hovers = max(20, int(10_000 * args.scale))
    tmp = Path(tempfile.mkdtemp(prefix="lean-sidecar-soak-"))
    lake, repl = make_toolchain(tmp / "tc", REPL_FACTS)
    endpoint = StandInEndpoint(
        script=[
            {
                "match": "div_self'",
                "responses": [{"texts": [lean_answer(STATEMENT, "  field_simp")]}],
            }
        ]
    )
    url = await endpoint.start()
    options = {
        "replPath": str(repl),
        "lakePath": str(lake),
        "cachePath": str(tmp / "cache.sqlite"),
        "tactics": ["rfl", "omega", "simp"],
        "budgetSamples": 2,
        "samplesPerRequest": 1,
        "endpoints": [url],
    }
    sidecar = [sys.executable, "-m", "lean_sidecar", "serve", "--log-level", "WARNING",
               "--upstream", shlex.join(STANDIN)]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *sidecar,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    peer = Peer(proc)
    await peer.request(
        "initialize",
        {
            "processId": None,
            "rootUri": PROJECT.as_uri(),
            "capabilities": {"window": {"workDoneProgress": True}},
            "initializationOptions": {"leanSidecar": options},
        },
    )
    peer.notify("initialized", {})
    start = rss_kb(proc.pid)
    soak = Soak(peer, args.documents)
    warmup: dict[str, list[float]] = {"hover": [], "holes": []}
    await soak.cycle(max(20, edits // 20), max(2, searches // 20), max(20, hovers // 20), warmup)
    warm = rss_kb(proc.pid)
    latencies: dict[str, list[float]] = {"hover": [], "holes": []}
    t0 = time.perf_counter()
    await soak.cycle(edits, searches, hovers, latencies)
    seconds = time.perf_counter() - t0
    end = rss_kb(proc.pid)
    peak = rss_kb(proc.pid, "VmHWM")
    await peer.request("shutdown", None)
    peer.notify("exit", None)
    await asyncio.wait_for(proc.wait(), 30)
    await endpoint.stop()
    print(
        f"{args.documents} documents, {edits} edits, {searches} searches, {hovers} hovers "
        f"in {seconds:.1f} s ({soak.searches_solved} searches solved, "
        f"{soak.search_errors} refused as stale; outcomes {soak.statuses})"
    )
    print(f"RSS MB: start {start / 1024:.1f}  warm {warm / 1024:.1f}  peak {peak / 1024:.1f}  "
          f"end {end / 1024:.1f}  (end/warm {end / warm:.1%}; target <= 110%)")  # fmt: skip
    print(f"{'latency ms':24} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}")
    for name, label in (("holes", "leanSidecar/holes"), ("hover", "hover (pass-through)")):
        v = latencies[name]
        print(f"{label:24} {statistics.median(v):7.2f} {pct(v, 0.9):7.2f} "
              f"{pct(v, 0.99):7.2f} {max(v):7.2f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
