"""The proof holes of one document version: every ``sorry`` and every failing tactic."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from lean_bridge.declarations import Declaration, enclosing_declaration, find_declarations
from lean_bridge.diagnostics import ERROR, is_stale_imports
from lean_bridge.lean_lexer import mask_non_code
from lean_bridge.positions import LineIndex, Pos, Span
from lean_bridge.sorry_scan import scan_sorries

HoleKind = Literal["sorry", "failingTactic"]
GoalQuery = Callable[[Pos], Awaitable[str | None]]


@dataclass(frozen=True)
class Hole:
    kind: HoleKind
    range: Span
    goal: str | None
    declaration: str | None
    message: str | None = None
    start: int = 0  # code-point offsets into the version's text
    end: int = 0
    mode: str = "tactic"  # where Lean answered plainGoal: a tactic block; else a term

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "range": self.range.to_lsp(),
            "goal": self.goal,
            "declaration": self.declaration,
        }
        if self.message is not None:
            out["message"] = self.message
        return out


@dataclass
class TextModel:
    """One version's text with everything derived from it computed once."""

    text: str

    def __post_init__(self) -> None:
        self.masked = mask_non_code(self.text)
        self.index = LineIndex(self.text)
        self.declarations: list[Declaration] = find_declarations(self.text, self.masked)

    def declaration_at(self, offset: int) -> Declaration | None:
        return enclosing_declaration(self.declarations, offset)


def _in_proof(decl: Declaration | None, offset: int) -> bool:
    return decl is not None and decl.assign is not None and offset > decl.assign


def goal_from_unsolved_goals(message: str) -> str | None:
    head, _, rest = message.partition("\n")
    return rest or None if head.strip() == "unsolved goals" else None


async def collect_holes(
    model: TextModel,
    diagnostics: list[dict[str, Any]],
    plain_goal: GoalQuery,
    term_goal: GoalQuery,
) -> list[Hole]:
    holes: list[Hole] = []
    for tok in scan_sorries(model.text, model.masked, model.index):
        decl = model.declaration_at(tok.start)
        goal = await plain_goal(tok.span.start)
        mode = "tactic"
        if goal is None:
            goal = await term_goal(tok.span.start)
            mode = "term"
        holes.append(
            Hole(
                "sorry",
                tok.span,
                goal,
                decl.display_name if decl else None,
                start=tok.start,
                end=tok.end,
                mode=mode,
            )
        )
    for diag in diagnostics:
        if diag.get("severity") != ERROR or is_stale_imports(diag):
            continue
        rng = diag.get("range") or {}
        try:
            start = Pos(int(rng["start"]["line"]), int(rng["start"]["character"]))
            end = Pos(int(rng["end"]["line"]), int(rng["end"]["character"]))
        except (KeyError, TypeError, ValueError):
            continue
        full = diag.get("fullRange") or rng
        try:
            full_end = Pos(int(full["end"]["line"]), int(full["end"]["character"]))
        except (KeyError, TypeError, ValueError):
            full_end = end
        start_off = model.index.offset(start)
        decl = model.declaration_at(start_off)
        if not _in_proof(decl, start_off):
            continue
        message = str(diag.get("message", ""))
        goal = await plain_goal(start) or goal_from_unsolved_goals(message)
        holes.append(
            Hole(
                "failingTactic",
                Span(start, full_end),
                goal,
                decl.display_name if decl else None,
                message,
                start=start_off,
                end=model.index.offset(full_end),
            )
        )
    holes.sort(key=lambda h: (h.range.start, h.kind))
    return holes
