"""A Lean project, a stand-in toolchain and the environment for driving ``lean-sidecar mcp``
(in process, over stdio, over HTTP) in the agents' tests and bench."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mcp import Client

from tests.conftest import PROJECT, ROOT
from tests.search_helpers import REPL_FACTS
from tests.standins.toolchain import make_toolchain

AGENTS_LEAN = """import Mathlib

theorem easy (a b : Nat) (h : a ≤ b) : a < b + 1 := by
  sorry

theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by
  sorry

theorem bad (n : ℕ) : n + 1 = n := by
  sorry

theorem uses_linarith (a b : ℚ) (h : a < b) : a ≤ b := by
  linarith [sq_nonneg a]
"""
EASY = (3, 2)  # 0-based (line, character) of each hole's sorry
DIV = (6, 2)
BAD = (9, 2)
LINARITH = (12, 2)
TACTICS = "rfl,omega,nlinarith,exact le_of_lt h,apply le_of_lt"


def facts() -> dict[str, Any]:
    """The REPL's facts: the shared ones, and a false goal whose negation `omega` proves."""
    out: dict[str, Any] = json.loads(REPL_FACTS.read_text())
    out["proofs"][": ¬(∀ (n : ℕ), n + 1 = n)"] = {"accepted": ["by omega"]}
    out["proofs"]["(n : ℕ) : n + 1 = n"] = {
        "error": "omega could not prove the goal",
        "goal": "n : ℕ\n⊢ n + 1 = n",
    }
    return out


def make_project(tmp: Path, name: str = "Agents.lean", text: str = AGENTS_LEAN) -> Path:
    project = tmp / "proj"
    project.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT / "lean-toolchain", project / "lean-toolchain")
    (project / name).write_text(text, encoding="utf-8")
    return project


def make_repl(tmp: Path, repl_facts: dict[str, Any] | None = None) -> tuple[Path, Path, Path]:
    """(lake, repl_dir, log): the stand-in REPL appends every request it receives to ``log``
    (where the REPL can write it: with ``replSandbox`` off, or a folder the sandbox shows)."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "facts.json"
    path.write_text(json.dumps(repl_facts or facts()))
    log = tmp / "repl.log"
    lake, repl = make_toolchain(tmp / "tc", path, log)
    return lake, repl, log


def received(log: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def repl_processes(repl: Path) -> int:
    """How many stand-in REPLs of this toolchain are running now, seen from /proc (a REPL in
    the sandbox is a process of this machine too): a pool of N is N of them."""
    count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not Path(os.fsdecode(args[0])).name.startswith("python"):
            continue
        if any(a.endswith(b"repl.py") and os.fsencode(str(repl)) in a for a in args[1:3]):
            count += 1
    return count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sidecar_env(tmp: Path, lake: Path, repl: Path, **settings: str) -> dict[str, str]:
    """The environment of a sidecar subprocess: this checkout's code, a private HOME, the
    stand-in toolchain, and ``settings`` (field name -> value, as LEAN_SIDECAR_* variables)."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp / "home"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT)]),
        "LEAN_SIDECAR_REPL_PATH": str(repl),
        "LEAN_SIDECAR_LAKE_PATH": str(lake),
        "LEAN_SIDECAR_CACHE_PATH": str(tmp / "cache.sqlite"),
        "LEAN_SIDECAR_TACTICS": TACTICS,
        "LEAN_SIDECAR_MCP_TOKEN_FILE": str(tmp / "home" / "mcp-token"),
    }
    env.update({f"LEAN_SIDECAR_{k.upper()}": v for k, v in settings.items()})
    return env


@contextlib.asynccontextmanager
async def held(client: Client) -> AsyncIterator[Client]:
    """``client`` entered and left by one task of its own: the SDK's task groups must be left
    by the task that entered them, and pytest's async fixtures set up and tear down in two."""
    ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def hold() -> None:
        try:
            async with client as entered:
                ready.set_result(entered)
                await done.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    task = asyncio.ensure_future(hold())
    try:
        yield await ready
    finally:
        done.set()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
