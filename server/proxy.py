"""The pass-through between the editor and Lean's server, and the survival of Lean's crashes."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from lean_bridge.framing import Message
from lean_bridge.holes import TextModel, collect_holes
from lean_bridge.positions import Pos
from lean_bridge.upstream import LeanUpstream, UpstreamError, default_upstream_command
from lean_sidecar.capabilities import merge_capabilities
from lean_sidecar.documents import DocState, HoleSnapshot

if TYPE_CHECKING:
    from lean_sidecar.app import SidecarServer

log = logging.getLogger(__name__)

REQUEST_FAILED = -32803
REQUEST_CANCELLED = -32800
GOAL_TIMEOUT = 30.0
Merge = Callable[[Message | None, Any], Any]


@dataclass
class Forwarded:
    editor_id: Any
    method: str
    result: asyncio.Future[Message] | None = None  # set when the sidecar merges the answer


class Proxy:
    def __init__(self, server: SidecarServer) -> None:
        self.server = server
        self.upstream: LeanUpstream | None = None
        self.init_params: Message | None = None
        self.lean_capabilities: Message = {}
        self._forwarded: dict[int, Forwarded] = {}
        self._editor_ids: dict[Any, int] = {}
        self._lean_requests: dict[str, Any] = {}
        self._lean_ids = itertools.count(1)
        self._merges: dict[Any, asyncio.Task[None]] = {}
        self._shutting_down = False
        self._restarts = 0
        self._started_at = 0.0
        self.restart_count = 0
        self.ready = asyncio.Event()
        self.start_error: str | None = None  # why Lean's server is not running, if it is not

    # ---- editor -> Lean -------------------------------------------------------------------
    def is_lean_request_id(self, msg_id: Any) -> bool:
        return isinstance(msg_id, str) and msg_id in self._lean_requests

    def from_editor(self, raw: Message, structured: Any) -> None:
        method = raw.get("method")
        if method is None:
            self._answer_to_lean(raw)
        elif method == "initialize":
            self._spawn(self._initialize(raw, structured))
        elif method in ("textDocument/codeAction", "textDocument/hover"):
            if self.server.answers(method):
                self._merge_request(raw, structured)
            else:
                self._forward(raw)
        elif method == "codeAction/resolve" and self.server.owns_action(raw.get("params")):
            self.server.protocol.handle_structured(structured)
        elif method == "$/cancelRequest":
            self._cancel(raw, structured)
        elif method == "shutdown":
            self._shutting_down = True
            self.server.protocol.handle_structured(structured)
        elif method == "exit":
            self.server.protocol.handle_structured(structured)
        else:
            if method == "initialized":
                self._spawn(self._after_ready(lambda: self._send_upstream(raw)))
            else:
                self._forward(raw)
            self.server.protocol.handle_structured(structured)
            if method.startswith("textDocument/did"):
                self._document_event(method, raw.get("params") or {})

    def _forward(self, raw: Message, result: asyncio.Future[Message] | None = None) -> None:
        if "id" not in raw:
            self._send_upstream(raw)
            return
        editor_id = raw["id"]
        if self.upstream is None or not self.upstream.alive:
            self._fail_editor_request(
                editor_id, "Lean's server is not running (restarting)", result
            )
            return
        upstream_id = self.upstream.next_id()
        self._forwarded[upstream_id] = Forwarded(editor_id, str(raw.get("method")), result)
        self._editor_ids[editor_id] = upstream_id
        self._send_upstream({**raw, "id": upstream_id})

    def _send_upstream(self, message: Message) -> None:
        if self.upstream is None or not self.upstream.alive:
            log.debug("Lean not running; dropped %s", message.get("method"))
            return
        try:
            self.upstream.send(message)
        except UpstreamError as exc:
            log.warning("could not send %s to Lean: %s", message.get("method"), exc)

    def _answer_to_lean(self, raw: Message) -> None:
        upstream_id = self._lean_requests.pop(str(raw.get("id")), None)
        if upstream_id is None:
            log.warning("answer to an unknown Lean request %r dropped", raw.get("id"))
            return
        self._send_upstream({**raw, "id": upstream_id})

    def _cancel(self, raw: Message, structured: Any) -> None:
        editor_id = (raw.get("params") or {}).get("id")
        task = self._merges.pop(editor_id, None)
        if task is not None:
            task.cancel()
        upstream_id = self._editor_ids.get(editor_id)
        if upstream_id is not None:
            self._send_upstream({**raw, "params": {"id": upstream_id}})
        else:
            self.server.protocol.handle_structured(structured)

    def _fail_editor_request(
        self,
        editor_id: Any,
        message: str,
        result: asyncio.Future[Message] | None = None,
        code: int = REQUEST_FAILED,
    ) -> None:
        error = {"jsonrpc": "2.0", "id": editor_id, "error": {"code": code, "message": message}}
        if result is not None:
            if not result.done():
                result.set_result(error)
        else:
            self.server.protocol.send_raw(error)

    # ---- merged requests ------------------------------------------------------------------
    def _merge_request(self, raw: Message, structured: Any) -> None:
        editor_id = raw.get("id")
        lean_answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._forward(raw, lean_answer)
        method = str(raw.get("method"))
        task = asyncio.ensure_future(self._merge(editor_id, method, structured, lean_answer))
        self._merges[editor_id] = task
        task.add_done_callback(lambda _t: self._merges.pop(editor_id, None))

    async def _merge(
        self, editor_id: Any, method: str, structured: Any, lean_answer: asyncio.Future[Message]
    ) -> None:
        try:
            params = getattr(structured, "params", None)
            try:
                ours = await self.server.own_answer(method, params)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the sidecar's %s failed; sending Lean's answer alone", method)
                ours = None
            answer = await lean_answer
            if "error" in answer and ours is None:
                self.server.protocol.send_raw({**answer, "id": editor_id})
                return
            lean_result = answer.get("result")
            merged = self.server.merge_answer(method, lean_result, ours)
            self.server.protocol.send_raw({"jsonrpc": "2.0", "id": editor_id, "result": merged})
        except asyncio.CancelledError:
            self.server.protocol.send_raw(
                {
                    "jsonrpc": "2.0",
                    "id": editor_id,
                    "error": {"code": REQUEST_CANCELLED, "message": "Request cancelled"},
                }
            )

    # ---- Lean -> editor -------------------------------------------------------------------
    def _from_lean(self, message: Message) -> None:
        method = message.get("method")
        if method is None:
            forwarded = self._forwarded.pop(message.get("id"), None)  # type: ignore[arg-type]
            if forwarded is None:
                log.debug("answer from Lean to an unknown request %r", message.get("id"))
                return
            self._editor_ids.pop(forwarded.editor_id, None)
            if forwarded.result is not None:
                if not forwarded.result.done():
                    forwarded.result.set_result(message)
                return
            self.server.protocol.send_raw({**message, "id": forwarded.editor_id})
            return
        if "id" in message:
            editor_id = f"lean:{next(self._lean_ids)}"
            self._lean_requests[editor_id] = message["id"]
            message = {**message, "id": editor_id}
        elif method == "textDocument/publishDiagnostics":
            self._on_diagnostics(message.get("params") or {})
        # `$/lean/fileProgress` passes through untouched: an empty report can come before the last
        # diagnostics (Lean >= 4.22), so the hole model waits on textDocument/waitForDiagnostics.
        self.server.protocol.send_raw(message)

    # ---- lifecycle ------------------------------------------------------------------------
    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(_log_task_failure)
        return task

    async def _after_ready(self, action: Callable[[], None]) -> None:
        await self.ready.wait()
        action()

    def upstream_command(self) -> tuple[list[str], str | None]:
        root = self.server.root_path()
        command = self.server.settings.upstream or default_upstream_command(root)
        return command, str(root) if root else None

    async def _start_upstream(self) -> Message:
        assert self.init_params is not None
        command, cwd = self.upstream_command()
        self.upstream = LeanUpstream(command, cwd, self._from_lean, self._on_upstream_exit)
        await self.upstream.start()
        self._started_at = time.monotonic()
        result = await self.upstream.request("initialize", self.init_params)
        return result if isinstance(result, dict) else {}

    async def _initialize(self, raw: Message, structured: Any) -> None:
        editor_id = raw.get("id")
        self.init_params = raw.get("params") or {}
        ours = self.server.initialize_self(
            structured.params if structured is not None else None, self.init_params
        )
        try:
            lean_result = await self._start_upstream()
            self.lean_capabilities = lean_result.get("capabilities") or {}
        except (UpstreamError, OSError) as exc:
            log.error("Lean's server did not start: %s", exc)
            self.start_error = f"Lean's server did not start: {exc}"
            lean_result = {}
            self.server.show_message(
                types.MessageType.Error,
                f"lean-sidecar: Lean's server did not start ({exc}). Proof search still works "
                "where a Lean REPL is configured.",
            )
        merged = merge_capabilities(lean_result, ours)
        self.server.protocol.send_raw({"jsonrpc": "2.0", "id": editor_id, "result": merged})
        self.ready.set()

    def _on_upstream_exit(self, code: int | None) -> None:
        for upstream_id, forwarded in list(self._forwarded.items()):
            self._fail_editor_request(
                forwarded.editor_id,
                f"Lean's server exited (code {code}); restarting it",
                forwarded.result,
            )
            self._forwarded.pop(upstream_id, None)
        self._editor_ids.clear()
        self._lean_requests.clear()
        if self._shutting_down or self.init_params is None:
            return
        self.ready.clear()
        lived = time.monotonic() - self._started_at
        if lived > 30:
            self._restarts = 0
        delay = min(30.0, 0.25 * (2**self._restarts))
        self._restarts += 1
        self.server.show_message(
            types.MessageType.Warning,
            f"lean-sidecar: Lean's server stopped (exit code {code}); "
            f"restarting it in {delay:.1f} s.",
        )
        self._spawn(self._restart(delay))

    async def _restart(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._shutting_down:
            return
        try:
            await self._start_upstream()
        except (UpstreamError, OSError) as exc:
            log.error("restarting Lean's server failed: %s", exc)
            self.start_error = f"Lean's server keeps failing to start: {exc}"
            return  # its exit callback schedules the next attempt
        self.start_error = None
        assert self.upstream is not None
        self.upstream.notify("initialized", {})
        self.restart_count += 1
        for doc in self.server.documents:
            text_doc = self.server.workspace.get_text_document(doc.uri)
            self.upstream.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": doc.uri,
                        "languageId": text_doc.language_id or "lean4",
                        "version": doc.version,
                        "text": text_doc.source,
                    },
                    "dependencyBuildMode": "never",
                },
            )
            doc.diagnostics.version = None
            self._schedule_refresh(doc)
        self.ready.set()
        log.info("Lean's server is back (restart %d)", self.restart_count)

    async def stop(self) -> None:
        self._shutting_down = True
        if self.upstream is not None:
            await self.upstream.stop()

    # ---- the hole model -------------------------------------------------------------------
    def _document_event(self, method: str, params: Message) -> None:
        text_document = params.get("textDocument") or {}
        uri = text_document.get("uri")
        if not isinstance(uri, str):
            return
        docs = self.server.documents
        if method == "textDocument/didClose":
            docs.close(uri)
            return
        if method == "textDocument/didSave":
            return
        version = text_document.get("version")
        if not isinstance(version, int):
            return
        if method == "textDocument/didOpen":
            doc = docs.open(uri, version)
        else:
            existing = docs.get(uri)
            if existing is None or not params.get("contentChanges"):
                return  # Lean ignores both too
            doc = existing
            doc.version = version
            self.server.on_change(uri, _first_changed_line(params.get("contentChanges") or []))
        self._schedule_refresh(doc)

    def _schedule_refresh(self, doc: DocState) -> None:
        if doc.refresh_task is not None:
            doc.refresh_task.cancel()
        text = self.server.workspace.get_text_document(doc.uri).source
        doc.refresh_task = self._spawn(self._refresh(doc, doc.version, text))

    async def wait_running(self, timeout: float) -> None:
        """Wait for Lean's server to be up; raise UpstreamError rather than wait forever."""
        if self.start_error is not None and not self.ready.is_set():
            raise UpstreamError(self.start_error, REQUEST_FAILED)
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except asyncio.TimeoutError:
            raise UpstreamError(
                self.start_error or "Lean's server is not running", REQUEST_FAILED
            ) from None
        if self.upstream is None or not self.upstream.alive:
            raise UpstreamError(self.start_error or "Lean's server is not running", REQUEST_FAILED)

    async def _refresh(self, doc: DocState, version: int, text: str) -> None:
        """Wait until Lean has finished ``version``, then ask it for the goal at every hole."""
        await self.ready.wait()
        upstream = self.upstream
        if upstream is None:
            return
        try:
            await upstream.request(
                "textDocument/waitForDiagnostics", {"uri": doc.uri, "version": version}
            )
        except UpstreamError as exc:
            log.info("waitForDiagnostics(%s, v%d) failed: %s", doc.uri, version, exc)
            return
        if doc.version != version:
            return
        limit = self.server.settings.max_document_mb
        if len(text) > limit * 1024 * 1024:
            doc.publish(
                HoleSnapshot(
                    version,
                    TextModel(""),
                    [],
                    error=(
                        f"document is {len(text) / 2**20:.1f} MB, over the "
                        f"max_document_mb limit of "
                        f"{limit:g} MB: lean-sidecar does not search it (Lean still checks it)"
                    ),
                )
            )
            return
        model = TextModel(text)

        async def plain_goal(pos: Pos) -> str | None:
            result = await self._goal_request("$/lean/plainGoal", doc.uri, pos)
            goals = result.get("goals") if isinstance(result, dict) else None
            return str(goals[0]) if goals else None

        async def term_goal(pos: Pos) -> str | None:
            result = await self._goal_request("$/lean/plainTermGoal", doc.uri, pos)
            return str(result["goal"]) if isinstance(result, dict) and "goal" in result else None

        holes = await collect_holes(
            model, doc.diagnostics.for_version(version), plain_goal, term_goal
        )
        if doc.version != version:
            return
        doc.publish(HoleSnapshot(version, model, holes, doc.diagnostics.stale_imports))
        self.server.on_holes(doc)

    async def _goal_request(self, method: str, uri: str, pos: Pos) -> Any:
        if self.upstream is None:
            return None
        try:
            return await self.upstream.request(
                method, {"textDocument": {"uri": uri}, "position": pos.to_lsp()}, GOAL_TIMEOUT
            )
        except (UpstreamError, asyncio.TimeoutError) as exc:
            log.info("%s at %s failed: %s", method, pos, exc)
            return None

    def _on_diagnostics(self, params: Message) -> None:
        uri = params.get("uri")
        doc = self.server.documents.get(uri) if isinstance(uri, str) else None
        if doc is not None:
            doc.diagnostics.apply(params)


def _first_changed_line(changes: list[Any]) -> int:
    """A lower bound of the first line an edit touched (a full replacement touches line 0)."""
    lines = []
    for change in changes:
        rng = change.get("range") if isinstance(change, dict) else None
        if not isinstance(rng, dict):
            return 0
        lines.append(int((rng.get("start") or {}).get("line", 0)))
    return min(lines, default=0)


def _log_task_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background task failed", exc_info=exc)
