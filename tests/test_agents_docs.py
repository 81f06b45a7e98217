"""Each agent client's configuration in docs/agents.md, parsed and started exactly as the
snippet says, with that client's own variable expansion (its documentation is cited there):
the stdio ones start ``lean-sidecar mcp`` as the client would, the HTTP ones reach
``lean-sidecar mcp --http`` on the snippet's URL with the header the client would send."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.agents_helpers import make_project, make_repl, sidecar_env
from tests.conftest import ROOT
from tests.test_agents_transports import http_sidecar

DOC = ROOT / "docs" / "agents.md"
TOKEN_VAR = "SIDECAR_MCP_TOKEN"
CODEX_CWD = "/path/to/your/lean/project"  # the one placeholder a user edits (Codex's `cwd`)


def snippets() -> dict[tuple[str, str], Any]:
    """(client, transport) -> the parsed configuration below its marker."""
    text = DOC.read_text(encoding="utf-8")
    marked = re.finditer(
        r"<!-- agents-snippet: (\S+) (stdio|http) -->\n```(json|toml)\n(.*?)\n```", text, re.S
    )
    out: dict[tuple[str, str], Any] = {}
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (Codex's config is TOML)
    for m in marked:
        body = m.group(4)
        out[(m.group(1), m.group(2))] = (
            json.loads(body) if m.group(3) == "json" else tomllib.loads(body)
        )
    return out


CLIENTS = ["claude-code", "codex", "cursor", "vscode"]


def test_every_client_has_both_snippets() -> None:
    assert set(snippets()) == {(c, t) for c in CLIENTS for t in ("stdio", "http")}


def expand_claude(value: str, env: dict[str, str], _project: Path) -> str:
    """${VAR} and ${VAR:-default} (Claude Code's MCP docs)."""

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(3)
        return env.get(name, default if default is not None else m.group(0))

    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", sub, value)


def expand_cursor(value: str, env: dict[str, str], project: Path) -> str:
    """${env:NAME}, ${workspaceFolder}, ${userHome} (Cursor's MCP docs)."""
    value = value.replace("${workspaceFolder}", str(project))
    value = value.replace("${userHome}", env["HOME"])
    return re.sub(r"\$\{env:(\w+)\}", lambda m: env.get(m.group(1), ""), value)


def expand_vscode(value: str, env: dict[str, str], project: Path) -> str:
    """${workspaceFolder}; ${input:id} is what the user typed at the prompt (the token)."""
    value = value.replace("${workspaceFolder}", str(project))
    return re.sub(r"\$\{input:[\w-]+\}", lambda _m: env.get(TOKEN_VAR, ""), value)


def entry(client: str, config: dict[str, Any]) -> dict[str, Any]:
    table = (
        config["mcp_servers"]
        if client == "codex"
        else config.get("mcpServers") or config["servers"]
    )
    (server,) = table.values()
    assert isinstance(server, dict)
    return server


EXPAND: dict[str, Callable[[str, dict[str, str], Path], str]] = {
    "claude-code": expand_claude,
    "cursor": expand_cursor,
    "vscode": expand_vscode,
    "codex": lambda value, _env, _project: value,  # Codex expands nothing in these fields
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("agents-docs")
    lake, repl, _log = make_repl(tmp)
    project = make_project(tmp)
    env = sidecar_env(tmp, lake, repl)
    return project, env


@pytest.mark.parametrize("client", CLIENTS)
async def test_the_stdio_snippet_starts_the_server(
    client: str, setup: tuple[Path, dict[str, str]]
) -> None:
    project, env = setup
    server = entry(client, snippets()[(client, "stdio")])
    assert server.get("type", "stdio") == "stdio" and server["command"] == "lean-sidecar"
    expand = EXPAND[client]
    args = [expand(a, env, project) for a in server.get("args", [])]
    if client == "codex":
        cwd = Path(server["cwd"].replace(CODEX_CWD, str(project)))
    elif client == "claude-code":
        cwd = project  # the folder `claude` runs in
    else:
        cwd = Path(env["HOME"])  # anywhere: the snippet names the project
    cwd.mkdir(parents=True, exist_ok=True)
    extra = {k: expand(v, env, project) for k, v in (server.get("env") or {}).items()}
    params = StdioServerParameters(
        command=server["command"], args=args, env={**env, **extra}, cwd=str(cwd)
    )
    async with Client(params) as mcp:
        out = await mcp.call_tool("holes", {"path": "Agents.lean"})
        assert not out.is_error and out.structured_content is not None
        assert out.structured_content["source"] == "repl"
        assert out.structured_content["holes"][0]["declaration"] == "easy"


def port_of(url: str) -> int:
    m = re.match(r"http://127\.0\.0\.1:(\d+)/mcp$", url)
    assert m, url
    return int(m.group(1))


@pytest.mark.parametrize("client", CLIENTS)
async def test_the_http_snippet_reaches_the_server_with_its_token(
    client: str, setup: tuple[Path, dict[str, str]]
) -> None:
    project, env = setup
    server = entry(client, snippets()[(client, "http")])
    url = server["url"]
    port = port_of(url)
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            pytest.skip(f"port {port} of the snippet is in use on this machine")
    env = {**env, "LEAN_SIDECAR_MCP_PORT": str(port)}
    async with http_sidecar(project, env, "--port", str(port)) as (served, _sidecar):
        assert served == url
        token = Path(env["LEAN_SIDECAR_MCP_TOKEN_FILE"]).read_text().strip()
        agent_env = {**env, TOKEN_VAR: token}  # `export SIDECAR_MCP_TOKEN=...` as documented
        if client == "codex":
            headers = {"Authorization": f"Bearer {agent_env[server['bearer_token_env_var']]}"}
        else:
            assert server.get("type", "http") == "http"
            headers = {
                k: EXPAND[client](v, agent_env, project) for k, v in server["headers"].items()
            }
        http = httpx2.AsyncClient(headers=headers)
        async with Client(streamable_http_client(url, http_client=http)) as mcp:
            out = await mcp.call_tool("holes", {"path": "Agents.lean"})
            assert not out.is_error and out.structured_content is not None
            assert out.structured_content["path"] == "Agents.lean"


def test_lean_sidecar_is_on_the_path_the_clients_use() -> None:
    """The snippets name `lean-sidecar`: the tests run the console script of this install."""
    script = Path(sys.executable).parent / "lean-sidecar"
    assert script.exists() and os.access(script, os.X_OK)
