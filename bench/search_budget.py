"""Holes solved against samples spent on the fixture set, for whole-proof sampling only, with
error-fix rounds, and with decomposition as well — in one run, as a table.

    python bench/search_budget.py [--budget 24]

The fixture holes and the scripted model answers are those of tests/test_deep_search.py: one
hole the model proves outright, one that needs an error-fix round, one that needs a sketch two
levels deep, one whose first sketch holds a false lemma, one with a repeated sub-goal, and one
that nothing proves. Like those tests, it runs the engine on the in-process fakes (tests/fakes:
Lean's verdicts from the REPL facts, the scripted samples): the figures are the search's
decisions; the seconds are the engine's own overhead, not Lean's or a model's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.search_helpers import lean_answer  # noqa: E402
from tests.test_deep_search import SKETCH_MARK, run, statement_prompt  # noqa: E402


def holes() -> list[tuple[str, str, list[dict], list[str]]]:
    """(statement, goal, endpoint script, cascade tactics) per hole."""
    s_direct = "theorem direct (p q : Prop) (hp : p) (hq : q) : p ∧ q := by"
    s_fix = "theorem fixme (a b : ℝ) (h : a < b) : a ≤ b := by"
    s_deep = "theorem deep (x : ℕ) (h : 3 ≤ x) : 2 ≤ x * x - x := by"
    lemma1 = "theorem sidecar_goal (x : ℕ) (h : 3 ≤ x) :\n    x ≤ x * x - x := by"
    s_falsy = "theorem falsy (n : ℕ) (h : 0 < n) : n ≤ 2 * n := by"
    s_twice = "theorem twice (n : ℕ) : 0 ≤ n * n ∧ 0 ≤ n * n := by"
    s_never = "theorem never (n : ℕ) : n ≠ n + 1 := by"
    tactics = ["omega", "positivity", "nlinarith"]
    return [
        (
            s_direct,
            "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q",
            [
                {
                    "match": statement_prompt(s_direct),
                    "responses": [
                        {
                            "texts": [
                                lean_answer(s_direct, "  simp"),
                                lean_answer(s_direct, "  exact ⟨hp, hq⟩"),
                            ]
                        }
                    ],
                }
            ],
            tactics,
        ),
        (
            s_fix,
            "a b : ℝ\nh : a < b\n⊢ a ≤ b",
            [
                {
                    "match": "# Error 1:",
                    "responses": [{"texts": [lean_answer(s_fix, "  exact le_of_lt h")]}],
                },
                {
                    "match": statement_prompt(s_fix),
                    "responses": [{"texts": [lean_answer(s_fix, "  linarith [sq_nonneg a]")]}],
                },
            ],
            tactics,
        ),
        (
            s_deep,
            "x : ℕ\nh : 3 ≤ x\n⊢ 2 ≤ x * x - x",
            [
                {
                    "match": s_deep + SKETCH_MARK,
                    "responses": [
                        {
                            "texts": [
                                lean_answer(
                                    s_deep, "  have h1 : x ≤ x * x - x := by sorry\n  omega"
                                )
                            ]
                        }
                    ],
                },
                {
                    "match": "x ≤ x * x - x := by" + SKETCH_MARK,
                    "responses": [
                        {
                            "texts": [
                                lean_answer(
                                    lemma1, "  have h2 : 2 * x ≤ x * x := by sorry\n  omega"
                                )
                            ]
                        }
                    ],
                },
                {
                    "match": statement_prompt(s_deep),
                    "responses": [{"texts": [lean_answer(s_deep, "  nlinarith [h]")]}],
                },
            ],
            tactics,
        ),
        (
            s_falsy,
            "n : ℕ\nh : 0 < n\n⊢ n ≤ 2 * n",
            [
                {
                    "match": s_falsy + SKETCH_MARK,
                    "responses": [
                        {
                            "texts": [
                                lean_answer(s_falsy, "  have bad : n ≤ 1 := by sorry\n  omega"),
                                lean_answer(
                                    s_falsy, "  have good : n ≤ n + n := by sorry\n  omega"
                                ),
                            ]
                        }
                    ],
                },
                {
                    "match": statement_prompt(s_falsy),
                    "responses": [{"texts": [lean_answer(s_falsy, "  linarith")]}],
                },
            ],
            ["omega"],
        ),
        (
            s_twice,
            "n : ℕ\n⊢ 0 ≤ n * n ∧ 0 ≤ n * n",
            [
                {
                    "match": s_twice + SKETCH_MARK,
                    "responses": [
                        {"texts": [lean_answer(s_twice, "  constructor\n  · sorry\n  · sorry")]}
                    ],
                },
                {
                    "match": statement_prompt(s_twice),
                    "responses": [{"texts": [lean_answer(s_twice, "  nlinarith")]}],
                },
            ],
            ["omega", "positivity"],
        ),
        (
            s_never,
            "n : ℕ\n⊢ n ≠ n + 1",
            [
                {
                    "match": statement_prompt(s_never),
                    "responses": [{"texts": [lean_answer(s_never, "  simp")]}],
                }
            ],
            ["omega"],
        ),
    ]


CONFIGS = {
    "whole-proof only": {"fix_rounds": 0, "decompose_depth": 0},
    "+ error-fix": {"fix_rounds": 1, "decompose_depth": 0},
    "+ decomposition": {"fix_rounds": 1, "decompose_depth": 2},
}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=int, default=24, help="samples per hole")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lean-sidecar-budget-"))
    rows = []
    for name, overrides in CONFIGS.items():
        solved = spent = requests = 0
        t0 = time.perf_counter()
        solved_names = []
        for k, (stmt, goal, script, tactics) in enumerate(holes()):
            text = f"import Mathlib\n\n{stmt}\n  sorry\n"
            result, ep, _ = await run(
                tmp / f"{name[:6].strip('+ ')}{k}",
                text,
                goal,
                script,
                budget=args.budget,
                tactics=tactics,
                **overrides,
            )
            solved += result.status == "solved"
            spent += result.samples
            requests += len(ep.generation_requests())
            if result.status == "solved":
                solved_names.append(stmt.split()[1])
        rows.append((name, solved, spent, requests, time.perf_counter() - t0, solved_names))
    n = len(holes())
    print(
        f"{n} fixture holes, budget {args.budget} samples each, scripted model answers, fake Lean"
    )
    print(
        f"{'configuration':18} {'solved':>7} {'samples':>8} {'requests':>9} {'seconds':>8}  solved holes"
    )
    for name, solved, spent, requests, seconds, names in rows:
        print(
            f"{name:18} {solved:>4}/{n} {spent:8d} {requests:9d} {seconds:8.2f}  {', '.join(names)}"
        )


if __name__ == "__main__":
    asyncio.run(main())
