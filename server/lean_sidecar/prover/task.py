"""What a prover is asked: the file's header, nearby declarations, and the statement to prove.

A hole that is the whole proof of its declaration is asked as that declaration (its statement
must come back unchanged). A hole inside a larger proof is asked as a lemma built from Lean's
goal there (DeepSeek-Prover-V2's subgoal-to-lemma step); its tactic proof is then replayed in the
hole, where the same hypothesis names are in scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lean_bridge.declarations import Declaration
from lean_bridge.goal_parse import Declined, to_lemma
from lean_bridge.holes import TextModel

HEADER_WORDS = (
    "import",
    "open",
    "namespace",
    "section",
    "variable",
    "universe",
    "set_option",
    "end",
)
GOAL_LEMMA = "sidecar_goal"


@dataclass(frozen=True)
class ProofTask:
    header: str  # imports, opens, namespaces, variables
    context: str  # preceding declarations, within the budget
    statement: str  # ends with ":= by"
    whole_declaration: bool  # False: the statement is a lemma made from the goal
    goal: str | None


def file_header(model: TextModel, until: int) -> str:
    lines = []
    offset = 0
    for line, masked in zip(
        model.text[:until].split("\n"), model.masked[:until].split("\n"), strict=False
    ):
        word = masked.split(" ", 1)[0] if masked and not masked[0].isspace() else ""
        if word in HEADER_WORDS:
            lines.append(line)
        offset += len(line) + 1
    return "\n".join(lines)


def is_whole_proof(model: TextModel, decl: Declaration, start: int, end: int) -> bool:
    if decl.assign is None:
        return False
    body = model.masked[decl.assign + 2 : decl.end]
    hole = model.masked[start:end]
    return re.fullmatch(r"\s*(by\s+)?" + re.escape(hole) + r"\s*", body) is not None


def decline_reason(goal: str) -> str | None:
    """Why a goal cannot become a lemma (metavariables, not a goal), or ``None`` if it can."""
    lemma = to_lemma(goal)
    return lemma.reason if isinstance(lemma, Declined) else None


def goal_to_statement(goal: str, name: str = GOAL_LEMMA) -> str | None:
    """``x : Nat⏎h : 0 < x⏎⊢ 1 ≤ x`` becomes
    ``theorem sidecar_goal (x : Nat) (h : 0 < x) : 1 ≤ x := by``."""
    lemma = to_lemma(goal)
    if isinstance(lemma, Declined):
        return None
    levels = ".{" + ", ".join(lemma.universes) + "}" if lemma.universes else ""
    return f"theorem {name}{levels} {' '.join(lemma.binders)} :\n    {lemma.target} := by".replace(
        "  :", " :"
    )


def build_task(
    model: TextModel,
    decl: Declaration,
    start: int,
    end: int,
    goal: str | None,
    context_chars: int = 6000,
) -> ProofTask | None:
    header = file_header(model, decl.start)
    before = [d for d in model.declarations if d.end <= decl.start]
    context_parts: list[str] = []
    used = 0
    for d in reversed(before):
        piece = model.text[d.start : d.end]
        if used + len(piece) > context_chars:
            break
        context_parts.insert(0, piece)
        used += len(piece)
    context = "\n\n".join(context_parts)
    if is_whole_proof(model, decl, start, end):
        assert decl.assign is not None
        statement = model.text[decl.start : decl.assign].rstrip() + " := by"
        return ProofTask(header, context, statement, True, goal)
    if goal is None:
        return None
    statement_from_goal = goal_to_statement(goal)
    if statement_from_goal is None:
        return None
    return ProofTask(header, context, statement_from_goal, False, goal)
