"""What a search leaves behind: every attempt (a tree: fixes under samples, lemmas under
sketches), the proofs found, a partial sketch, and the totals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol

How = Literal["cache", "tactic", "model", "sketch"]
AttemptKind = Literal[
    "cache", "tactic", "suggestion", "sample", "fix", "sketch", "lemma", "negation", "memo"
]


class HoleStatus(str, Enum):
    """How a hole's search ended (its value is what the editor, ``fill`` and ``eval`` print)."""

    SOLVED = "solved"
    UNSOLVED = "unsolved"
    REFUTED = "refuted"  # the goal's negation was proved
    CANCELLED = "cancelled"
    ERROR = "error"  # the search could not run: a dead endpoint, no REPL, …
    REFUSED = "refused"  # found, but the edit that would write it is not only the proof

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass
class Attempt:
    kind: AttemptKind
    candidate: str | None
    outcome: str  # verified | rejected | refused | duplicate | unparsable | error | ...
    detail: str | None = None
    seconds: float = 0.0
    children: list[Attempt] = field(default_factory=list)
    helpers: str = ""  # helper declarations checked with the candidate (see Found.helpers)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "candidate": self.candidate,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }
        if self.helpers:
            out["helpers"] = self.helpers
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out

    def walk(self) -> Iterator[Attempt]:
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass
class Found:
    script: str
    how: How
    seconds: float
    samples: int = 0  # model samples spent when it was found (pass@k by budget)
    # Helper declarations the script uses (renamed to fresh `sidecar_aux_…` names), as Lean
    # checked them: to be inserted verbatim, followed by a blank line ("\n\n"), immediately
    # before the hole's declaration (at its first character, docstring and attributes
    # included), in the same edit as the script. Empty: none.
    helpers: str = ""


@dataclass(frozen=True)
class Refuted:
    """The hole's goal is false: Lean proved (and the axiom audit passed) its negation
    ``statement`` (one line, ``theorem sidecar_negation : ¬(∀ hyps, target) := by``) with
    ``proof``, the tactic script that follows it (a cascade tactic such as ``decide``)."""

    statement: str
    proof: str

    def text(self) -> str:
        """The whole counterexample declaration as Lean checked it."""
        body = "\n".join("  " + line if line else line for line in self.proof.split("\n"))
        return f"{self.statement}\n{body}"


@dataclass
class Partial:
    script: str  # a sketch that Lean accepts, with `sorries_left` holes
    sorries_left: int


@dataclass
class HoleResult:
    found: list[Found] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    samples: int = 0
    seconds: float = 0.0
    status: HoleStatus = HoleStatus.UNSOLVED
    error: str | None = None
    cause: tuple[str, str] | None = None  # (failure kind, endpoint) of an endpoint error
    partial: Partial | None = None
    tokens: int = 0
    gpu_seconds: float = 0.0
    # status "refuted": the goal's negation was proved before any sample was spent.
    refuted: Refuted | None = None

    def lean_seconds(self) -> float:
        """Time spent in Lean checks (attempts' own seconds; containers excluded)."""
        return sum(a.seconds for a in self.walk() if a.kind in ("tactic", "sample", "fix"))

    def walk(self) -> Iterator[Attempt]:
        for a in self.attempts:
            yield from a.walk()


OnFound = Callable[[Found], Awaitable[None] | None]
Progress = Callable[[str], None]


class FoundHook(Protocol):
    """Where a verified proof goes (with the helpers it was checked with, if any)."""

    async def __call__(self, script: str, how: How, helpers: str = "") -> None: ...


async def noop_found(script: str, how: How, helpers: str = "") -> None:
    return None
