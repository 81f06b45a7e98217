"""One warm Lean for the editor and the agent: with ``mcpShare`` the editor's sidecar also
answers MCP (streamable HTTP on loopback, bearer token in a private file), in front of the
editor's own engine and documents. A file the editor has open is answered from Lean's server
(no REPL started), and what needs a REPL uses the editor's pool: no second one starts."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_lsp
from lsprotocol import types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.agents_helpers import free_port, make_repl, received, repl_processes
from tests.conftest import PROJECT, ROOT, sidecar_command, standin_lean_command
from tests.lsp_helpers import holes, open_doc

FACTS = PROJECT / "holes_facts.json"
TMP = Path(tempfile.mkdtemp(prefix="lean-sidecar-agents-editor-"))
LAKE, REPL, LOG = make_repl(TMP)
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'server'}:{ROOT}", "HOME": str(TMP / "home")}


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=sidecar_command(standin_lean_command(FACTS)), server_env=ENV
    )
)
async def client(lsp_client: LanguageClient):
    yield lsp_client
    await lsp_client.shutdown_session()


def shown(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages]


def project(tmp: Path) -> Path:
    root = tmp / "proj"
    root.mkdir()
    for name in ("lean-toolchain", "Holes.lean"):
        shutil.copy(PROJECT / name, root / name)
    return root


async def start(client: LanguageClient, root: Path, tmp: Path, **options: Any) -> dict[str, Any]:
    """The editor opens Holes.lean and Lean finishes it; the MCP options it set."""
    base = {
        "replPath": str(REPL),
        "lakePath": str(LAKE),
        "cachePath": str(tmp / "cache.sqlite"),
        "tactics": ["rfl", "omega"],
        "replPoolSize": 1,
        "hoverSuggestions": False,  # the hover would start the editor's engine by itself
        # off only so that the stand-in REPL can write its log where the test reads it
        "replSandbox": False,
        "mcpShare": True,
        "mcpPort": free_port(),
        "mcpTokenFile": str(tmp / "private" / "mcp-token"),
        **options,
    }
    client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda _p: None)
    client.feature("workspace/codeAction/refresh")(lambda _p: None)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            initialization_options={"leanSidecar": base},
        )
    )
    if base["mcpShare"]:
        await listening(base["mcpPort"])
    return base


async def listening(port: int) -> None:
    """The share starts at `initialized`, which the editor does not wait on."""
    for _ in range(400):
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.025)
            continue
        writer.close()
        return


def mcp_client(options: dict[str, Any], token: str | None = None) -> Client:
    token = token or Path(options["mcpTokenFile"]).read_text().strip()
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    url = f"http://127.0.0.1:{options['mcpPort']}/mcp"
    return Client(streamable_http_client(url, http_client=http))


async def test_the_agent_shares_the_editors_lean(client: LanguageClient, tmp_path: Path) -> None:
    root = project(tmp_path)
    options = await start(client, root, tmp_path)
    uri = open_doc(client, root / "Holes.lean")
    editor = await holes(client, uri)
    token_file = Path(options["mcpTokenFile"])
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    started = repl_processes(REPL)
    async with mcp_client(options) as mcp:
        out = (await mcp.call_tool("holes", {"path": "Holes.lean"})).structured_content
        assert out is not None and out["source"] == "editor" and out["version"] == 1
        ours = [(h["kind"], h["declaration"], h["goal"], h["range"]) for h in out["holes"]]
        theirs = [(h["kind"], h["declaration"], h["goal"], h["range"]) for h in editor["holes"]]
        assert ours == theirs  # Lean's server's answer, failing tactics included
        assert ("failingTactic", "uses_linarith") in {(k, d) for k, d, _g, _r in ours}
        # answered from the shared state: no REPL (no second Lean) was started for it
        assert repl_processes(REPL) == started and received(LOG) == []
        goal = (
            await mcp.call_tool(
                "goal", {"path": "Holes.lean", "position": {"line": 35, "character": 4}}
            )
        ).structured_content
        assert goal is not None and goal["hole"]["kind"] == "failingTactic"
        # what needs a REPL starts the editor's engine (replPoolSize 1) ...
        verdict = (
            await mcp.call_tool(
                "verify",
                {"path": "Holes.lean", "hole": {"line": 6, "character": 2}, "proof": "omega"},
            )
        ).structured_content
        assert verdict is not None and verdict["verified"] is True
        assert repl_processes(REPL) == started + 1
    # ... which the editor's own search then uses: still one REPL
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="leanSidecar.searchProof",
            arguments=[{"uri": uri, "version": 1, "position": {"line": 6, "character": 2}}],
        )
    )
    assert result["status"] == "solved"
    assert repl_processes(REPL) == started + 1
    # the file as it is on disk, when the editor holds other text: the REPL's answer, the same pool
    (root / "Holes.lean").write_text("-- edited on disk\n" + (root / "Holes.lean").read_text())
    async with mcp_client(options) as mcp:
        out = (await mcp.call_tool("holes", {"path": "Holes.lean"})).structured_content
        assert out is not None and out["source"] == "repl"
    assert repl_processes(REPL) == started + 1
    assert not [m for m in shown(client) if "agents" in m]


async def test_without_the_token_nothing_answers(client: LanguageClient, tmp_path: Path) -> None:
    options = await start(client, project(tmp_path), tmp_path)
    url = f"http://127.0.0.1:{options['mcpPort']}/mcp"
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx2.AsyncClient() as raw:
        for headers in ({}, {"Authorization": "Bearer not-the-token"}):
            assert (await raw.post(url, json=ping, headers=headers)).status_code == 401
        # a web page cannot reach it either (DNS rebinding: the Host is checked)
        token = Path(options["mcpTokenFile"]).read_text().strip()
        evil = {"Authorization": f"Bearer {token}", "Host": "evil.example"}
        assert (await raw.post(url, json=ping, headers=evil)).status_code in (403, 421)


async def test_sharing_is_opt_in(client: LanguageClient, tmp_path: Path) -> None:
    options = await start(client, project(tmp_path), tmp_path, mcpShare=False)
    assert not Path(options["mcpTokenFile"]).exists()
    async with httpx2.AsyncClient() as raw:
        with pytest.raises(httpx2.ConnectError):
            await raw.post(f"http://127.0.0.1:{options['mcpPort']}/mcp", json={})


async def test_a_port_in_use_is_one_warning_and_the_editor_goes_on(
    client: LanguageClient, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        root = project(tmp_path)
        await start(client, root, tmp_path, mcpPort=port)
        uri = open_doc(client, root / "Holes.lean")
        assert (await holes(client, uri))["holes"]  # the editor works
        for _ in range(200):
            if shown(client):
                break
            await asyncio.sleep(0.05)
        (warning,) = [m for m in shown(client) if "agents" in m]
        assert f"127.0.0.1:{port}" in warning and "`mcpPort`" in warning
