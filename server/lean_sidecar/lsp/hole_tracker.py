"""The hole model: for each open document, once Lean has finished a version, the goal at every
sorry and failing tactic. It follows the editor's didOpen/didChange/didClose, Lean's
diagnostics, and reopens the documents in a restarted Lean."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol, cast

from lean_bridge.framing import Message
from lean_bridge.holes import TextModel, collect_holes
from lean_bridge.json_types import Json, as_object
from lean_bridge.lsp_types import PlainGoal, PlainTermGoal
from lean_bridge.positions import Pos
from lean_bridge.upstream import LeanUpstream, UpstreamError
from lean_sidecar.lsp.documents import DocState, DocumentStore, HoleSnapshot
from lean_sidecar.lsp.lean_process import LeanProcess
from lean_sidecar.lsp.tasks import TaskRegistry

log = logging.getLogger(__name__)
GOAL_TIMEOUT = 30.0


class Sources(Protocol):
    """The editor's text of open documents (pygls' workspace holds it)."""

    def source(self, uri: str) -> str: ...

    def language_id(self, uri: str) -> str | None: ...


class HoleListener(Protocol):
    def on_change(self, uri: str, first_line: int) -> None: ...

    def on_holes(self, doc: DocState) -> None: ...

    def on_close(self, uri: str) -> None: ...


class HoleTracker:
    def __init__(
        self,
        documents: DocumentStore,
        lean: LeanProcess,
        sources: Sources,
        listener: HoleListener,
        max_document_mb: Callable[[], float],
        tasks: TaskRegistry,
    ) -> None:
        self.documents = documents
        self._lean = lean
        self._sources = sources
        self._listener = listener
        self._max_document_mb = max_document_mb
        self._tasks = tasks
        lean.on_restarted.append(self._reopen_all)

    def document_event(self, method: str, params: Message) -> None:
        # didOpen/didChange/didClose/didSave: a TextDocumentItem or (Versioned)Identifier object
        text_document = as_object(params.get("textDocument"))
        uri = text_document.get("uri")
        if not isinstance(uri, str):
            return
        if method == "textDocument/didClose":
            self.documents.close(uri)
            self._listener.on_close(uri)  # cancels the document's searches, drops its results
            return
        if method == "textDocument/didSave":
            return
        version = text_document.get("version")
        if not isinstance(version, int):
            return
        if method == "textDocument/didOpen":
            doc = self.documents.open(uri, version)
        else:
            existing = self.documents.get(uri)
            if existing is None or not params.get("contentChanges"):
                return  # Lean ignores both too
            doc = existing
            doc.version = version
            changes = cast("list[Json]", params.get("contentChanges") or [])  # LSP: an array
            self._listener.on_change(uri, first_changed_line(changes))
        self._schedule_refresh(doc)

    def on_diagnostics(self, params: Message) -> None:
        uri = params.get("uri")
        doc = self.documents.get(uri) if isinstance(uri, str) else None
        if doc is not None:
            doc.diagnostics.apply(params)

    def _reopen_all(self, upstream: LeanUpstream) -> None:
        for doc in self.documents:
            upstream.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": doc.uri,
                        "languageId": self._sources.language_id(doc.uri) or "lean4",
                        "version": doc.version,
                        "text": self._sources.source(doc.uri),
                    },
                    "dependencyBuildMode": "never",
                },
            )
            doc.diagnostics.version = None
            self._schedule_refresh(doc)

    def _schedule_refresh(self, doc: DocState) -> None:
        if doc.refresh_task is not None:
            doc.refresh_task.cancel()
        text = self._sources.source(doc.uri)
        doc.refresh_task = self._tasks.spawn(self._refresh(doc, doc.version, text))

    async def _refresh(self, doc: DocState, version: int, text: str) -> None:
        """Wait until Lean has finished ``version``, then ask it for the goal at every hole."""
        await self._lean.ready.wait()
        if self._lean.upstream is None:
            return
        try:
            await self._lean.request(
                "textDocument/waitForDiagnostics", {"uri": doc.uri, "version": version}
            )
        except UpstreamError as exc:
            log.info("waitForDiagnostics(%s, v%d) failed: %s", doc.uri, version, exc)
            return
        if doc.version != version:
            return
        limit = self._max_document_mb()
        if len(text) > limit * 1024 * 1024:
            error = (
                f"document is {len(text) / 2**20:.1f} MB, over the max_document_mb limit of "
                f"{limit:g} MB: lean-sidecar does not search it (Lean still checks it)"
            )
            doc.publish(HoleSnapshot(version, TextModel(""), [], error=error))
            return
        model = TextModel(text)

        async def plain_goal(pos: Pos) -> str | None:
            answer = await self._goal_request("$/lean/plainGoal", doc.uri, pos)
            result = cast("PlainGoal | None", answer)  # what Lean answers, or None on failure
            goals = result.get("goals") if isinstance(result, dict) else None
            return str(goals[0]) if goals else None

        async def term_goal(pos: Pos) -> str | None:
            answer = await self._goal_request("$/lean/plainTermGoal", doc.uri, pos)
            result = cast("PlainTermGoal | None", answer)  # what Lean answers, or None on failure
            return str(result["goal"]) if isinstance(result, dict) and "goal" in result else None

        holes = await collect_holes(
            model, doc.diagnostics.for_version(version), plain_goal, term_goal
        )
        if doc.version != version:
            return
        doc.publish(HoleSnapshot(version, model, holes, doc.diagnostics.stale_imports))
        self._listener.on_holes(doc)

    async def _goal_request(self, method: str, uri: str, pos: Pos) -> Json:
        if self._lean.upstream is None:
            return None
        try:
            return await self._lean.request(
                method, {"textDocument": {"uri": uri}, "position": pos.to_lsp()}, GOAL_TIMEOUT
            )
        except (UpstreamError, asyncio.TimeoutError) as exc:
            log.info("%s at %s failed: %s", method, pos, exc)
            return None


def first_changed_line(changes: list[Json]) -> int:
    """A lower bound of the first line an edit touched (a full replacement touches line 0)."""
    lines = []
    for change in changes:
        rng = change.get("range") if isinstance(change, dict) else None
        if not isinstance(rng, dict):
            return 0
        start = as_object(rng.get("start"))  # LSP: a Position object
        lines.append(int(cast("int | float | str", start.get("line", 0))))
    return min(lines, default=0)
