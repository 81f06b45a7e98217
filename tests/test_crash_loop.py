"""A Lean server that keeps crashing is handled calmly: one message per outage, then status
notifications; requests during the outage are answered at once with one clear error; once Lean
starts again everything works."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import CHECKOUT_PYTHONPATH, PROJECT, standin_lean_command
from tests.test_malformed_input import RawClient

FACTS = PROJECT / "holes_facts.json"


def _messages(client: RawClient, method: str) -> list[dict[str, Any]]:
    return [m["params"] for m in client.inbox if m.get("method") == method]


async def until(predicate: Any, what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_a_crash_loop_gives_one_message_and_quick_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken"  # while this file exists, Lean's server dies at once
    pidfile = tmp_path / "pids"
    lean = shlex.join(standin_lean_command(FACTS))
    upstream = f"sh -c {shlex.quote(f'[ -e {broken} ] && exit 3; exec {lean}')}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lean_sidecar", "serve", "--upstream", upstream,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": CHECKOUT_PYTHONPATH, "STANDIN_PIDFILE": str(pidfile)},
    )  # fmt: skip
    client = RawClient(proc)
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": PROJECT.as_uri(), "capabilities": {}},
        }
    )
    assert "result" in await client.answer(1)
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    await until(pidfile.exists, "Lean's server to start")
    broken.touch()
    os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)

    statuses = lambda: _messages(client, "leanSidecar/status")  # noqa: E731
    await until(lambda: len(statuses()) >= 4, "four restart attempts")
    attempts = [s["attempt"] for s in statuses() if s["lean"] == "restarting"]
    assert attempts == sorted(attempts) and attempts[0] == 1
    delays = [s["retryIn"] for s in statuses() if s["lean"] == "restarting"]
    assert delays == sorted(delays) and delays[-1] > delays[0], "back-off grows in a loop"
    shown = [m["message"] for m in _messages(client, "window/showMessage")]
    assert len(shown) == 1, shown  # one pop-up for the whole outage
    assert "restarting" in shown[0]

    # A request during the outage is answered at once, with why.
    t0 = time.monotonic()
    uri = (PROJECT / "Holes.lean").as_uri()
    hover = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}
    client.send({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": hover})
    answer = await client.answer(2)
    assert time.monotonic() - t0 < 5.0
    assert answer["error"]["code"] == -32803
    assert "stopped" in answer["error"]["message"] and "restarting" in answer["error"]["message"]

    broken.unlink()  # Lean can start again: the next attempt succeeds
    await until(lambda: statuses()[-1]["lean"] == "running", "Lean to be back", 60.0)
    client.send({"jsonrpc": "2.0", "id": 3, "method": "textDocument/hover", "params": hover})
    back = await client.answer(3)  # Lean itself answers (the file is not open: its own error)
    assert "result" in back or back["error"]["code"] != -32803, back
    assert len(_messages(client, "window/showMessage")) == 1
    client.send({"jsonrpc": "2.0", "id": 4, "method": "shutdown"})
    await client.answer(4)
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(proc.wait(), 20) == 0


async def test_lean_that_starts_then_dies_again_and_again_is_one_outage(tmp_path: Path) -> None:
    """Each restart succeeds (Lean answers `initialize`) and Lean dies again seconds later: one
    outage, one pop-up, however many restarts (it ends only after a healthy run)."""
    pidfile = tmp_path / "pids"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lean_sidecar", "serve",
        "--upstream", shlex.join(standin_lean_command(FACTS)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "STANDIN_PIDFILE": str(pidfile)},
    )  # fmt: skip
    client = RawClient(proc)
    init = {"processId": None, "rootUri": PROJECT.as_uri(), "capabilities": {}}
    client.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
    assert "result" in await client.answer(1)
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def pids() -> list[int]:
        return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []

    statuses = lambda: _messages(client, "leanSidecar/status")  # noqa: E731
    for k in range(4):
        await until(lambda k=k: len(pids()) > k, f"Lean's start {k + 1}")
        if k:  # each restart got as far as `initialize`: Lean was running again
            await until(lambda k=k: sum(s["lean"] == "running" for s in statuses()) >= k, "up")
        os.kill(pids()[k], signal.SIGKILL)
    await until(lambda: len(pids()) > 4, "the fifth start")
    await until(lambda: statuses()[-1]["lean"] == "running", "Lean to be back", 60.0)
    restarting = [s for s in statuses() if s["lean"] == "restarting"]
    assert [s["attempt"] for s in restarting] == [1, 2, 3, 4]  # one outage: attempts go on
    shown = [m["message"] for m in _messages(client, "window/showMessage")]
    assert len(shown) == 1, shown
    client.send({"jsonrpc": "2.0", "id": 4, "method": "shutdown"})
    await client.answer(4)
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(proc.wait(), 20) == 0
