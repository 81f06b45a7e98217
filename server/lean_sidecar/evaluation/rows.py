"""The rows of an evaluation run: one JSON line per problem (``runner`` writes them, ``summary``
and ``report`` read them back) and the summary computed from them."""

from __future__ import annotations

from typing import TypedDict


class TacticStats(TypedDict):
    """One cascade tactic on one problem's goal."""

    closed: int  # 1 when it closed the goal
    seconds: float
    outcome: str  # the attempt's outcome: verified | rejected | …


class _RowKeys(TypedDict):
    name: str
    status: str  # a HoleStatus value


class ResultRow(_RowKeys, total=False):
    """One problem's line in the results JSONL (an error row has only name, status, samples
    and error). Rows read back from a file are taken to be as written: a line that is not an
    object with a name and a status is skipped (summary.read_results), the rest is not checked."""

    how: str | None  # how the first proof was found (cache, tactic, model, sketch)
    proof: str | None
    helpers: str | None
    samples: int
    samples_at_first: int | None
    time_to_first: float | None
    seconds: float
    tokens: int
    gpu_seconds: float
    lean_seconds: float
    attempts: int
    error: str | None
    tactics: dict[str, TacticStats]
    refuted: str | None  # the negation's statement


class TacticTotals(TypedDict):
    """One cascade tactic over the run."""

    tried: int
    closed: int
    seconds: float


class Summary(TypedDict):
    """The numbers of a run (summary.summarize)."""

    problems: int
    solved: int
    solved_pct: float
    pass_at_samples: dict[str, float]
    time_to_first_p50: float | None
    time_to_first_p95: float | None
    tokens: int
    lean_seconds: float
    gpu_seconds: float
    samples: int
    by_stage: dict[str, int]
    errors: int
    refuted: int
    by_tactic: dict[str, TacticTotals]
