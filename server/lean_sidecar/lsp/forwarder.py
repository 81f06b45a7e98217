"""The pass-through between the editor and Lean's server: id maps in both directions, cancel
translation, and the requests whose answers the sidecar merges with its own.

Hot path: Lean's messages go to the editor as raw JSON, re-numbered where they are requests;
nothing is structured that the sidecar does not read."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from lsprotocol import types

from lean_bridge.framing import Message
from lean_bridge.json_types import Json, as_object
from lean_bridge.upstream import UpstreamError
from lean_sidecar.lsp.capabilities import merge_capabilities
from lean_sidecar.lsp.errors import REQUEST_CANCELLED, REQUEST_FAILED, error_message
from lean_sidecar.lsp.lean_process import LeanProcess, UserNotice, not_started_message
from lean_sidecar.lsp.merged_methods import BY_NAME, MergedMethod
from lean_sidecar.lsp.tasks import MergeTask, TaskRegistry

log = logging.getLogger(__name__)


class EditorChannel(Protocol):
    """Where the forwarder writes to the editor, and hands what the sidecar itself handles."""

    def send_raw(self, message: Message) -> None: ...

    def handle_structured(self, structured: object) -> None: ...


class Answers(Protocol):
    """The features, seen from the forwarder: which requests they add to, and their answers."""

    def answers(self, method: MergedMethod) -> bool: ...

    def owns_action(self, action: Json) -> bool: ...

    async def own_answer(self, method: MergedMethod, params: object) -> Json: ...

    def merge_answer(self, method: MergedMethod, lean: Json, ours: Json) -> Json: ...


class DocumentEvents(Protocol):
    def document_event(self, method: str, params: Message) -> None: ...

    def on_diagnostics(self, params: Message) -> None: ...


@dataclass
class Forwarded:
    editor_id: Json
    method: str
    result: asyncio.Future[Message] | None = None  # set when the sidecar merges the answer


class Forwarder:
    def __init__(
        self,
        editor: EditorChannel,
        features: Answers,
        initialize_self: Callable[[types.InitializeParams | None, Message], Message],
        notice: UserNotice,
        tasks: TaskRegistry,
        lean: LeanProcess,
        documents: DocumentEvents,
    ) -> None:
        self.editor = editor
        self.features = features
        self._initialize_self = initialize_self
        self._notice = notice
        self._tasks = tasks
        self.documents = documents
        self.lean = lean
        lean.on_exit.append(self._lean_exited)
        self.lean_capabilities: Message = {}
        self._forwarded: dict[int, Forwarded] = {}
        self._editor_ids: dict[Json, int] = {}
        self._lean_requests: dict[str, Json] = {}  # our id of a request from Lean -> Lean's
        self._lean_ids = itertools.count(1)

    @property
    def init_params(self) -> Message | None:
        return self.lean.init_params if self.lean is not None else None

    # ---- editor -> Lean -------------------------------------------------------------------
    def is_lean_request_id(self, msg_id: Json) -> bool:
        return isinstance(msg_id, str) and msg_id in self._lean_requests

    def from_editor(self, raw: Message, structured: object) -> None:
        # The protocol routes requests and notifications by their method, a string, and answers
        # (no method) by id; a stray non-string method on an answer fails below as it always did.
        method = cast("str | None", raw.get("method"))
        if method is None:
            self._answer_to_lean(raw)
        elif method == "initialize":
            self._tasks.spawn(self._initialize(raw, structured))
        elif (merged := BY_NAME.get(method)) is not None:
            if self.features.answers(merged):
                self._merge_request(raw, structured, merged)
            else:
                self._forward(raw)
        elif method == "codeAction/resolve" and self.features.owns_action(raw.get("params")):
            self.editor.handle_structured(structured)
        elif method == "$/cancelRequest":
            self._cancel(raw, structured)
        elif method == "shutdown":
            self._lean_process().shutting_down = True
            self.editor.handle_structured(structured)
        elif method == "exit":
            self.editor.handle_structured(structured)
        else:
            if method == "initialized":
                self._tasks.spawn(self._after_ready(raw))
            else:
                self._forward(raw)
            self.editor.handle_structured(structured)
            if method.startswith("textDocument/did") and self.documents is not None:
                # the params of textDocument/did*: an object, as LSP says
                self.documents.document_event(method, as_object(raw.get("params")))

    def _lean_process(self) -> LeanProcess:
        assert self.lean is not None, "the composition root attaches Lean's process"
        return self.lean

    def _forward(self, raw: Message, result: asyncio.Future[Message] | None = None) -> None:
        lean = self._lean_process()
        if "id" not in raw:
            lean.send(raw)
            return
        editor_id = raw["id"]
        if not lean.alive:
            self._fail(editor_id, lean.down_reason(), result)
            return
        upstream_id = lean.next_id()
        self._forwarded[upstream_id] = Forwarded(editor_id, str(raw.get("method")), result)
        self._editor_ids[editor_id] = upstream_id
        lean.send({**raw, "id": upstream_id})

    def _answer_to_lean(self, raw: Message) -> None:
        upstream_id = self._lean_requests.pop(str(raw.get("id")), None)
        if upstream_id is None:
            log.warning("answer to an unknown Lean request %r dropped", raw.get("id"))
            return
        self._lean_process().send({**raw, "id": upstream_id})

    def _cancel(self, raw: Message, structured: object) -> None:
        editor_id = as_object(raw.get("params")).get("id")  # CancelParams: an object
        self._tasks.cancel(lambda key: key == MergeTask(editor_id))
        upstream_id = self._editor_ids.get(editor_id)
        if upstream_id is not None:
            self._lean_process().send({**raw, "params": {"id": upstream_id}})
        else:
            self.editor.handle_structured(structured)

    def _fail(
        self, editor_id: Json, message: str, result: asyncio.Future[Message] | None = None
    ) -> None:
        error = error_message(editor_id, REQUEST_FAILED, message)
        if result is not None:
            if not result.done():
                result.set_result(error)
        else:
            self.editor.send_raw(error)

    # ---- merged requests ------------------------------------------------------------------
    def _merge_request(self, raw: Message, structured: object, method: MergedMethod) -> None:
        editor_id = raw.get("id")
        lean_answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._forward(raw, lean_answer)
        self._tasks.spawn(
            self._merge(editor_id, method, structured, lean_answer), MergeTask(editor_id)
        )

    async def _merge(
        self,
        editor_id: Json,
        method: MergedMethod,
        structured: object,
        lean_answer: asyncio.Future[Message],
    ) -> None:
        try:
            params = getattr(structured, "params", None)
            try:
                ours = await self.features.own_answer(method, params)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the sidecar's %s failed; sending Lean's answer alone", method.name)
                ours = None
            answer = await lean_answer
            if "error" in answer and ours is None:
                self.editor.send_raw({**answer, "id": editor_id})
                return
            merged = self.features.merge_answer(method, answer.get("result"), ours)
            self.editor.send_raw({"jsonrpc": "2.0", "id": editor_id, "result": merged})
        except asyncio.CancelledError:
            self.editor.send_raw(error_message(editor_id, REQUEST_CANCELLED, "Request cancelled"))

    # ---- Lean -> editor -------------------------------------------------------------------
    def from_lean(self, message: Message) -> None:
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
            self.editor.send_raw({**message, "id": forwarded.editor_id})
            return
        if "id" in message:
            editor_id = f"lean:{next(self._lean_ids)}"
            self._lean_requests[editor_id] = message["id"]
            message = {**message, "id": editor_id}
        elif method == "textDocument/publishDiagnostics" and self.documents is not None:
            # PublishDiagnosticsParams: an object, as LSP says
            self.documents.on_diagnostics(as_object(message.get("params")))
        # `$/lean/fileProgress` passes through untouched: an empty report can come before the last
        # diagnostics (Lean >= 4.22), so the hole model waits on textDocument/waitForDiagnostics.
        self.editor.send_raw(message)

    # ---- lifecycle ------------------------------------------------------------------------
    async def _after_ready(self, raw: Message) -> None:
        lean = self._lean_process()
        await lean.ready.wait()
        lean.send(raw)

    async def _initialize(self, raw: Message, structured: object) -> None:
        lean = self._lean_process()
        editor_id = raw.get("id")
        lean.init_params = as_object(raw.get("params"))  # InitializeParams: an object
        # pygls structures `initialize` as an InitializeRequest; an Invalid one (params pygls
        # could not read) has no ``params`` and fails here, as it always did.
        request = cast(types.InitializeRequest, structured)
        ours = self._initialize_self(
            request.params if structured is not None else None, lean.init_params
        )
        try:
            lean_result = await lean.start()
            # InitializeResult.capabilities: an object, as LSP says
            self.lean_capabilities = as_object(lean_result.get("capabilities"))
        except (UpstreamError, OSError) as exc:
            log.error("Lean's server did not start: %s", exc)
            lean.start_error = not_started_message(exc)
            lean_result = {}
            self._notice(types.MessageType.Error, f"lean-sidecar: {lean.start_error}")
        merged = merge_capabilities(lean_result, ours)
        self.editor.send_raw({"jsonrpc": "2.0", "id": editor_id, "result": merged})
        lean.ready.set()

    def _lean_exited(self, code: int | None) -> None:
        for upstream_id, forwarded in list(self._forwarded.items()):
            self._fail(
                forwarded.editor_id,
                f"Lean's server exited (code {code}); restarting it",
                forwarded.result,
            )
            self._forwarded.pop(upstream_id, None)
        self._editor_ids.clear()
        self._lean_requests.clear()
