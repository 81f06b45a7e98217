"""What a search leaves behind: every attempt (a tree: fixes under samples, lemmas under
sketches), the proofs found, a partial sketch, and the totals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

How = Literal["cache", "tactic", "model", "sketch"]


@dataclass
class Attempt:
    kind: str  # cache | tactic | sample | fix | sketch | lemma | negation | memo
    candidate: str | None
    outcome: str  # verified | rejected | refused | duplicate | unparsable | error | ...
    detail: str | None = None
    seconds: float = 0.0
    children: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "candidate": self.candidate,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }
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
    status: str = "unsolved"  # solved | unsolved | cancelled | error
    error: str | None = None
    cause: tuple[str, str] | None = None  # (failure kind, endpoint) of an endpoint error
    partial: Partial | None = None
    tokens: int = 0
    gpu_seconds: float = 0.0

    def lean_seconds(self) -> float:
        """Time spent in Lean checks (attempts' own seconds; containers excluded)."""
        return sum(a.seconds for a in self.walk() if a.kind in ("tactic", "sample", "fix"))

    def walk(self) -> Iterator[Attempt]:
        for a in self.attempts:
            yield from a.walk()


OnFound = Callable[[Found], Awaitable[None] | None]
Progress = Callable[[str], None]
FoundHook = Callable[[str, How], Awaitable[None]]


async def noop_found(_script: str, _how: How) -> None:
    return None
