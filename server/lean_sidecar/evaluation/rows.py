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
    defective: dict[str, str]  # name → reason, for the run's problems with a known defect
    solved_defective: list[str]  # those of them that were solved


class RunInfo(TypedDict):
    """What a run was: enough to tell two reports apart and to run it again. Never a secret:
    endpoints are shown without user, password or query, and the API key is not read."""

    benchmark: str
    split: str | None
    limit: int | None
    model: str | None
    served_model: str | None  # what the endpoint serves, asked once when no model was set
    model_family: str
    endpoints: list[str]
    stages: list[str]
    budget_samples: int
    budget_seconds: float
    concurrency: int
    tactics: list[str]
    toolchain: str | None  # the project's lean-toolchain
    lean_version: str | None
    started: str  # this invocation's start, ISO 8601 in UTC
    resumed: int  # rows that an earlier invocation with the same results file wrote
    finished: str | None
    sidecar_version: str
    sidecar_commit: str | None  # the checkout's git commit, "+dirty" when it has edits
    python: str
    matplotlib: str | None
