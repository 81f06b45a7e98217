"""Fill sorry: search a hole (work-done progress, cancellable), then offer Lean-verified proofs
as quick fixes whose edits are pinned to the document version they were computed for."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lean_bridge.hole_fill import HoleMode, replacement
from lean_bridge.holes import Hole
from lean_bridge.repl_pool import ReplPool, ReplUnavailable
from lean_bridge.verifier import HoleSite, Verifier
from lean_sidecar.documents import DocState, HoleSnapshot
from lean_sidecar.prover.endpoint import EndpointError, client_from
from lean_sidecar.prover.task import build_task
from lean_sidecar.search.cache import ProofCache, context_hash
from lean_sidecar.search.engine import Found, HoleResult, Partial, SearchEngine

if TYPE_CHECKING:
    from lean_sidecar.app import SidecarServer

log = logging.getLogger(__name__)
SEARCH = "leanSidecar.searchProof"
FILL_ALL = "leanSidecar.fillAll"
CANCEL = "leanSidecar.cancelSearch"
TRACE = "leanSidecar.trace"
CHECK_ENDPOINT = "leanSidecar.checkEndpoint"
CONTENT_MODIFIED = -32801
REQUEST_FAILED = -32803


class _Error(JsonRpcException):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class HoleKey:
    uri: str
    version: int
    start: int  # offset of the hole in that version's text

    def as_tuple(self) -> tuple[str, int, int]:
        return (self.uri, self.version, self.start)


@dataclass
class DocResults:
    found: dict[tuple[str, int, int], list[Found]] = field(default_factory=dict)
    traces: dict[tuple[str, int, int], HoleResult] = field(default_factory=dict)
    partial: dict[tuple[str, int, int], Partial] = field(default_factory=dict)


def _intersects(hole: Hole, rng: types.Range) -> bool:
    start = (rng.start.line, rng.start.character)
    end = (rng.end.line, rng.end.character)
    h0 = (hole.range.start.line, hole.range.start.character)
    h1 = (hole.range.end.line, hole.range.end.character)
    return h0 <= end and start <= h1


class ProofSearch:
    methods = ("textDocument/codeAction",)

    def __init__(self, server: SidecarServer) -> None:
        self.server = server
        self.results = DocResults()
        self.running: dict[tuple[str, int, int], asyncio.Task[HoleResult]] = {}
        self._running_decl_end: dict[tuple[str, int, int], int] = {}  # last line of the declaration
        self._engine: SearchEngine | None = None
        self._pool: ReplPool | None = None
        self._setup_error: str | None = None
        self._setup_lock = asyncio.Lock()

    # ---- infrastructure, built on first use --------------------------------------------------
    async def engine(self) -> SearchEngine:
        async with self._setup_lock:
            if self._engine is not None:
                return self._engine
            s = self.server.settings
            verifier = None
            root = self.server.root_path()
            project = root if root and (root / "lean-toolchain").exists() else None
            pool = ReplPool(s.repl(project))
            try:
                await pool.start()
                verifier = Verifier(pool, allow_native_decide=s.allow_native_decide)
                self._pool = pool
            except ReplUnavailable as exc:
                self._setup_error = str(exc)
                self.server.show_message(types.MessageType.Error, f"lean-sidecar: {exc}")
            self._engine = SearchEngine(s, verifier, client_from(s), ProofCache(s.cache_path))
            return self._engine

    async def settings_changed(self) -> None:
        """New settings take effect with the next search: the engine is rebuilt lazily."""
        async with self._setup_lock:
            await self.close()
            self._engine, self._pool, self._setup_error = None, None, None

    async def close(self) -> None:
        for task in self.running.values():
            task.cancel()
        if self._engine is not None:
            if self._engine.endpoint is not None:
                await self._engine.endpoint.close()
            if self._engine.cache is not None:
                self._engine.cache.close()
        if self._pool is not None:
            await self._pool.close()

    # ---- holes -------------------------------------------------------------------------------
    def _snapshot(self, uri: str) -> tuple[DocState, HoleSnapshot]:
        doc = self.server.documents.get(uri)
        if doc is None:
            raise _Error(CONTENT_MODIFIED, f"document is not open: {uri}")
        snap = doc.snapshot
        if snap is None or snap.version != doc.version:
            raise _Error(CONTENT_MODIFIED, "Lean has not finished this version yet; try again")
        return doc, snap

    @staticmethod
    def _site(snap: HoleSnapshot, hole: Hole) -> HoleSite:
        model = snap.model
        decl = model.declaration_at(hole.start)
        if decl is None:
            raise _Error(REQUEST_FAILED, "this sorry is not inside a declaration")
        others = tuple(
            (h.start, h.end)
            for h in snap.holes
            if h.kind == "sorry" and h is not hole and decl.start <= h.start <= decl.end
        )
        mode: HoleMode = "term" if hole.mode == "term" else "tactic"
        return HoleSite(model.text, decl, hole.start, hole.end, mode, others)

    def _hole_at(self, snap: HoleSnapshot, line: int, character: int) -> Hole:
        for h in snap.holes:
            if (
                h.kind == "sorry"
                and h.range.start.line == line
                and (h.range.start.character <= character <= h.range.end.character)
            ):
                return h
        raise _Error(REQUEST_FAILED, f"no sorry at {line + 1}:{character + 1}")

    def on_holes(self, doc: DocState) -> None:
        """A new version is ready: re-offer cached proofs whose context did not change."""
        snap = doc.snapshot
        engine = self._engine
        if snap is None or engine is None or engine.cache is None:
            return
        for hole in snap.holes:
            if hole.kind != "sorry":
                continue
            try:
                site = self._site(snap, hole)
            except _Error:
                continue
            ctx = context_hash(site.text[: site.decl.start], site.decl.statement(site.text))
            hit = engine.cache.get(hole.goal, ctx, engine.model_name)
            if hit is not None:
                self.results.found[(doc.uri, snap.version, hole.start)] = [
                    Found(hit[0], "cache", 0.0)
                ]

    # ---- code actions ------------------------------------------------------------------------
    async def answer(self, method: str, params: Any) -> list[types.CodeAction] | None:
        if method != "textDocument/codeAction" or params is None:
            return None
        try:
            doc, snap = self._snapshot(params.text_document.uri)
        except _Error:
            return None
        actions: list[types.CodeAction] = []
        holes = [h for h in snap.holes if h.kind == "sorry" and _intersects(h, params.range)]
        for hole in holes:
            key = (doc.uri, snap.version, hole.start)
            found = self.results.found.get(key, [])
            for i, f in enumerate(found):
                actions.append(self._fill_action(doc.uri, snap, hole, f, preferred=i == 0))
            partial = self.results.partial.get(key)
            if not found and partial is not None:
                n = partial.sorries_left
                actions.append(
                    types.CodeAction(
                        title=f"Insert proof sketch ({n} {'sorry' if n == 1 else 'sorries'} left)"
                        " — partial",
                        kind=types.CodeActionKind.RefactorRewrite,
                        edit=types.WorkspaceEdit(
                            document_changes=[self._edit(doc.uri, snap, hole, partial.script)]
                        ),
                        data={"leanSidecar": {"partial": n}},
                    )
                )
            if not found:
                running = key in self.running
                title = "Searching a proof… (cancel)" if running else "Search proof for this sorry"
                command = CANCEL if running else SEARCH
                actions.append(
                    types.CodeAction(
                        title=title,
                        kind=types.CodeActionKind.QuickFix,
                        data={"leanSidecar": {"command": command}},
                        command=types.Command(
                            title=title,
                            command=command,
                            arguments=[
                                {
                                    "uri": doc.uri,
                                    "version": snap.version,
                                    "position": hole.range.start.to_lsp(),
                                }
                            ],
                        ),
                    )
                )
        if any(h.kind == "sorry" for h in snap.holes):
            actions.append(
                types.CodeAction(
                    title="Fill every sorry in this file (lean-sidecar)",
                    kind=types.CodeActionKind.Source,
                    data={"leanSidecar": {"command": FILL_ALL}},
                    command=types.Command(
                        title="Fill every sorry",
                        command=FILL_ALL,
                        arguments=[{"uri": doc.uri, "version": snap.version}],
                    ),
                )
            )
        return actions

    def _edit(
        self, uri: str, snap: HoleSnapshot, hole: Hole, script: str
    ) -> types.TextDocumentEdit:
        site = self._site(snap, hole)
        a, b, new_text = replacement(site.text, hole.start, hole.end, script, site.mode)
        start, end = snap.model.index.pos(a), snap.model.index.pos(b)
        rng = types.Range(
            types.Position(start.line, start.character), types.Position(end.line, end.character)
        )
        return types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(
                uri=uri, version=snap.version
            ),
            edits=[types.TextEdit(range=rng, new_text=new_text)],
        )

    def _fill_action(
        self, uri: str, snap: HoleSnapshot, hole: Hole, found: Found, preferred: bool
    ) -> types.CodeAction:
        first_line = found.script.strip().split("\n")[0]
        return types.CodeAction(
            title=f"Fill sorry: {first_line}",
            kind=types.CodeActionKind.QuickFix,
            is_preferred=preferred,
            edit=types.WorkspaceEdit(document_changes=[self._edit(uri, snap, hole, found.script)]),
            data={"leanSidecar": {"how": found.how}},
        )

    # ---- commands ----------------------------------------------------------------------------
    async def search_hole(
        self, doc: DocState, snap: HoleSnapshot, hole: Hole, token: str | None = None
    ) -> HoleResult:
        key = (doc.uri, snap.version, hole.start)
        if key in self.running:
            return await asyncio.shield(self.running[key])
        engine = await self.engine()
        site = self._site(snap, hole)
        task_spec = build_task(snap.model, site.decl, hole.start, hole.end, hole.goal)

        async def on_found(found: Found) -> None:
            self.results.found.setdefault(key, []).append(found)
            if doc.version != snap.version:
                self.on_holes(doc)  # edited meanwhile: re-offer where the context is unchanged
            await self._refresh()

        def progress(message: str) -> None:
            if token is not None:
                self.server.work_done_progress.report(
                    token, types.WorkDoneProgressReport(message=message)
                )

        task = asyncio.ensure_future(engine.search(site, hole.goal, task_spec, on_found, progress))
        self.running[key] = task
        self._running_decl_end[key] = snap.model.index.pos(site.decl.end).line
        try:
            result = await task
        finally:
            self.running.pop(key, None)
            self._running_decl_end.pop(key, None)
        self.results.traces[key] = result
        if not result.found and result.partial is not None:
            self.results.partial[key] = result.partial
            await self._refresh()
        return result

    def _client_refreshes_code_actions(self) -> bool:
        """``workspace/codeAction/refresh`` is not in LSP 3.17: only clients that say so get it
        (the 3.18 draft's ``workspace.codeAction.refreshSupport``, or ``experimental``)."""
        caps = (self.server.proxy.init_params or {}).get("capabilities") or {}
        ws = caps.get("workspace") or {}
        exp = caps.get("experimental") or {}
        return bool(
            (ws.get("codeAction") or {}).get("refreshSupport") or exp.get("codeActionRefresh")
        )

    async def _refresh(self) -> None:
        if self._client_refreshes_code_actions():
            try:
                await asyncio.wait_for(
                    self.server.protocol.send_request_async("workspace/codeAction/refresh", None), 5
                )
            except Exception as exc:  # an editor without refresh support is fine
                log.debug("codeAction/refresh: %s", exc)

    async def with_progress(self, title: str, work: Any) -> Any:
        token = str(uuid.uuid4())
        try:
            await asyncio.wait_for(self.server.work_done_progress.create_async(token), 5)
        except Exception:
            token_ok = False
        else:
            token_ok = True
        task = asyncio.ensure_future(work(token if token_ok else None))
        if token_ok:
            self.server.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
            )
            cancel = self.server.work_done_progress.tokens.get(token)
            if cancel is not None:
                cancel.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        message = "done"
        try:
            result = await task
            found = [f for f in (result.get("found") or [])] if isinstance(result, dict) else []
            if found:
                message = f"verified proof: {found[0]['proof'].splitlines()[0]} (use the quick fix)"
            elif isinstance(result, dict) and "filled" in result:
                message = f"filled {result['filled']} of {len(result.get('holes') or [])} holes"
            elif isinstance(result, dict):
                message = f"no proof found ({result.get('status')})"
            return result
        except asyncio.CancelledError:
            message = "cancelled"
            return {"status": "cancelled"}
        finally:
            if token_ok:
                self.server.work_done_progress.end(
                    token, types.WorkDoneProgressEnd(message=message)
                )

    async def cmd_search(self, args: dict[str, Any]) -> dict[str, Any]:
        doc, snap = self._snapshot(str(args.get("uri")))
        if args.get("version") not in (None, snap.version):
            raise _Error(CONTENT_MODIFIED, "the document changed since this action was offered")
        pos = args.get("position") or {}
        hole = self._hole_at(snap, int(pos.get("line", -1)), int(pos.get("character", -1)))

        async def work(token: str | None) -> dict[str, Any]:
            result = await self.search_hole(doc, snap, hole, token)
            return _summary(result)

        return cast(
            dict[str, Any], await self.with_progress("lean-sidecar: searching a proof", work)
        )

    async def cmd_fill_all(self, args: dict[str, Any]) -> dict[str, Any]:
        doc, snap = self._snapshot(str(args.get("uri")))
        holes = [h for h in snap.holes if h.kind == "sorry"]

        async def work(token: str | None) -> dict[str, Any]:
            edits = []
            summary = []
            for i, hole in enumerate(holes):
                if token is not None:
                    self.server.work_done_progress.report(
                        token,
                        types.WorkDoneProgressReport(
                            message=f"hole {i + 1}/{len(holes)}",
                            percentage=int(100 * i / max(1, len(holes))),
                        ),
                    )
                result = await self.search_hole(doc, snap, hole, None)
                summary.append({"line": hole.range.start.line, **_summary(result)})
                if result.found:
                    edits.append(self._edit(doc.uri, snap, hole, result.found[0].script).edits[0])
            applied = False
            if edits:
                if doc.version != snap.version:
                    return {
                        "applied": False,
                        "reason": "the document changed during the search",
                        "holes": summary,
                    }
                res = await self.server.workspace_apply_edit_async(
                    types.ApplyWorkspaceEditParams(
                        edit=types.WorkspaceEdit(
                            document_changes=[
                                types.TextDocumentEdit(
                                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                                        uri=doc.uri, version=snap.version
                                    ),
                                    edits=edits,
                                )
                            ]
                        ),
                        label="lean-sidecar: fill sorries",
                    )
                )
                applied = bool(res.applied)
            return {"applied": applied, "filled": len(edits), "holes": summary}

        return cast(
            dict[str, Any], await self.with_progress("lean-sidecar: filling every sorry", work)
        )

    def on_change(self, uri: str, first_line: int) -> None:
        """An edit at or above a hole's declaration changes what Lean would check: its search
        is cancelled, which closes its HTTP streams so the GPU stops. Edits below it do not
        matter to the proof, and its result will be re-offered from the cache."""
        for key, task in list(self.running.items()):
            if key[0] == uri and first_line <= self._running_decl_end.get(key, 0):
                task.cancel()

    def cmd_cancel(self, args: dict[str, Any]) -> dict[str, Any]:
        uri = args.get("uri")
        cancelled = 0
        for key, task in list(self.running.items()):
            if uri in (None, key[0]):
                task.cancel()
                cancelled += 1
        return {"cancelled": cancelled}

    async def cmd_check_endpoint(self) -> dict[str, Any]:
        """The endpoint's health, for the editor's status bar (never the API key)."""
        engine = await self.engine()
        if engine.endpoint is None:
            return {"configured": False}
        try:
            url = await engine.endpoint.healthy()
            models = await engine.endpoint.check(url)
        except EndpointError as exc:
            return {"configured": True, "error": str(exc)}
        return {"configured": True, "endpoint": url, "models": models}

    def cmd_trace(self, args: dict[str, Any]) -> dict[str, Any]:
        uri = str(args.get("uri"))
        pos = args.get("position") or {}
        doc = self.server.documents.get(uri)
        if doc is None or doc.snapshot is None:
            raise _Error(CONTENT_MODIFIED, f"document is not open: {uri}")
        hole = self._hole_at(doc.snapshot, int(pos.get("line", -1)), int(pos.get("character", -1)))
        result = self.results.traces.get((uri, doc.snapshot.version, hole.start))
        if result is None:
            return {"searched": False}
        return {
            "searched": True,
            **_summary(result),
            "attempts": [a.to_json() for a in result.attempts],
        }


def _summary(result: HoleResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "error": result.error,
        "samples": result.samples,
        "seconds": round(result.seconds, 3),
        "found": [
            {"proof": f.script, "how": f.how, "seconds": round(f.seconds, 3)} for f in result.found
        ],
    }


def register(server: SidecarServer) -> None:
    feature = ProofSearch(server)
    server.features.append(feature)

    def first_arg(args: tuple[Any, ...]) -> dict[str, Any]:
        from lean_sidecar.app import as_dict

        arg = args[0] if args else {}
        return arg if isinstance(arg, dict) else as_dict(arg)

    @server.feature(types.CODE_ACTION_RESOLVE)
    def resolve(ls: Any, action: types.CodeAction) -> types.CodeAction:
        """The sidecar's actions are complete when offered; resolving returns them as they are."""
        return action

    @server.command(CHECK_ENDPOINT)
    async def check_endpoint(ls: Any, *args: Any) -> dict[str, Any]:
        return await feature.cmd_check_endpoint()

    @server.command(SEARCH)
    async def search(ls: Any, *args: Any) -> dict[str, Any]:
        return await feature.cmd_search(first_arg(args))

    @server.command(FILL_ALL)
    async def fill_all(ls: Any, *args: Any) -> dict[str, Any]:
        return await feature.cmd_fill_all(first_arg(args))

    @server.command(CANCEL)
    def cancel(ls: Any, *args: Any) -> dict[str, Any]:
        return feature.cmd_cancel(first_arg(args))

    @server.command(TRACE)
    def trace(ls: Any, *args: Any) -> dict[str, Any]:
        return feature.cmd_trace(first_arg(args))
