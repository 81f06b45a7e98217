"""What one REPL request answered, as lean-interact's typed values (``Message``, ``Sorry``,
``Pos``) in source order: callers read positions and goals from typed fields, not from dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lean_interact.interface import InfoTree, Message, Sorry


def by_position(items: list[Any]) -> list[Any]:
    """Lean's messages and sorries in source order (the REPL lists them as it elaborates)."""

    def key(x: Any) -> tuple[int, int]:
        p = x.start_pos
        return (p.line, p.column) if p is not None else (0, 0)

    return sorted(items, key=key)


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

    def errors(self) -> list[dict[str, Any]]:
        """Dict view of :meth:`lean_errors` for callers not yet moved to the typed values."""
        return [m.model_dump(by_alias=True, exclude_none=True) for m in self.lean_errors()]

    def infos(self) -> list[Message]:
        return [m for m in self.lean_messages if m.severity == "info"]

    def goals(self) -> list[str]:
        """The goals of the command's sorries, in source order."""
        return [s.goal for s in self.lean_sorries]

    def sorry_at(self, line: int, column: int) -> Sorry | None:
        """The sorry that starts at ``line`` (1-based) and ``column`` (0-based), if any."""
        return next(
            (
                s
                for s in self.lean_sorries
                if s.start_pos is not None
                and (s.start_pos.line, s.start_pos.column) == (line, column)
            ),
            None,
        )

    # Dict views for callers not yet moved to the typed values; new code uses the typed ones.
    @property
    def messages(self) -> list[dict[str, Any]]:
        return [m.model_dump(by_alias=True, exclude_none=True) for m in self.lean_messages]

    @property
    def sorries(self) -> list[dict[str, Any]]:
        return [x.model_dump(by_alias=True, exclude_none=True) for x in self.lean_sorries]


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
    def messages(self) -> list[dict[str, Any]]:
        """Dict view for callers not yet moved to ``lean_messages``."""
        return [m.model_dump(by_alias=True, exclude_none=True) for m in self.lean_messages]

    @property
    def completed(self) -> bool:
        return self.error is None and self.status == "Completed" and not self.lean_errors()


def command_result(resp: Any, seconds: float = 0.0) -> CommandResult:
    """The pool's reading of a REPL command answer (lean-interact's ``CommandResponse``, or any
    response with ``messages``/``sorries``): typed values in source order."""
    return CommandResult(
        getattr(resp, "env", None),
        by_position(list(resp.messages)),
        by_position(list(getattr(resp, "sorries", []) or [])),
        None,
        seconds,
        getattr(resp, "infotree", None),
    )


def step_result(resp: Any, seconds: float = 0.0) -> StepResult:
    """The pool's reading of a tactic-mode answer (lean-interact's ``ProofStepResponse``)."""
    return StepResult(
        resp.proof_state,
        list(resp.goals),
        str(resp.proof_status),
        by_position(list(resp.messages)),
        None,
        seconds,
    )
