"""Lean's diagnostics for one document, accumulated the way Lean means them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STALE_IMPORTS = "Imports are out of date"
ERROR, WARNING, INFORMATION = 1, 2, 3


def uses_sorry(message: str) -> bool:
    """Lean's "declaration uses sorry" warning, both spellings: ``declaration uses 'sorry'``
    (≤ 4.27) and ``declaration uses `sorry` ``."""
    return "declaration uses" in message and "sorry" in message


def is_stale_imports(diag: dict[str, Any]) -> bool:
    return str(diag.get("message", "")).startswith(STALE_IMPORTS)


@dataclass
class DiagnosticsLog:
    """The current diagnostic list of one document version.

    With ``isIncremental: true`` Lean sends only the new diagnostics of the version; with
    ``false`` (or absent) each notification replaces the list.
    """

    version: int | None = None
    items: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, params: dict[str, Any]) -> None:
        version = params.get("version")
        diags = [d for d in params.get("diagnostics") or [] if isinstance(d, dict)]
        if params.get("isIncremental") and version == self.version:
            self.items.extend(diags)
        else:
            self.version = version
            self.items = diags

    def for_version(self, version: int) -> list[dict[str, Any]]:
        return list(self.items) if self.version == version else []

    @property
    def stale_imports(self) -> bool:
        return any(is_stale_imports(d) for d in self.items)
