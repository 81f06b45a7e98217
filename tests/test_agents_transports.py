"""``lean-sidecar mcp`` as an agent starts it: a subprocess over stdio, and over streamable HTTP
on loopback with its bearer token (a private file; no token, no answer); and a search the
client cancels stops its endpoint streams within 2 s, in process and over both transports,
as the editor's cancel does (tests/test_cancel_matrix.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from lean_sidecar.agents.server import build_server
from lean_sidecar.agents.standalone import standalone_tools
from lean_sidecar.settings import Settings, load_settings
from tests.agents_helpers import DIV, EASY, held, make_project, make_repl, sidecar_env
from tests.conftest import ROOT
from tests.search_helpers import lean_answer
from tests.standins.openai_endpoint import StandInEndpoint

STATEMENT = "theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by"
RESPONSES = {
    "queued": {"hang": True},
    "streaming": {"texts": [lean_answer(STATEMENT, "  field_simp")], "drip": 0.05},
}
DEADLINE = 30.0


def at(position: tuple[int, int]) -> dict[str, int]:
    return {"line": position[0], "character": position[1]}


@contextlib.asynccontextmanager
async def http_sidecar(
    cwd: Path, env: dict[str, str], *args: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """``lean-sidecar mcp --http --port 0`` and the URL it says it listens on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lean_sidecar", "mcp", "--http", "--port", "0", *args,
        cwd=cwd, env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        said = ""
        while "listening on http://" not in said:
            line = (await asyncio.wait_for(proc.stderr.readline(), DEADLINE)).decode()
            assert line, said  # it stopped without listening
            said += line
        yield said.split("listening on ")[1].split()[0], proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()


def bearer(token: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})


async def test_stdio_subprocess_serves_the_tools(tmp_path: Path) -> None:
    lake, repl, _log = make_repl(tmp_path)
    project = make_project(tmp_path)
    env = sidecar_env(tmp_path, lake, repl)
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "lean_sidecar", "mcp"], env=env, cwd=str(project)
    )
    async with Client(server) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert (
            "search" in names and client.server_info and client.server_info.name == "lean-sidecar"
        )
        holes = await client.call_tool("holes", {"path": "Agents.lean"})
        assert [h["declaration"] for h in holes.structured_content["holes"]] == [  # type: ignore[index]
            "easy",
            "div_self'",
            "bad",
        ]
        found = await client.call_tool("search", {"path": "Agents.lean", "position": at(EASY)})
        assert found.structured_content["proofs"][0]["script"] == "omega"  # type: ignore[index]


async def test_http_subprocess_needs_the_private_token(tmp_path: Path) -> None:
    lake, repl, _log = make_repl(tmp_path)
    project = make_project(tmp_path)
    env = sidecar_env(tmp_path, lake, repl)
    token_file = Path(env["LEAN_SIDECAR_MCP_TOKEN_FILE"])
    # everything it says (DEBUG), to look for the token in
    async with http_sidecar(project, env, "--log-level", "DEBUG") as (url, sidecar):
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        token = token_file.read_text().strip()
        assert len(token) >= 40
        async with httpx2.AsyncClient() as raw:
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
                answer = await raw.post(url, json=ping, headers=headers)
                assert answer.status_code == 401, headers
                assert token not in answer.text
        async with Client(streamable_http_client(url, http_client=bearer(token))) as client:
            out = await client.call_tool("holes", {"path": "Agents.lean"})
            assert out.structured_content["source"] == "repl"  # type: ignore[index]
        sidecar.send_signal(signal.SIGINT)
        assert sidecar.stderr is not None
        said = (await asyncio.wait_for(sidecar.stderr.read(), DEADLINE)).decode()
        assert token not in said  # never logged, not even at DEBUG
        assert await asyncio.wait_for(sidecar.wait(), DEADLINE) == 0
    # the token is kept: a restart answers to the same configuration
    async with http_sidecar(project, env) as (url, _sidecar):
        assert token_file.read_text().strip() == token
        async with Client(streamable_http_client(url, http_client=bearer(token))) as client:
            assert (await client.list_tools()).tools


async def test_a_token_file_others_can_read_is_replaced(tmp_path: Path) -> None:
    from lean_sidecar.agents.transport import ensure_token

    path = tmp_path / "cfg" / "token"
    first = ensure_token(path)
    assert ensure_token(path) == first
    os.chmod(path, 0o644)
    second = ensure_token(path)
    assert second != first and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere")
    third = ensure_token(path)
    assert not path.is_symlink() and ensure_token(path) == third
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("state", list(RESPONSES))
@pytest.mark.parametrize("transport", ["inproc", "stdio", "http"])
async def test_a_cancelled_search_closes_its_endpoint_streams(
    tmp_path: Path, transport: str, state: str
) -> None:
    endpoint = StandInEndpoint(script=[{"match": "div_self'", "responses": [RESPONSES[state]]}])
    url = endpoint.start_in_thread()
    lake, repl, _log = make_repl(tmp_path)
    project = make_project(tmp_path)
    settings = {
        "endpoints": url,
        "budget_samples": "1",
        "samples_per_request": "1",
        "tactics": "[]",
        "fix_rounds": "0",
        "decompose_depth": "0",
    }
    env = sidecar_env(tmp_path, lake, repl, **settings)
    async with connect(transport, project, env) as client:
        progress: list[str] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(message or "")

        call = asyncio.ensure_future(
            client.call_tool(
                "search",
                {"path": "Agents.lean", "position": at(DIV)},
                progress_callback=on_progress,
            )
        )
        gens = endpoint.generation_requests
        await until(lambda: bool(gens()) or call.done(), "the model request")
        assert not call.done(), call.result()
        if state == "streaming":
            await until(lambda: gens()[0].bytes_sent > 0, "the first streamed bytes")
        await until(lambda: bool(progress), "the search's progress")
        assert endpoint.open_connections > 0
        t0 = time.monotonic()
        call.cancel()
        await until(lambda: endpoint.open_connections == 0, "the HTTP stream to close")
        closed_after = time.monotonic() - t0
        print(f"{transport}/{state}: endpoint stream closed {closed_after:.3f} s after the cancel")
        assert closed_after <= 2.0, f"the stream stayed open {closed_after:.2f} s"
        # the connection outlives the cancelled call
        out = await client.call_tool("holes", {"path": "Agents.lean"})
        assert not out.is_error
    assert endpoint.open_connections == 0


@contextlib.asynccontextmanager
async def connect(transport: str, project: Path, env: dict[str, str]) -> AsyncIterator[Client]:
    if transport == "inproc":
        old = {k: os.environ.get(k) for k in env}
        os.environ.update({k: v for k, v in env.items() if k.startswith("LEAN_SIDECAR_")})
        try:
            settings: Settings = load_settings(strict=True)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        tools, engine = standalone_tools(settings, project)
        try:
            async with held(Client(build_server(tools))) as client:
                yield client
        finally:
            await engine.close()
    elif transport == "stdio":
        server = StdioServerParameters(
            command=sys.executable, args=["-m", "lean_sidecar", "mcp"], env=env, cwd=str(project)
        )
        async with Client(server) as client:
            yield client
    else:
        async with http_sidecar(project, env) as (url, _sidecar):
            token = Path(env["LEAN_SIDECAR_MCP_TOKEN_FILE"]).read_text().strip()
            async with Client(streamable_http_client(url, http_client=bearer(token))) as client:
                yield client


async def until(predicate: Any, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_the_mcp_command_has_its_help() -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "lean_sidecar", "mcp", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'server'}:{ROOT}"},
    )
    assert done.returncode == 0 and "--http" in done.stdout
