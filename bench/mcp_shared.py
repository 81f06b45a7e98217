"""The first answer an agent gets about a file the editor already has open: from the editor's
sidecar shared over MCP (``mcpShare``), against a cold ``lean-sidecar mcp`` of its own, in one
run.

    python bench/mcp_shared.py [--rounds 3] [--repl-latency 0.5] [--pool 2]

cold: the agent starts ``lean-sidecar mcp`` (stdio, the SDK's own client) and asks: the process
starts, the REPL pool starts, and the REPL elaborates the file, one command per declaration
(each taking ``--repl-latency`` s here, a stand-in for elaboration; on real Lean the first
command also imports Mathlib, which takes far longer). shared: the editor's sidecar (``serve``
with ``mcpShare``) has the file open and Lean's server has finished it; the agent connects over
HTTP with the token and asks. Printed with each: how many REPLs were running when the answer
came (the second Lean start the sharing avoids). The second row is the first ``verify`` of a
proof, where the editor's REPL pool is warm (the editor searched a hole before) against the
cold agent's own.

Both sides run against the tests' stand-ins (Lean's server, the REPL), so what this measures is
the work avoided, not Lean's speed.
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
sys.path.insert(0, str(ROOT / "server"))

import httpx2  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from bench.proxy_overhead import Peer  # noqa: E402
from tests.agents_helpers import (  # noqa: E402
    facts,
    free_port,
    make_project,
    make_repl,
    repl_processes,
    sidecar_env,
)
from tests.conftest import PROJECT, standin_lean_command  # noqa: E402

FILE = "FillCli.lean"  # four declarations, five sorries; both stand-ins know them
EASY = {"line": 3, "character": 2}


async def cold(project: Path, env: dict[str, str], repl: Path, tool: str) -> tuple[float, int]:
    """Seconds from starting ``lean-sidecar mcp`` to its first answer; REPLs then running."""
    t0 = time.perf_counter()
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "lean_sidecar", "mcp"], env=env, cwd=str(project)
    )
    async with Client(server) as mcp:
        out = await mcp.call_tool(tool, arguments(tool))
        seconds = time.perf_counter() - t0
        assert not out.is_error, out.content
        running = repl_processes(repl)
    return seconds, running


def arguments(tool: str) -> dict[str, Any]:
    if tool == "holes":
        return {"path": FILE}
    return {"path": FILE, "hole": EASY, "proof": "omega"}


class Editor:
    """``lean-sidecar serve`` with mcpShare, as an editor drives it (stdio LSP)."""

    def __init__(self, peer: Peer, uri: str, url: str, token: str) -> None:
        self.peer, self.uri, self.url, self.token = peer, uri, url, token

    @classmethod
    async def open(cls, project: Path, env: dict[str, str]) -> Editor:
        upstream = shlex.join(standin_lean_command(PROJECT / "holes_facts.json", delay_ms=0))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lean_sidecar", "serve", "--upstream", upstream,
            cwd=project, env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        peer = Peer(proc)
        await peer.request(
            "initialize", {"processId": None, "rootUri": project.as_uri(), "capabilities": {}}
        )
        peer.notify("initialized", {})
        doc = project / FILE
        uri = doc.as_uri()
        item = {"uri": uri, "languageId": "lean4", "version": 1, "text": doc.read_text()}
        peer.notify("textDocument/didOpen", {"textDocument": item})
        await asyncio.wait_for(
            peer.request("leanSidecar/holes", {"textDocument": {"uri": uri}}), 60
        )  # the editor has it open, and Lean's server finished it
        port = env["LEAN_SIDECAR_MCP_PORT"]
        token_file = Path(env["LEAN_SIDECAR_MCP_TOKEN_FILE"])
        for _ in range(400):  # the share starts at `initialized`
            if token_file.exists():
                break
            await asyncio.sleep(0.025)
        return cls(peer, uri, f"http://127.0.0.1:{port}/mcp", token_file.read_text().strip())

    async def search(self) -> None:
        """The editor searches a hole: its engine (the REPL pool) is warm afterwards."""
        args = {"uri": self.uri, "version": 1, "position": EASY}
        answer = await self.peer.request(
            "workspace/executeCommand",
            {"command": "leanSidecar.searchProof", "arguments": [args]},
        )
        assert answer.get("result", {}).get("status") == "solved", answer

    async def ask(self, tool: str, repl: Path) -> tuple[float, int, str]:
        """Seconds from the agent connecting to its first answer; REPLs running; source."""
        t0 = time.perf_counter()
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {self.token}"})
        async with Client(streamable_http_client(self.url, http_client=http)) as mcp:
            out = await mcp.call_tool(tool, arguments(tool))
            seconds = time.perf_counter() - t0
            assert not out.is_error, out.content
            data = out.structured_content or {}
        return seconds, repl_processes(repl), str(data.get("source", "-"))

    async def close(self) -> None:
        await asyncio.wait_for(self.peer.request("shutdown", None), 30)
        self.peer.notify("exit", None)
        await asyncio.wait_for(self.peer.proc.wait(), 30)


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="lean-sidecar-bench-mcp-"))
    rows: dict[str, dict[str, list[Any]]] = {
        t: {"cold": [], "shared": [], "cold_repls": [], "shared_repls": [], "source": []}
        for t in ("holes", "verify")
    }
    for r in range(args.rounds):
        work = tmp / f"round-{r}"
        lake, repl, _log = make_repl(work, {**facts(), "latency": args.repl_latency})
        project = make_project(work, FILE, (PROJECT / FILE).read_text())
        base = {
            "repl_pool_size": str(args.pool),
            "hover_suggestions": "false",
            "log_level": "WARNING",
        }
        env = sidecar_env(work, lake, repl, **base)
        for tool in ("holes", "verify"):  # a fresh agent's sidecar for each first answer
            seconds, running = await cold(project, env, repl, tool)
            rows[tool]["cold"].append(seconds)
            rows[tool]["cold_repls"].append(running)
        shared_env = {
            **env,
            "LEAN_SIDECAR_MCP_SHARE": "1",
            "LEAN_SIDECAR_MCP_PORT": str(free_port()),
        }
        editor = await Editor.open(project, shared_env)
        try:
            seconds, running, source = await editor.ask("holes", repl)
            rows["holes"]["shared"].append(seconds)
            rows["holes"]["shared_repls"].append(running)
            rows["holes"]["source"].append(source)
            await editor.search()
            warm = repl_processes(repl)
            seconds, running, _ = await editor.ask("verify", repl)
            rows["verify"]["shared"].append(seconds)
            rows["verify"]["shared_repls"].append(f"{running - warm} new ({warm} the editor's)")
        finally:
            await editor.close()

    print(
        f"{args.rounds} rounds, stand-in REPL {args.repl_latency} s per command, "
        f"pool of {args.pool}, {FILE}"
    )
    print("| first answer | cold `lean-sidecar mcp`, p50 | shared with the editor, p50 | "
          "speed-up | REPLs running at the answer (cold / shared) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for tool, row in rows.items():
        c, s = statistics.median(row["cold"]), statistics.median(row["shared"])
        cold_repls = statistics.median(row["cold_repls"])
        shared_repls = row["shared_repls"][-1]
        print(
            f"| `{tool}` | {c:.2f} s | {s:.3f} s | {c / s:.0f}× | {cold_repls:.0f} / {shared_repls} |"
        )
    print(f"holes answered from: {', '.join(sorted(set(rows['holes']['source'])))}")
    for tool, row in rows.items():
        cold_s = ", ".join(f"{x:.2f}" for x in row["cold"])
        shared_s = ", ".join(f"{x:.3f}" for x in row["shared"])
        print(f"{tool}: cold {cold_s} s; shared {shared_s} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repl-latency", type=float, default=0.5)
    parser.add_argument("--pool", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
