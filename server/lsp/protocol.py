"""A pygls protocol that forwards Lean's traffic as raw JSON and structures only what the
sidecar itself handles (lsprotocol's converters would drop Lean's extension fields)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from pygls.protocol import LanguageServerProtocol

from lean_sidecar.lsp.errors import INVALID_PARAMS, error_message

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
# Seen by both: forwarded raw to Lean and structured for the sidecar's own use.
SHARED_METHODS = frozenset(
    {
        "initialize",
        "initialized",
        "shutdown",
        "exit",
        "textDocument/didOpen",
        "textDocument/didChange",
        "textDocument/didClose",
        "textDocument/didSave",
        "textDocument/codeAction",
        "textDocument/hover",
        "codeAction/resolve",
        "$/cancelRequest",
    }
)


class Router(Protocol):
    """Where editor messages that Lean must see go (lean_sidecar.lsp.forwarder.Forwarder)."""

    def is_lean_request_id(self, msg_id: Any) -> bool: ...

    def from_editor(self, raw: dict[str, Any], structured: Any) -> None: ...


@dataclass
class Routed:
    """An editor message that the proxy routes; ``structured`` is set when pygls needs it."""

    raw: dict[str, Any]
    structured: Any = None
    jsonrpc: str = "2.0"


@dataclass
class Invalid:
    """A request whose params could not be structured: it still deserves an error answer."""

    raw: dict[str, Any]
    error: Exception
    jsonrpc: str = "2.0"


class SidecarProtocol(LanguageServerProtocol):
    forwarder: Router | None = None

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data:
            return data  # a nested object: json.loads calls this hook bottom-up
        method = data.get("method")
        if not isinstance(method, str):
            if self.forwarder is not None and self.forwarder.is_lean_request_id(data.get("id")):
                return Routed(data)
            return self._structure(data)
        if method in OWN_METHODS or method.startswith(OWN_PREFIX):
            return self._structure(data)
        if method in SHARED_METHODS:
            return Routed(data, self._structure(data))
        return Routed(data)

    def _structure(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except Exception as exc:
            if "id" in data and "method" in data:
                return Invalid(data, exc)
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, Routed):
            if self.forwarder is None:
                log.error("no forwarder attached; dropping %s", message.raw.get("method"))
                return
            self.forwarder.from_editor(message.raw, message.structured)
        elif isinstance(message, Invalid):
            log.warning("invalid params for %s: %s", message.raw.get("method"), message.error)
            method = message.raw.get("method")
            self.send_raw(
                error_message(message.raw.get("id"), INVALID_PARAMS, f"Invalid params for {method}")
            )
        elif hasattr(message, "jsonrpc"):
            super().handle_message(message)
        else:
            log.warning("ignoring a message that is not JSON-RPC: %.200r", message)

    def handle_structured(self, structured: Any) -> None:
        if isinstance(structured, Invalid):
            self.handle_message(structured)
        elif structured is not None:
            super().handle_message(structured)

    def send_raw(self, message: dict[str, Any]) -> None:
        """Write a message as it is: the hot path of everything Lean sends to the editor."""
        if self.writer is None:
            return
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            res = self.writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            if inspect.isawaitable(res):
                self._pending_write = asyncio.ensure_future(res)
        except (BrokenPipeError, ConnectionError) as exc:
            log.error("lost the editor's connection: %s", exc)
