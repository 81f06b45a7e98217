"""Known defective benchmark statements: a proof of one says little about the prover, so the
summary and the report flag them (they are still searched and counted).

A defect is tied to a statement's *shape*, not only to its name: the same problem is stated
correctly in some copies of miniF2F and wrongly in others, so an entry flags a problem only when
its statement (whitespace collapsed) still matches ``shape``.

Sources:
- deepseek-ai/DeepSeek-Prover-V1.5 issue #26 ("Statement defects in datasets/minif2f.jsonl",
  2026-09-13), machine-checked under Lean 4.9: five statements whose big-operator body is not
  parenthesised, so ``k`` escapes its binder and is auto-bound as a free variable (the goal shows
  ``k`` among the hypotheses); mathd_algebra_158 is then vacuous (its hypotheses contradict by
  parity); mathd_algebra_314 has no real-type ascription, so over ℕ it reads ``0 = 0``.
  deepseek-ai/DeepSeek-Prover-V1.5 PR #27 proposes the repaired statements.
- Checked against shared/data: ``deepseek-prover-v1.5/minif2f.jsonl`` (minif2f-ds-test) has all
  six; yangky11/miniF2F-lean4 (minif2f-test) parenthesises the five bodies but states
  mathd_algebra_314 over ℕ too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lean_sidecar.evaluation.problems import Problem

SOURCE = "https://github.com/deepseek-ai/DeepSeek-Prover-V1.5/issues/26"

# A big operator whose body starts without a parenthesis: `∑ k in s, a + k * d` is
# `(∑ k in s, a) + k * d`, and the second `k` is a new, free variable.
_UNPARENTHESISED = r"[∑∏] k (?:in|∈) [^,]+, (?!\()"


@dataclass(frozen=True)
class Defect:
    reason: str
    shape: str  # a regex: the statement (whitespace collapsed) still has the defect if it matches
    source: str = SOURCE


KNOWN_DEFECTS: Mapping[str, Defect] = {
    "induction_pord1p1on2powklt5on2": Defect(
        "k escapes its binder: the product is ∏ 1, and 1 / 2 ^ k has a free k",
        _UNPARENTHESISED,
    ),
    "induction_prod1p1onk3le3m1onn": Defect(
        "k escapes its binder: the product is ∏ 1, and 1 / k ^ 3 has a free real k",
        _UNPARENTHESISED,
    ),
    "amc12a_2021_p9": Defect(
        "k escapes its binder: the product is ∏ 2 ^ 2 ^ k over the range, plus 3 ^ 2 ^ k "
        "for a free k",
        _UNPARENTHESISED,
    ),
    "mathd_algebra_158": Defect(
        "k escapes its binder, and the statement is vacuous: its hypotheses contradict (by parity)",
        _UNPARENTHESISED,
    ),
    "mathd_algebra_342": Defect(
        "k escapes its binder: each sum is ∑ a, plus k * d for a free k",
        _UNPARENTHESISED,
    ),
    "mathd_algebra_314": Defect(
        "trivial over ℕ: 1 / 4 is 0, so the goal reads 0 = 0",
        # n : ℕ and no ℝ/ℚ ascription anywhere in the statement
        r"^(?!.*[ℝℚ]).*\(n : ℕ\).*\(1 / 4\) ?\^",
    ),
}


def defect_of(problem: Problem) -> Defect | None:
    """The known defect of this problem's statement, if it still has it."""
    known = KNOWN_DEFECTS.get(problem.name)
    if known is None:
        return None
    statement = " ".join(problem.formal_statement.split())
    return known if re.search(known.shape, statement) else None


def defects_in(problems: Iterable[Problem]) -> dict[str, str]:
    """name → reason, for the problems whose statements have a known defect."""
    return {p.name: d.reason for p in problems if (d := defect_of(p)) is not None}
