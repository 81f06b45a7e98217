"""Lean's extensions to LSP, typed as they travel (JSON), after vscode-lean4's ``lspTypes.ts``.

lsprotocol's converters would drop the extension fields (``fullRange``, ``leanTags``,
``isSilent``), so the sidecar forwards Lean's messages raw and reads them through these."""

from __future__ import annotations

from typing import TypedDict


class LspPosition(TypedDict):
    line: int
    character: int


class LspRange(TypedDict):
    start: LspPosition
    end: LspPosition


class LeanDiagnostic(TypedDict, total=False):
    """A diagnostic of ``textDocument/publishDiagnostics`` as Lean sends it, the fields the
    sidecar reads: LSP's, with Lean's ``fullRange`` (the whole blamed syntax) and ``leanTags``
    (``1``: unsolved goals). Read defensively: any of them may be missing or malformed."""

    range: LspRange
    fullRange: LspRange
    severity: int
    message: str
    leanTags: list[int]


class PlainGoal(TypedDict):
    """Answer of ``$/lean/plainGoal``: the tactic state, rendered and one string per goal."""

    rendered: str
    goals: list[str]


class PlainTermGoal(TypedDict):
    """Answer of ``$/lean/plainTermGoal``: the expected type at a term position."""

    goal: str
    range: LspRange


# JSON-RPC / LSP error codes (the numbers; lean_sidecar.lsp.errors has the exceptions).
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
REQUEST_CANCELLED = -32800
CONTENT_MODIFIED = -32801
REQUEST_FAILED = -32803
