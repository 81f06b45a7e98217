"""Lean's diagnostics for one document, accumulated the way Lean means them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from lean_bridge.json_types import Json, JsonObject
from lean_bridge.lsp_types import LeanDiagnostic

STALE_IMPORTS = "Imports are out of date"
ERROR, WARNING, INFORMATION = 1, 2, 3


def uses_sorry(message: str) -> bool:
    """Lean's "declaration uses sorry" warning, both spellings: ``declaration uses 'sorry'``
    (≤ 4.27) and ``declaration uses `sorry` ``."""
    return "declaration uses" in message and "sorry" in message


def is_stale_imports(diag: LeanDiagnostic) -> bool:
    return str(diag.get("message", "")).startswith(STALE_IMPORTS)


@dataclass
class DiagnosticsLog:
    """The current diagnostic list of one document version.

    With ``isIncremental: true`` Lean sends only the new diagnostics of the version; with
    ``false`` (or absent) each notification replaces the list.
    """

    version: Json = None  # as Lean sent it (an integer), None before the first
    items: list[LeanDiagnostic] = field(default_factory=list)

    def apply(self, params: JsonObject) -> None:
        """Take one ``textDocument/publishDiagnostics`` (its params, as Lean sent them)."""
        version = params.get("version")
        sent = cast("list[Json]", params.get("diagnostics") or [])  # LSP: an array
        diags = [cast(LeanDiagnostic, d) for d in sent if isinstance(d, dict)]
        if params.get("isIncremental") and version == self.version:
            self.items.extend(diags)
        else:
            self.version = version
            self.items = diags

    def for_version(self, version: int) -> list[LeanDiagnostic]:
        return list(self.items) if self.version == version else []

    @property
    def stale_imports(self) -> bool:
        return any(is_stale_imports(d) for d in self.items)
