"""Fill sorry: search a hole (work-done progress, cancellable), then offer Lean-verified proofs
as quick fixes whose edits are pinned to the document version they were computed for."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Protocol, cast
from urllib.parse import unquote, urlparse

from lsprotocol import types

from lean_bridge.holes import Hole
from lean_bridge.json_types import JsonObject
from lean_bridge.upstream import UpstreamError
from lean_sidecar.lsp.command_args import CommandArgs
from lean_sidecar.lsp.documents import DocState, DocumentStore, HoleSnapshot
from lean_sidecar.lsp.errors import ContentModified, RequestFailed
from lean_sidecar.lsp.features import code_actions as ca
from lean_sidecar.lsp.features.base import CommandHandler, Editor, Engines, Feature
from lean_sidecar.lsp.features.progress import with_progress
from lean_sidecar.lsp.features.search_summary import REFUTED, summary
from lean_sidecar.lsp.merged_methods import CODE_ACTION
from lean_sidecar.lsp.tasks import HoleTask, HoleWork, TaskRegistry, is_hole_task
from lean_sidecar.prover.endpoint import EndpointError
from lean_sidecar.search.result_store import HoleKey, ResultStore
from lean_sidecar.search.search_hole import search_hole
from lean_sidecar.search.trace import Found, HoleResult, HoleStatus

log = logging.getLogger(__name__)
COMMAND_WAIT = 60.0  # seconds a command waits for Lean to finish the document's version
CODE_ACTION_WAIT = 10.0  # the same for a code action (the editor re-asks when the cursor moves)


class LeanStatus(Protocol):
    async def wait_running(self, timeout: float) -> None: ...


def _task_key(key: HoleKey) -> HoleTask:
    return HoleTask(HoleWork.SEARCH, *key)


class ProofSearch(Feature):
    methods = (CODE_ACTION,)

    def __init__(
        self,
        documents: DocumentStore,
        engines: Engines,
        editor: Editor,
        tasks: TaskRegistry,
        lean: LeanStatus | None = None,
        search_command: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.documents = documents
        self.engines = engines
        self.editor = editor
        self.tasks = tasks
        self.lean = lean
        # the command "Search proof for this sorry" runs: the editor's own (editorSearchCommand,
        # which calls leanSidecar.searchProof under its own progress UI), else searchProof
        self._search_command = search_command
        self.results = ResultStore()
        self._decl_end: dict[HoleKey, int] = {}  # last line of a running search's declaration

    def running(self, key: HoleKey) -> bool:
        return _task_key(key) in self.tasks

    async def settings_changed(self) -> None:
        self.tasks.cancel(lambda k: is_hole_task(k, HoleWork.SEARCH))
        await self.engines.reset()

    async def close(self) -> None:
        # the searches unwind first (their streams close at once), then the engine they use
        await self.tasks.cancel_and_wait(lambda k: is_hole_task(k, HoleWork.SEARCH), timeout=1.0)
        await self.engines.close()

    # ---- holes -------------------------------------------------------------------------------
    async def _snapshot(self, uri: str, wait: float) -> tuple[DocState, HoleSnapshot]:
        """The document and the holes of its current version, waiting up to ``wait`` seconds
        for Lean to finish that version (the request's cancellation cancels the wait)."""
        doc = self.documents.get(uri)
        if doc is None:
            raise ContentModified(f"document is not open: {uri}")
        snap = doc.snapshot
        if snap is not None and snap.version == doc.version:
            return doc, snap
        if self.lean is not None:
            try:
                await self.lean.wait_running(wait)
            except UpstreamError as exc:
                raise RequestFailed(str(exc)) from exc
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                snap = await doc.current_holes(max(0.0, left))
            except LookupError as exc:
                raise ContentModified(str(exc)) from exc
            except asyncio.TimeoutError:
                raise ContentModified(
                    f"Lean did not finish version {doc.version} of this file within {wait:g} s"
                ) from None
            if snap.error is not None:
                raise RequestFailed(snap.error)
            if snap.version == doc.version:
                return doc, snap
            await asyncio.sleep(0)

    def on_close(self, uri: str) -> None:
        self.tasks.cancel(lambda k: is_hole_task(k, HoleWork.SEARCH, uri))
        self._forget(uri, None)

    def _forget(self, uri: str, keep: int | None) -> None:
        """Results are kept for the current version only (the cache keeps the rest)."""
        self.results.forget(uri, keep)

    def on_holes(self, doc: DocState) -> None:
        """A new version is ready: re-offer cached proofs whose context did not change."""
        snap = doc.snapshot
        if snap is not None:
            self._forget(doc.uri, snap.version)
        engine = self.engines.current()
        if snap is None or engine is None or engine.cache is None:
            return
        for hole in snap.holes:
            if hole.kind != "sorry":
                continue
            try:
                site = ca.site_of(snap, hole)
            except RequestFailed:
                continue
            key = (doc.uri, snap.version, hole.start)
            self.results.offer_cached(key, engine.cache, site, hole.goal, engine.model_name)

    def on_change(self, uri: str, first_line: int) -> None:
        """An edit at or above a hole's declaration changes what Lean would check: its search
        is cancelled, which closes its HTTP streams so the GPU stops. Edits below it do not
        matter to the proof, and its result will be re-offered from the cache."""
        self.tasks.cancel(
            lambda k: (
                is_hole_task(k, HoleWork.SEARCH, uri)
                and first_line <= self._decl_end.get(k.hole, 0)
            )
        )

    # ---- code actions ------------------------------------------------------------------------
    async def answer_code_action(
        self, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        try:
            doc, snap = await self._snapshot(params.text_document.uri, CODE_ACTION_WAIT)
        except (ContentModified, RequestFailed) as exc:
            log.info("no sidecar code actions: %s", exc)
            return None
        actions: list[types.CodeAction] = []
        for hole in snap.holes:
            if hole.kind != "sorry" or not ca.intersects(hole, params.range):
                continue
            key = (doc.uri, snap.version, hole.start)
            found: list[Found] = []
            for f in self.results.found.get(key, []):
                try:
                    actions.append(ca.fill_action(doc.uri, snap, hole, f, preferred=not found))
                except ca.RefusedEdit:
                    continue  # logged with its reason; never offered
                found.append(f)
            refuted = self.results.refuted.get(key)
            if refuted is not None:
                with contextlib.suppress(ca.RefusedEdit):
                    actions.append(ca.refuted_action(doc.uri, snap, hole, refuted))
            partial = self.results.partial.get(key)
            if not found and partial is not None:
                with contextlib.suppress(ca.RefusedEdit):  # logged with its reason
                    actions.append(ca.partial_action(doc.uri, snap, hole, partial))
            if not found:
                search = self._search_command() or ca.SEARCH
                actions.append(
                    ca.search_action(doc.uri, snap.version, hole, self.running(key), search)
                )
        if any(h.kind == "sorry" for h in snap.holes):
            actions.append(ca.fill_all_action(doc.uri, snap.version))
        return actions

    # ---- searching ---------------------------------------------------------------------------
    async def search_hole(
        self, doc: DocState, snap: HoleSnapshot, hole: Hole, token: str | None = None
    ) -> HoleResult:
        key = (doc.uri, snap.version, hole.start)
        existing = self.tasks.get(_task_key(key))
        if existing is not None:
            # the running search of this hole (spawned below under the same key)
            return cast(HoleResult, await asyncio.shield(existing))
        # No await before the spawn: a second request for this hole (a double click, the
        # code action and the command palette) must find this search and join it.
        site = ca.site_of(snap, hole)

        async def on_found(found: Found) -> None:
            self.results.add_found(key, found)
            if doc.version != snap.version:
                self.on_holes(doc)  # edited meanwhile: re-offer where the context is unchanged
            await self.editor.refresh_code_actions()

        def progress(message: str) -> None:
            if token is not None:
                self.editor.progress.report(token, types.WorkDoneProgressReport(message=message))

        async def search() -> HoleResult:
            engine = await self.engines.engine()
            return await search_hole(engine, site, hole.goal, on_found=on_found, progress=progress)

        self._decl_end[key] = snap.model.index.pos(site.decl.end).line
        task = self.tasks.spawn(search(), _task_key(key))
        try:
            result = await task
        finally:
            self._decl_end.pop(key, None)
        newly_refuted, kept_partial = self.results.finished(key, result)
        self._tell(result)
        if newly_refuted and result.refuted is not None:  # told once per hole (and version)
            self.editor.show_message(
                types.MessageType.Info,
                f"lean-sidecar: {REFUTED}: {result.refuted.statement} {result.refuted.proof}",
            )
        if result.refuted is not None and result.status == "refuted":
            await self.editor.refresh_code_actions()
        if kept_partial:
            await self.editor.refresh_code_actions()
        return result

    def _tell(self, result: HoleResult) -> None:
        """Never silent: a search that failed for a reason (a dead, key-refusing or stalled
        endpoint, …) says why in the log and in ONE editor message per cause, not per attempt
        or per hole. A search that reached the endpoint again clears what was told."""
        if result.status != "error" or not result.error:
            if result.samples:
                self.engines.failures_cleared()
            return
        log.warning("proof search failed: %s", result.error)
        cause = result.cause or ("error", result.error)
        if cause[0] == "error" and self.engines.setup_error is not None:
            return  # no REPL: said once when the engine was built
        self.engines.tell_failure(cause, f"lean-sidecar: proof search stopped: {result.error}")

    # ---- commands ----------------------------------------------------------------------------
    def commands(self) -> dict[str, CommandHandler]:
        return {
            ca.CHECK_ENDPOINT: lambda _args: self.cmd_check_endpoint(),
            ca.SEARCH: self.cmd_search,
            ca.FILL_ALL: self.cmd_fill_all,
            ca.CANCEL: self.cmd_cancel,
            ca.TRACE: self.cmd_trace,
        }

    async def cmd_search(self, args: Mapping[str, object]) -> JsonObject:
        given = CommandArgs.read(args)
        doc, snap = await self._snapshot(given.document, COMMAND_WAIT)
        if not given.offered_for(snap.version):
            raise ContentModified("the document changed since this action was offered")
        hole = ca.hole_at(snap, given.line, given.character)

        async def work(token: str | None) -> JsonObject:
            result = await self.search_hole(doc, snap, hole, token)
            self._tell_no_proof(doc.uri, hole, result)
            return summary(result)

        return await with_progress(self.editor.progress, "lean-sidecar: searching a proof", work)

    def _tell_no_proof(self, uri: str, hole: Hole, result: HoleResult) -> None:
        """A search the user started that ends without a proof says so, once, naming the hole
        and why: every editor shows ``window/showMessage`` (a progress bar's last message may
        never be seen). A refuted goal and a failed search were told already by search_hole
        (once per hole, and once per cause), and a cancelled one was the user's doing."""
        if result.found or result.status in (
            HoleStatus.SOLVED,
            HoleStatus.REFUTED,
            HoleStatus.ERROR,
            HoleStatus.CANCELLED,
        ):
            return
        where = f"{_file_name(uri)}:{hole.range.start.line + 1}:{hole.range.start.character + 1}"
        self.editor.show_message(
            types.MessageType.Info,
            f"lean-sidecar: no proof of the sorry at {where}: {self._why_unsolved(result)}",
        )

    def _why_unsolved(self, result: HoleResult) -> str:
        if result.error:
            return result.error  # refused: the reason the edit was refused
        engine = self.engines.current()
        if engine is not None and engine.endpoint is None:
            why = "no tactic closed it, and no prover endpoint is set (setting `endpoints`)"
        else:
            spent = f"{result.samples} model samples, {result.seconds:.1f} s"
            why = f"not solved within the search budget ({spent})"
        if result.partial is not None:
            n = result.partial.sorries_left
            why += f"; a proof sketch with {n} {'sorry' if n == 1 else 'sorries'} left is offered"
        return why

    async def cmd_fill_all(self, args: Mapping[str, object]) -> JsonObject:
        doc, snap = await self._snapshot(CommandArgs.read(args).document, COMMAND_WAIT)
        holes = [h for h in snap.holes if h.kind == "sorry"]

        async def work(token: str | None) -> JsonObject:
            fills: list[tuple[Hole, Found]] = []
            rows: list[JsonObject] = []
            for i, hole in enumerate(holes):
                if token is not None:
                    self.editor.progress.report(
                        token,
                        types.WorkDoneProgressReport(
                            message=f"hole {i + 1}/{len(holes)}",
                            percentage=int(100 * i / max(1, len(holes))),
                        ),
                    )
                result = await self.search_hole(doc, snap, hole, None)
                rows.append({"line": hole.range.start.line, **summary(result)})
                if result.found:
                    fills.append((hole, result.found[0]))
            edits = ca.checked_edits(snap, fills, rows)
            errors = [str(r["error"]) for r in rows if r.get("error")]
            applied = False
            if edits:
                if doc.version != snap.version:
                    return {
                        "applied": False,
                        "reason": "the document changed during the search",
                        "holes": rows,
                        "errors": errors,
                    }
                applied = await self.editor.apply_edit(
                    types.ApplyWorkspaceEditParams(
                        edit=types.WorkspaceEdit(
                            document_changes=[ca.versioned_edit(doc.uri, snap.version, edits)]
                        ),
                        label="lean-sidecar: fill sorries",
                    )
                )
            filled = sum(1 for r in rows if r["found"]) if edits else 0
            return {"applied": applied, "filled": filled, "holes": rows, "errors": errors}

        return await with_progress(self.editor.progress, "lean-sidecar: filling every sorry", work)

    def cmd_cancel(self, args: Mapping[str, object]) -> JsonObject:
        uri = CommandArgs.read(args).uri
        return {"cancelled": self.tasks.cancel(lambda k: is_hole_task(k, HoleWork.SEARCH, uri))}

    async def cmd_check_endpoint(self) -> JsonObject:
        """The endpoint's health, for the editor's status bar (never the API key)."""
        engine = await self.engines.engine()
        if engine.endpoint is None:
            return {"configured": False}
        try:
            url = await engine.endpoint.healthy()
            models = await engine.endpoint.check(url)
        except EndpointError as exc:
            return {"configured": True, "error": str(exc)}
        return {"configured": True, "endpoint": url, "models": models}

    def cmd_trace(self, args: Mapping[str, object]) -> JsonObject:
        given = CommandArgs.read(args)
        uri = given.document
        doc = self.documents.get(uri)
        if doc is None or doc.snapshot is None:
            raise ContentModified(f"document is not open: {uri}")
        hole = ca.hole_at(doc.snapshot, given.line, given.character)
        result = self.results.traces.get((uri, doc.snapshot.version, hole.start))
        if result is None:
            return {"searched": False}
        return {
            "searched": True,
            **summary(result),
            "attempts": [a.to_json() for a in result.attempts],
        }


def _file_name(uri: str) -> str:
    """The file's name in a document URI (``file:///p/Fill.lean`` -> ``Fill.lean``)."""
    return unquote(urlparse(uri).path).rsplit("/", 1)[-1] or uri
