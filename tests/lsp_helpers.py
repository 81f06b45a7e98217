"""Helpers for driving the sidecar as an editor would (pytest-lsp)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities


def plain(value: Any) -> Any:
    """Results of custom methods come back as attrs-like objects; make them JSON again."""
    if isinstance(value, list | tuple) and not hasattr(value, "_asdict"):
        return [plain(v) for v in value]
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


async def initialize(
    client: LanguageClient,
    root: Path,
    *,
    lean_caps: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> types.InitializeResult:
    caps = client_capabilities("visual-studio-code")
    if types.CLIENT_REGISTER_CAPABILITY not in client.protocol.fm.features:
        client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda _params: None)
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=options,
        )
    )


def open_doc(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(
                uri=uri,
                language_id="lean4",
                version=version,
                text=path.read_text(encoding="utf-8") if text is None else text,
            )
        )
    )
    return uri


async def holes(client: LanguageClient, uri: str, timeout: float = 20) -> dict[str, Any]:
    result = await asyncio.wait_for(
        client.protocol.send_request_async("leanSidecar/holes", {"textDocument": {"uri": uri}}),
        timeout,
    )
    return plain(result)  # type: ignore[no-any-return]


async def raw_request(client: LanguageClient, method: str, params: Any, timeout: float = 20) -> Any:
    return plain(
        await asyncio.wait_for(client.protocol.send_request_async(method, params), timeout)
    )
