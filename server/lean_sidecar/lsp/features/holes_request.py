"""``leanSidecar/holes``: the proof holes of a document at its current, Lean-finished version."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol, cast

from lean_bridge.json_types import JsonObject
from lean_bridge.upstream import UpstreamError
from lean_sidecar.lsp.documents import DocumentStore
from lean_sidecar.lsp.errors import ContentModified, InvalidParams, RequestFailed
from lean_sidecar.lsp.features.base import Feature, RequestHandler
from lean_sidecar.lsp.params import as_dict

HOLES_METHOD = "leanSidecar/holes"
UPSTREAM_WAIT = 60.0  # seconds to wait for a restarting Lean before answering with an error


class LeanStatus(Protocol):
    async def wait_running(self, timeout: float) -> None: ...


class HolesRequest(Feature):
    def __init__(self, documents: DocumentStore, lean: LeanStatus) -> None:
        self.documents = documents
        self.lean = lean

    def requests(self) -> dict[str, RequestHandler]:
        return {HOLES_METHOD: self.holes}

    async def holes(self, params: object) -> JsonObject:
        # textDocument: an object (a dict once as_dict has read it), as the method says
        text_document = cast("Mapping[str, object]", as_dict(params).get("textDocument") or {})
        uri = text_document.get("uri")
        if not isinstance(uri, str):
            raise InvalidParams("expected {textDocument: {uri}}")
        doc = self.documents.get(uri)
        if doc is None:
            raise ContentModified(f"document is not open: {uri}")
        try:
            await self.lean.wait_running(UPSTREAM_WAIT)
        except UpstreamError as exc:
            raise RequestFailed(str(exc)) from exc
        while True:
            try:
                snapshot = await doc.current_holes()
            except LookupError as exc:
                raise ContentModified(str(exc)) from exc
            if snapshot.error is not None:
                raise RequestFailed(snapshot.error)
            if snapshot.version == doc.version:
                return snapshot.to_json()
            await asyncio.sleep(0)
