"""A pygls protocol that forwards Lean's traffic as raw JSON and structures only what the
sidecar itself handles (lsprotocol's converters would drop Lean's extension fields)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from cattrs import Converter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import RPCMessage

from lean_bridge.compat import (
    DoneCallback,
    MsgId,
    Pending,
    ProtocolHooks,
    is_shut_down,
    request_futures,
)
from lean_bridge.framing import dumps, frame, loads
from lean_bridge.json_types import Json, JsonObject
from lean_sidecar.lsp.errors import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    error_message,
)
from lean_sidecar.lsp.merged_methods import MERGED_METHODS
from lean_sidecar.lsp.tasks import RequestTask, TaskRegistry, is_request_task

log = logging.getLogger(__name__)

# Handled by the sidecar alone (pygls structures them, Lean never sees them).
OWN_METHODS = frozenset(
    {
        "workspace/executeCommand",
        "workspace/didChangeConfiguration",
        "window/workDoneProgress/cancel",
        "$/setTrace",
        "$/progress",
    }
)
OWN_PREFIX = "leanSidecar/"
# Seen by both: forwarded raw to Lean and structured for the sidecar's own use. Everything else
# (``textDocument/didSave`` included: the sidecar keeps the text from didOpen/didChange) is only
# forwarded, never handed to pygls, which would log each as an unknown method.
SHARED_METHODS = frozenset(
    {
        "initialize",
        "initialized",
        "shutdown",
        "exit",
        "textDocument/didOpen",
        "textDocument/didChange",
        "textDocument/didClose",
        "codeAction/resolve",
        "$/cancelRequest",
        *(m.name for m in MERGED_METHODS),  # the sidecar adds its answer to Lean's
    }
)


class Router(Protocol):
    """Where editor messages that Lean must see go (lean_sidecar.lsp.forwarder.Forwarder)."""

    def is_lean_request_id(self, msg_id: Json) -> bool: ...

    def from_editor(self, raw: JsonObject, structured: object) -> None: ...


@dataclass
class Routed:
    """An editor message that the proxy routes; ``structured`` is set when pygls needs it."""

    raw: JsonObject
    structured: object = None
    jsonrpc: str = "2.0"


@dataclass
class Invalid:
    """A request whose params could not be structured: it still deserves an error answer."""

    raw: JsonObject
    error: Exception
    jsonrpc: str = "2.0"


_ID = re.compile(rb'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')


def readable_id(body: bytes) -> Json:
    """The id of a message that could not be parsed, where one can still be read (else None)."""
    match = _ID.search(body)
    if match is None:
        return None
    try:
        return loads(match.group(1))
    except ValueError:
        return None


class Wiring(Protocol):
    """What the protocol needs of the server that pygls constructs it for (``SidecarServer``):
    the task registry, and where editor messages Lean must see go. The router is reached
    through the server because pygls builds the protocol before the router can exist."""

    @property
    def tasks(self) -> TaskRegistry: ...

    def router(self) -> Router: ...


class SidecarProtocol(ProtocolHooks, LanguageServerProtocol):
    def __init__(self, server: LanguageServer, converter: Converter) -> None:
        wiring = cast(Wiring, server)  # pygls passes the server that owns this protocol
        self._wiring = wiring
        self.tasks: TaskRegistry = wiring.tasks
        super().__init__(server, converter)

    # ---- reading: one parse per message ---------------------------------------------------
    def receive_body(self, body: bytes) -> None:
        """Handle one frame's body: parse it once, answer what is not JSON-RPC with an error."""
        try:
            data = loads(body)
        except ValueError:
            msg_id = readable_id(body)
            log.warning("unparsable message (%d bytes, id %r)", len(body), msg_id)
            if msg_id is not None:
                self.send_raw(error_message(msg_id, PARSE_ERROR, "Parse error: invalid JSON"))
            return
        if isinstance(data, list):
            self._refuse_batch(data)
            return
        if not isinstance(data, dict):
            log.warning("ignoring a message that is not a JSON object: %.200r", data)
            return
        if data.get("jsonrpc") != "2.0":
            log.warning("ignoring a message that is not JSON-RPC 2.0: %.200r", data)
            if "id" in data and "method" in data:
                self.send_raw(error_message(data["id"], INVALID_REQUEST, "not JSON-RPC 2.0"))
            return
        try:
            message = self.structure_message(data)
        except Exception as exc:
            log.warning("could not read %s: %s", data.get("method"), exc)
            return
        self.handle_message(message)

    def _refuse_batch(self, batch: list[Json]) -> None:
        """LSP has no batches: every request in one is answered with InvalidRequest."""
        ids = [m["id"] for m in batch if isinstance(m, dict) and "method" in m and "id" in m]
        log.warning("refused a JSON-RPC batch of %d messages", len(batch))
        text = "JSON-RPC batches are not supported by the Language Server Protocol"
        for msg_id in ids or [None]:
            self.send_raw(error_message(msg_id, INVALID_REQUEST, text))

    def structure_message(self, data: JsonObject) -> object:
        if "jsonrpc" not in data:
            return data  # a nested object: json.loads calls this hook bottom-up
        method = data.get("method")
        if not isinstance(method, str):
            if self._wiring.router().is_lean_request_id(data.get("id")):
                return Routed(data)
            return self._structure(data)
        if method in OWN_METHODS or method.startswith(OWN_PREFIX):
            return self._structure(data)
        if method in SHARED_METHODS:
            return Routed(data, self._structure(data))
        return Routed(data)

    def _structure(self, data: JsonObject) -> object:
        try:
            structured: object = super().structure_message(data)
            return structured
        except Exception as exc:
            if "id" in data and "method" in data:
                return Invalid(data, exc)
            raise

    def handle_message(self, message: object) -> None:
        if is_shut_down(self) and self._refused_after_shutdown(message):
            return
        if isinstance(message, Routed):
            self._wiring.router().from_editor(message.raw, message.structured)
        elif isinstance(message, Invalid):
            log.warning("invalid params for %s: %s", message.raw.get("method"), message.error)
            method = message.raw.get("method")
            self.send_raw(
                error_message(message.raw.get("id"), INVALID_PARAMS, f"Invalid params for {method}")
            )
        elif hasattr(message, "jsonrpc"):
            super().handle_message(cast(RPCMessage, message))  # one of pygls' message objects
        else:
            log.warning("ignoring a message that is not JSON-RPC: %.200r", message)

    def _refused_after_shutdown(self, message: object) -> bool:
        """After ``shutdown`` only ``exit`` is served: requests get InvalidRequest (LSP),
        notifications are dropped."""
        raw = message.raw if isinstance(message, (Routed, Invalid)) else None
        method = raw.get("method") if raw is not None else getattr(message, "method", None)
        if method == "exit" or method is None:
            return False  # exit, and answers to our own requests
        msg_id = raw.get("id") if raw is not None else getattr(message, "id", None)
        if msg_id is not None:
            self.send_raw(
                error_message(msg_id, INVALID_REQUEST, f"{method}: the server is shutting down")
            )
        return True

    # ---- requests the sidecar answers: their work is cancellable by request id --------------
    def execute_handler(
        self,
        msg_id: MsgId,
        handler: Callable[..., object],
        callback: DoneCallback | None,
        args: Sequence[object] | None,
        kwargs: Mapping[str, object] | None,
    ) -> None:
        """pygls answers ``$/cancelRequest`` at once but only cancels a request that has not
        started; a command runs as an inner coroutine (executeCommand is a generator) that kept
        going. Every coroutine is spawned in the task registry under the editor's request id,
        so a cancel reaches the work itself."""
        request_id = self.msg_id
        if request_id is None or not asyncio.iscoroutinefunction(handler):
            super().execute_handler(msg_id, handler, callback, args, kwargs)
            inner = request_futures(self).get(msg_id) if msg_id != request_id else None
            if inner is not None:  # a notification's or generator step's future: see below
                self._forget_when_done(msg_id, inner)
            return
        future = self.tasks.spawn(
            handler(*(args or ()), **(kwargs or {})), RequestTask(request_id, msg_id)
        )
        request_futures(self)[msg_id] = future
        if msg_id != request_id:  # pygls never forgets these (one per didChange, ...)
            self._forget_when_done(msg_id, future)
        if callback is not None:
            future.add_done_callback(callback)

    def _forget_when_done(self, msg_id: MsgId, future: Pending) -> None:
        """Drop ``msg_id``'s future once it is done, from the event loop and never inside the
        callback itself: pygls' ``shutdown`` iterates over the futures while cancelling them,
        and a concurrent future runs its callbacks inside ``cancel()``."""
        loop = asyncio.get_running_loop()

        def forget(_f: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to forget
                loop.call_soon_threadsafe(request_futures(self).pop, msg_id, None)

        future.add_done_callback(forget)

    def handle_cancel_notification(self, msg_id: MsgId) -> None:
        self.tasks.cancel(lambda k: is_request_task(k, msg_id))
        super().handle_cancel_notification(msg_id)

    def handle_structured(self, structured: object) -> None:
        if isinstance(structured, Invalid):
            self.handle_message(structured)
        elif structured is not None:
            super().handle_message(cast(RPCMessage, structured))  # what pygls structured

    def send_raw(self, message: JsonObject) -> None:
        """Write a message as it is: the hot path of everything Lean sends to the editor."""
        if self.writer is None:
            return
        try:
            res = self.writer.write(frame(dumps(message)))
            if inspect.isawaitable(res):
                self._pending_write = asyncio.ensure_future(res)
        except (BrokenPipeError, ConnectionError) as exc:
            log.error("lost the editor's connection: %s", exc)
