"""Pairing the REPL's ``sorries`` with the ``sorry`` tokens of the command it checked.

The REPL reports each sorry with its position (1-based line, 0-based code-point column) in the
command text; pairing by order from the end (``goals[-n:]``) gives a sketch's holes the goals of
*other* sorries as soon as one follows the sketch. Pairing by position cannot.
"""

from __future__ import annotations

from typing import Any

from lean_bridge.sorry_scan import scan_sorries


def repl_position(text: str, offset: int) -> tuple[int, int]:
    """The REPL's position of ``offset`` in ``text``: (line from 1, column in code points)."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1)


def goals_in_region(
    command: str, sorries: list[dict[str, Any]], lo: int, hi: int
) -> list[str | None]:
    """The goal of each ``sorry`` token of ``command`` that starts in ``[lo, hi)``, in text
    order; ``None`` where the REPL reported no sorry at that token."""
    at: dict[tuple[int, int], str] = {}
    for s in sorries:
        pos = s.get("pos") or {}
        if isinstance(pos.get("line"), int) and isinstance(pos.get("column"), int):
            at[(pos["line"], pos["column"])] = str(s.get("goal", ""))
    return [
        at.get(repl_position(command, tok.start))
        for tok in scan_sorries(command)
        if lo <= tok.start < hi
    ]
