"""The REPL's ``sorries`` (one per `sorry` it elaborated, with its goal and position), read in
one place: in source order, or the one at a position. Callers never dig into the raw shape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def position(sorry: Any) -> tuple[int, int]:
    """(line, column) of a REPL sorry: line 1-based, column 0-based, as the REPL reports."""
    pos = sorry.get("pos") or {}
    return (int(pos.get("line", 0)), int(pos.get("column", 0)))


def in_source_order(sorries: Iterable[Any]) -> list[Any]:
    return sorted(sorries, key=position)


def goals_in_source_order(sorries: Iterable[Any]) -> list[str | None]:
    """The goal of each sorry, first in the text first."""
    return [s.get("goal") for s in in_source_order(sorries)]


def sorry_at(sorries: Iterable[Any], line: int, column: int) -> Any | None:
    """The sorry the REPL reports at (line, column), if any."""
    return next((s for s in sorries if position(s) == (line, column) and s.get("pos")), None)
