"""Agents in the editor's sidecar: with ``mcpShare`` on, ``lean-sidecar serve`` also answers
MCP over streamable HTTP, in front of the editor's own engine (one REPL pool, one cache, one
Mathlib import) and its open documents (holes Lean's server has elaborated already).

This is the ``ShareHook`` the composition hands to the language server: the server starts it
at ``initialized`` and stops it at shutdown. It never takes the editor down: a port in use or a
token file it cannot write is one warning in the editor, and the editor goes on without it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from lean_sidecar.agents.files import ProjectFiles
from lean_sidecar.agents.server import build_server
from lean_sidecar.agents.sources import DoctorRun, EngineSource, OpenSnapshot
from lean_sidecar.agents.tools import AgentTools
from lean_sidecar.agents.transport import HttpService, ensure_token
from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)


class SharedEditor(Protocol):
    """What the editor lends (``lean_sidecar.lsp.editor_share.EditorShare``)."""

    @property
    def engines(self) -> EngineSource: ...

    def root(self) -> Path | None: ...

    def settings(self) -> Settings: ...

    def tell(self, text: str) -> None: ...

    async def open_holes(self, path: Path, text: str) -> OpenSnapshot | None: ...


class EditorAgents:
    def __init__(self, doctor: DoctorRun | None = None) -> None:
        self._doctor = doctor
        self._http: HttpService | None = None
        self.url: str | None = None

    async def start(self, share: SharedEditor) -> None:
        settings = share.settings()
        if not settings.mcp_share or self._http is not None:
            return
        tools = AgentTools(
            engines=share.engines,
            files=ProjectFiles(share.root, _max_bytes(share.settings)),
            settings=share.settings,
            editor=share,
            doctor=self._doctor,
        )
        try:
            token = ensure_token(settings.mcp_token_file)
            self._http = await HttpService.start(
                build_server(tools), settings.mcp_host, settings.mcp_port, token
            )
        except OSError as exc:
            log.warning("MCP for agents not started: %s", exc)
            share.tell(
                f"lean-sidecar: agents cannot share this editor's Lean (MCP on "
                f"{settings.mcp_host}:{settings.mcp_port}): {exc}. Set `mcpPort` to a free port."
            )
            return
        self.url = self._http.url
        log.info("MCP for agents at %s (bearer token in %s)", self.url, settings.mcp_token_file)

    async def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.stop()


def _max_bytes(settings: Callable[[], Settings]) -> Callable[[], int]:
    return lambda: int(settings().max_document_mb * 1024 * 1024)
