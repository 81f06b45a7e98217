"""Lean's extensions to LSP, typed as they travel (JSON), after vscode-lean4's ``lspTypes.ts``.

lsprotocol's converters would drop the extension fields (``fullRange``, ``leanTags``,
``isSilent``), so the sidecar forwards Lean's messages raw and reads them through these."""

from __future__ import annotations

from typing import Any, TypedDict


class LspPosition(TypedDict):
    line: int
    character: int


class LspRange(TypedDict):
    start: LspPosition
    end: LspPosition


class PlainGoal(TypedDict):
    """Answer of ``$/lean/plainGoal``: the tactic state, rendered and one string per goal."""

    rendered: str
    goals: list[str]


class PlainTermGoal(TypedDict):
    """Answer of ``$/lean/plainTermGoal``: the expected type at a term position."""

    goal: str
    range: LspRange


class _DiagnosticRequired(TypedDict):
    range: LspRange
    message: str


class LeanDiagnostic(_DiagnosticRequired, total=False):
    """A diagnostic of ``textDocument/publishDiagnostics`` with Lean's extra fields."""

    fullRange: LspRange
    severity: int
    code: int | str
    source: str
    tags: list[int]
    leanTags: list[int]  # 1 = unsolved goals, 2 = goals accomplished
    isSilent: bool
    relatedInformation: list[Any]
    data: Any


class _PublishRequired(TypedDict):
    uri: str
    diagnostics: list[LeanDiagnostic]


class LeanPublishDiagnosticsParams(_PublishRequired, total=False):
    version: int


class LeanFileProgressProcessingInfo(TypedDict, total=False):
    range: LspRange
    kind: int


class LeanFileProgressParams(TypedDict):
    """``$/lean/fileProgress``: the ranges Lean is still elaborating."""

    textDocument: dict[str, Any]
    processing: list[LeanFileProgressProcessingInfo]


# JSON-RPC / LSP error codes (the numbers; lean_sidecar.lsp.errors has the exceptions).
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
REQUEST_CANCELLED = -32800
CONTENT_MODIFIED = -32801
REQUEST_FAILED = -32803
