"""The proof holes of one document version: every ``sorry`` and every failing tactic."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, cast

from lean_bridge.declarations import Declaration, enclosing_declaration, find_declarations
from lean_bridge.diagnostics import ERROR, is_stale_imports
from lean_bridge.goal_parse import split_goals
from lean_bridge.hole_fill import block_column
from lean_bridge.json_types import JsonObject
from lean_bridge.lean_lexer import mask_non_code
from lean_bridge.lsp_types import LeanDiagnostic, LspRange
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
    reported: Span | None = None  # where Lean's message is, when the hole is elsewhere

    def to_json(self) -> JsonObject:
        out: JsonObject = {
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


def insertion_column(model: TextModel, hole: Hole) -> int | None:
    """For an "unsolved goals" hole (an insertion after a block's last tactic): the column of
    the block Lean reported (its `by`), so that the tactic lands in that block, not in a `by`
    nested on its last line. None for every other hole."""
    if hole.reported is None or hole.start != hole.end:
        return None
    return block_column(model.masked, model.index.offset(hole.reported.start))


def _in_proof(decl: Declaration | None, offset: int) -> bool:
    return decl is not None and decl.assign is not None and offset > decl.assign


UNSOLVED_GOALS = "unsolved goals"
_TACTIC_SEPARATOR = re.compile(r"(?:;|<;>|\bby\b|·|=>|\bat\s+\S+\s*=>)\s*")


def unsolved_goals(message: str) -> list[str]:
    """The goals an "unsolved goals" message lists (Lean separates several by a blank line)."""
    head, _, rest = message.partition("\n")
    return split_goals(rest) if head.strip() == UNSOLVED_GOALS else []


def is_unsolved_goals(diag: LeanDiagnostic) -> bool:
    """Lean tags it ``leanTags: [1]`` (≥ 4.9); older servers only have the message."""
    tags = diag.get("leanTags") or []
    msg = str(diag.get("message", ""))
    return (1 in tags and msg.startswith(UNSOLVED_GOALS)) or msg.split("\n", 1)[0].strip() == (
        UNSOLVED_GOALS
    )


def blamed_span(masked: str, start: int, end: int, full_end: int) -> tuple[int, int]:
    """What a failing-tactic hole covers: the whole tactic Lean blamed.

    Lean's ``range`` may be a part of the tactic (an identifier of ``exact foo``) and, for a
    multi-line tactic, is cut at the end of its first line; ``fullRange`` covers the rest. The hole
    reaches back to where the tactic starts on its line (after ``;``, ``<;>``, ``by``, ``·``,
    ``=>``)
    and forward to the end of the blamed syntax, or of the tactic's line when that is further.
    """
    line_start = masked.rfind("\n", 0, start) + 1
    prefix = masked[line_start:start]
    tactic_start = line_start + len(prefix) - len(prefix.lstrip())
    for m in _TACTIC_SEPARATOR.finditer(prefix):
        tactic_start = max(tactic_start, line_start + m.end())
    stop = max(end, full_end)
    line_end = masked.find("\n", stop)
    line_end = len(masked) if line_end < 0 else line_end
    rest = masked[stop:line_end]
    cut = re.search(r";|<;>", rest)
    tail = rest[: cut.start()] if cut else rest
    return tactic_start, stop + len(tail.rstrip())


async def collect_holes(
    model: TextModel,
    diagnostics: list[LeanDiagnostic],
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
        rng = cast(LspRange, diag.get("range") or {})  # {} where absent: skipped below
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
        if is_unsolved_goals(diag):
            # Lean puts it at the block's opener (`by`): the block ran to its end and these goals
            # remain; the hole is the point after the block's last tactic, and its goals are the
            # message's (plainGoal at `by` would answer the goal *before* the block).
            end_off = model.index.offset(full_end)
            goals = unsolved_goals(message)
            holes.append(
                Hole(
                    "failingTactic",
                    Span(full_end, full_end),
                    "\n\n".join(goals) or None,
                    decl.display_name if decl else None,
                    message,
                    start=end_off,
                    end=end_off,
                    reported=Span(start, end),
                )
            )
            continue
        a, b = blamed_span(
            model.masked, start_off, model.index.offset(end), model.index.offset(full_end)
        )
        assert decl is not None and decl.assign is not None  # _in_proof
        if not re.search(r"\bby\b", model.masked[decl.assign : start_off]) or a <= decl.assign:
            # a term-mode proof: Lean blames a term, there is no tactic to widen to
            a, b = start_off, model.index.offset(full_end)
        span = Span(model.index.pos(a), model.index.pos(b))
        goal = await plain_goal(span.start)
        holes.append(
            Hole(
                "failingTactic",
                span,
                goal,
                decl.display_name if decl else None,
                message,
                start=a,
                end=b,
            )
        )
    holes.sort(key=lambda h: (h.range.start, h.kind))
    return holes
