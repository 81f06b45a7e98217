"""``leanSidecar/holes``: the proof holes of a document at its current, Lean-finished version."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from lean_bridge.upstream import UpstreamError

if TYPE_CHECKING:
    from lean_sidecar.app import SidecarServer

HOLES_METHOD = "leanSidecar/holes"
UPSTREAM_WAIT = 60.0  # seconds to wait for a restarting Lean before answering with an error
CONTENT_MODIFIED = -32801


class _ContentModified(JsonRpcException):
    code = CONTENT_MODIFIED


class _RequestFailed(JsonRpcException):
    code = -32803


def register(server: SidecarServer) -> None:
    @server.feature(HOLES_METHOD)
    async def holes(ls: SidecarServer, params: Any) -> dict[str, Any]:
        from lean_sidecar.app import as_dict

        uri = (as_dict(params).get("textDocument") or {}).get("uri")
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams("expected {textDocument: {uri}}")
        doc = ls.documents.get(uri)
        if doc is None:
            raise _ContentModified(f"document is not open: {uri}")
        try:
            await ls.proxy.wait_running(UPSTREAM_WAIT)
        except UpstreamError as exc:
            raise _RequestFailed(str(exc)) from exc
        while True:
            try:
                snapshot = await doc.current_holes()
            except LookupError as exc:
                raise _ContentModified(str(exc)) from exc
            if snapshot.error is not None:
                raise _RequestFailed(snapshot.error)
            if snapshot.version == doc.version:
                return snapshot.to_json()
            await asyncio.sleep(0)
