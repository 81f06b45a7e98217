"""Where the tools' engine and holes come from: ``lean-sidecar mcp``'s own engine, or the
editor's (``lean-sidecar serve`` with ``mcpShare``), whose REPL pool, cache and open documents
the agent then shares. The tools see only these narrow interfaces."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from lean_bridge.holes import Hole
from lean_sidecar.search.build import BuiltEngine, build_engine
from lean_sidecar.search.engine import SearchEngine
from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)


class EngineSource(Protocol):
    """The search engine, built on first use (the editor's ``EngineService`` is one)."""

    @property
    def setup_error(self) -> str | None: ...

    async def engine(self) -> SearchEngine: ...


class OpenSnapshot(Protocol):
    """The editor's holes of one finished version of a document (its ``HoleSnapshot``)."""

    @property
    def version(self) -> int: ...

    @property
    def holes(self) -> list[Hole]: ...


class EditorView(Protocol):
    """The editor's open documents, as far as agents read them."""

    async def open_holes(self, path: Path, text: str) -> OpenSnapshot | None:
        """The editor's holes of ``path`` when it has exactly ``text`` open and Lean finished
        it; None otherwise (not open, other text, Lean not done in time)."""
        ...


class DoctorLine(Protocol):
    """One line of ``lean-sidecar doctor`` (its ``Check``)."""

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def essential(self) -> bool: ...


#: (settings, project) -> (the doctor's lines, whether proof search can work); blocking
DoctorRun = Callable[[Settings, Path], tuple[Sequence[DoctorLine], bool]]


class StandaloneEngine:
    """``lean-sidecar mcp``'s engine: built on the first tool call that needs Lean (starting a
    REPL takes seconds, importing Mathlib more), so that listing tools or reading a file never
    waits for it; what the user must know about it (``notices``) goes to the log once."""

    def __init__(self, settings: Settings, project: Path | None) -> None:
        self._settings = settings
        self._project = project
        self._built: BuiltEngine | None = None
        self._lock = asyncio.Lock()
        self.notices: list[str] = []

    @property
    def setup_error(self) -> str | None:
        return self._built.setup_error if self._built is not None else None

    @property
    def started(self) -> bool:
        return self._built is not None

    async def engine(self) -> SearchEngine:
        async with self._lock:
            if self._built is None:
                self._built = await build_engine(self._settings, self._project, notify=log.warning)
                self.notices = list(self._built.notices)
                for notice in self.notices:
                    log.warning("%s", notice)
            return self._built.engine

    async def close(self) -> None:
        built, self._built = self._built, None
        if built is not None:
            await built.close()
