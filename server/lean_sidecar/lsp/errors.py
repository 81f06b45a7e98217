"""Every JSON-RPC error the sidecar sends, in one place.

pygls turns an exception raised by a handler into an error answer using the class attribute
``CODE`` (not ``code``): subclasses here set ``CODE`` so the editor sees the right number, e.g.
ContentModified (-32801) rather than a generic internal error (-32603)."""

from __future__ import annotations

from pygls.exceptions import JsonRpcException

from lean_bridge.json_types import Json, JsonObject
from lean_bridge.lsp_types import (
    CONTENT_MODIFIED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    REQUEST_CANCELLED,
    REQUEST_FAILED,
)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600

__all__ = [
    "CONTENT_MODIFIED",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "PARSE_ERROR",
    "REQUEST_CANCELLED",
    "REQUEST_FAILED",
    "ContentModified",
    "InvalidParams",
    "RequestFailed",
    "SidecarError",
    "error_message",
]


class SidecarError(JsonRpcException):
    """A request the sidecar could not answer; the base carries LSP's RequestFailed."""

    CODE = REQUEST_FAILED


class ContentModified(SidecarError):
    """The document is not open, or changed since the request was made: ask again."""

    CODE = CONTENT_MODIFIED


class RequestFailed(SidecarError):
    """The request is valid but cannot succeed now (Lean down, no sorry there, ...)."""

    CODE = REQUEST_FAILED


class InvalidParams(SidecarError):
    CODE = INVALID_PARAMS


def error_message(msg_id: Json, code: int, message: str) -> JsonObject:
    """A JSON-RPC error answer, ready to be written as it is."""
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
