"""What one REPL request answered, as lean-interact's typed values (``Message``, ``Sorry``,
``Pos``) in source order: callers read positions and goals from typed fields, not from dicts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from lean_interact.interface import (
    CommandResponse,
    InfoTree,
    Message,
    ProofStepResponse,
    Sorry,
)

from lean_bridge.declarations import Declaration

_Item = TypeVar("_Item", Message, Sorry)


def by_position(items: Iterable[_Item]) -> list[_Item]:
    """Lean's messages and sorries in source order (the REPL lists them as it elaborates)."""

    def key(x: Message | Sorry) -> tuple[int, int]:
        p = x.start_pos
        return (p.line, p.column) if p is not None else (0, 0)

    return sorted(items, key=key)


def repl_position(text: str, offset: int) -> tuple[int, int]:
    """The REPL's position of ``offset`` in ``text``: (line from 1, column in code points)."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1)


def sorry_at(sorries: Iterable[Sorry], line: int, column: int) -> Sorry | None:
    """The sorry that starts at ``line`` (1-based) and ``column`` (0-based), if any."""
    return next(
        (
            s
            for s in sorries
            if s.start_pos is not None and (s.start_pos.line, s.start_pos.column) == (line, column)
        ),
        None,
    )


@dataclass
class CommandResult:
    """One REPL command's answer, kept as lean-interact's typed values (``Message``, ``Sorry``
    with ``Pos`` positions), in source order."""

    env: int | None
    lean_messages: list[Message] = field(default_factory=list)
    lean_sorries: list[Sorry] = field(default_factory=list)
    error: str | None = None  # the REPL's own error ({"message": ...}), a timeout or a crash
    seconds: float = 0.0
    infotree: list[InfoTree] | None = None  # Lean's parse of record, when it was asked for

    def lean_errors(self) -> list[Message]:
        return [m for m in self.lean_messages if m.severity == "error"]

    def goals(self) -> list[str]:
        """The goals of the command's sorries, in source order."""
        return [s.goal for s in self.lean_sorries]

    def sorry_at(self, line: int, column: int) -> Sorry | None:
        """The sorry that starts at ``line`` (1-based) and ``column`` (0-based), if any."""
        return sorry_at(self.lean_sorries, line, column)

    def goals_at(
        self, decl_text: str, decl: Declaration, offsets: Iterable[int], delta: int = 0
    ) -> list[str | None]:
        """The goal of the sorry Lean reports at each offset of the file, where this answer is
        for ``decl_text``: ``decl``'s text after a fill that changed its length by ``delta``,
        its keyword possibly renamed (``hole_fill.checkable``). None where Lean reported none
        (paired by position, never by order)."""
        renamed = len(decl_text) - (decl.end + delta - decl.start)
        out: list[str | None] = []
        for at in offsets:
            offset = at - decl.start + (renamed if at > decl.keyword_start else 0)
            found = self.sorry_at(*repl_position(decl_text, offset))
            out.append(found.goal if found is not None else None)
        return out


@dataclass
class StepResult:
    proof_state: int | None
    goals: list[str]
    status: str  # the REPL's proofStatus: "Completed", "Incomplete: open goals remain", …
    lean_messages: list[Message]
    error: str | None = None
    seconds: float = 0.0

    def lean_errors(self) -> list[Message]:
        return [m for m in self.lean_messages if m.severity == "error"]

    @property
    def completed(self) -> bool:
        return self.error is None and self.status == "Completed" and not self.lean_errors()


def command_result(resp: CommandResponse, seconds: float = 0.0) -> CommandResult:
    """The pool's reading of a REPL command answer: typed values in source order."""
    return CommandResult(
        resp.env,
        by_position(resp.messages),
        by_position(resp.sorries),
        None,
        seconds,
        resp.infotree,
    )


def step_result(resp: ProofStepResponse, seconds: float = 0.0) -> StepResult:
    """The pool's reading of a tactic-mode answer (lean-interact's ``ProofStepResponse``)."""
    return StepResult(
        resp.proof_state,
        list(resp.goals),
        str(resp.proof_status),
        by_position(resp.messages),
        None,
        seconds,
    )
