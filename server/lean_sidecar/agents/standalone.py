"""``lean-sidecar mcp``: the agent's own sidecar, without an editor. Its engine is built on the
first tool call that needs Lean and closed when the agent goes away; over stdio (the agent
starts it), or streamable HTTP on loopback (``--http``, token in ``mcpTokenFile``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from lean_sidecar.agents.files import ProjectFiles
from lean_sidecar.agents.server import build_server
from lean_sidecar.agents.sources import DoctorRun, StandaloneEngine
from lean_sidecar.agents.tools import AgentTools
from lean_sidecar.agents.transport import HttpService, ensure_token, serve_stdio
from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)


def standalone_tools(
    settings: Settings, root: Path, doctor: DoctorRun | None = None
) -> tuple[AgentTools, StandaloneEngine]:
    """The tools over an engine of their own for the project at ``root``."""
    project = root if (root / "lean-toolchain").exists() else None
    engine = StandaloneEngine(settings, project)
    tools = AgentTools(
        engines=engine,
        files=ProjectFiles(lambda: root, lambda: int(settings.max_document_mb * 1024 * 1024)),
        settings=lambda: settings,
        doctor=doctor,
        notices=lambda: list(engine.notices),
    )
    return tools, engine


async def run_mcp(
    settings: Settings,
    root: Path,
    *,
    http: bool = False,
    doctor: DoctorRun | None = None,
) -> int:
    """Serve until the agent closes stdin (stdio) or the process is stopped (HTTP). Exit
    code: 0, or 2 when the HTTP server cannot listen or its token file cannot be made."""
    tools, engine = standalone_tools(settings, root, doctor)
    server = build_server(tools)
    try:
        if not http:
            await serve_stdio(server)
            return 0
        try:
            token = ensure_token(settings.mcp_token_file)
            service = await HttpService.start(server, settings.mcp_host, settings.mcp_port, token)
        except OSError as exc:
            print(f"lean-sidecar mcp: error: cannot serve MCP over HTTP: {exc}", file=sys.stderr)
            return 2
        # stderr, not the log: the one line a user starting it by hand needs
        print(
            f"lean-sidecar mcp: listening on {service.url} (bearer token in "
            f"{settings.mcp_token_file})",
            file=sys.stderr,
            flush=True,
        )
        loop = asyncio.get_running_loop()
        handled = []
        for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C or a service manager: stop cleanly
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
                loop.add_signal_handler(sig, service.request_stop)
                handled.append(sig)
        try:
            await service.wait()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            await service.stop()
        return 0
    finally:
        await engine.close()
