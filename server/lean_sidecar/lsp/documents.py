"""Per-document state: Lean's diagnostics, progress and the hole list of each finished version."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from lean_bridge.diagnostics import DiagnosticsLog
from lean_bridge.holes import Hole, TextModel
from lean_bridge.json_types import JsonObject

log = logging.getLogger(__name__)


@dataclass
class HoleSnapshot:
    version: int
    model: TextModel
    holes: list[Hole]
    stale_imports: bool = False
    error: str | None = None  # why no holes were computed for this version

    def to_json(self) -> JsonObject:
        return {
            "version": self.version,
            "holes": [h.to_json() for h in self.holes],
            "staleImports": self.stale_imports,
        }


@dataclass
class DocState:
    uri: str
    version: int
    diagnostics: DiagnosticsLog = field(default_factory=DiagnosticsLog)
    snapshot: HoleSnapshot | None = None
    refresh_task: asyncio.Task[None] | None = None
    waiters: list[asyncio.Future[HoleSnapshot]] = field(default_factory=list)

    def publish(self, snapshot: HoleSnapshot) -> None:
        self.snapshot = snapshot
        keep = []
        for fut in self.waiters:
            if fut.done():
                continue
            if snapshot.version >= self.version:
                fut.set_result(snapshot)
            else:
                keep.append(fut)
        self.waiters = keep

    async def current_holes(self, timeout: float | None = None) -> HoleSnapshot:
        """The hole list of the current version, waiting for Lean to finish it if needed."""
        if self.snapshot is not None and self.snapshot.version == self.version:
            return self.snapshot
        fut: asyncio.Future[HoleSnapshot] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        return await asyncio.wait_for(fut, timeout)


class DocumentStore:
    def __init__(self) -> None:
        self._docs: dict[str, DocState] = {}

    def get(self, uri: str) -> DocState | None:
        return self._docs.get(uri)

    def open(self, uri: str, version: int) -> DocState:
        old = self._docs.get(uri)
        if old is not None:
            self.close(uri)
        doc = DocState(uri, version)
        self._docs[uri] = doc
        return doc

    def close(self, uri: str) -> None:
        doc = self._docs.pop(uri, None)
        if doc is None:
            return
        if doc.refresh_task is not None:
            doc.refresh_task.cancel()
        for fut in doc.waiters:
            if not fut.done():
                fut.set_exception(LookupError(f"document closed: {uri}"))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._docs.values()))
