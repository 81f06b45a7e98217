"""Golden tests: first-turn prompts and error-fix turns, character for character as published.

Expected texts are written out by hand from the published recipes (sources in
tests/fixtures/prompts/README.md and in server/lean_sidecar/prover/feedback.py), one anchor is the published
example message of Kimina's demo README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lean_bridge.holes import TextModel
from lean_bridge.sorry_scan import scan_sorries
from lean_sidecar.prover.endpoint import GenerationRequest
from lean_sidecar.prover.families import DIALECTS, build_request
from lean_sidecar.prover.feedback import (
    LeanError,
    fix_turn,
    goals_at_error,
    goedel_error_message,
    goedel_feedback,
    kimina_feedback,
    sanitize_messages,
)
from lean_sidecar.prover.task import ProofTask, build_task

FIXTURES = Path(__file__).parent / "fixtures" / "prompts"

# A user's file as typed: no blank lines in the header (the prompt must restore them).
USER_FILE = (
    "import Mathlib\nimport Aesop\nset_option maxHeartbeats 400000\n"
    "open BigOperators Real Nat Topology Rat\n\n"
    "/-- What is the positive difference between $120\\%$ of 30 and $130\\%$ of 20? "
    "Show that it is 10.-/\n"
    "theorem mathd_algebra_10 : abs ((120 : ℝ) / 100 * 30 - 130 / 100 * 20) = 10 := by\n"
    "  sorry\n"
)


def whole_task(text: str) -> ProofTask:
    model = TextModel(text)
    tok = scan_sorries(text)[0]
    decl = model.declaration_at(tok.start)
    assert decl is not None
    task = build_task(model, decl, tok.start, tok.end, None)
    assert task is not None and task.whole_declaration
    return task


@pytest.mark.parametrize("family", sorted(DIALECTS))
def test_first_turn_prompt_is_the_published_template(family: str) -> None:
    want = (FIXTURES / f"{family}.txt").read_text(encoding="utf-8")
    req = build_request(whole_task(USER_FILE), family, "m", 1, 0.6, 0.95, 8192)
    got = req.prompt if req.kind == "completion" else req.messages[-1]["content"]
    assert got == want
    system = [m["content"] for m in req.messages if m["role"] == "system"]
    if family == "kimina":
        assert system == ["You are an expert in mathematics and proving theorems in Lean 4."]
    elif family == "kimina-preview":
        assert system == ["You are an expert in mathematics and Lean 4."]
    else:
        assert system == []


# ---- Kimina ------------------------------------------------------------------------------------
KIMINA_CODE = (
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\n"
    "theorem five_pow_mod (E : ℕ) (h1 : 4 ≤ E) (h2 : E ≡ 1 [MOD 4]) : 5 ^ E % 625 = 0 := by\n"
    "  have h3 : E % 4 = 1 := h2\n"
    "  induction E with\n"
    "  | zero => omega\n"
    "  | succ k ih =>\n"
    "    omega\n"
)
OMEGA_MESSAGE = (
    "omega could not prove the goal:\na possible counterexample may satisfy the constraints\n"
    "  1 ≤ b - 625*c ≤ 624\n  a ≥ 1\nwhere\n a := ↑E / 4\n b := ↑5 ^ (4 + (k + 1))\n"
    " c := ↑(5 ^ (4 + (k + 1))) / 625\n"
)
GOAL_AT_ERROR = (
    "case succ\nE : ℕ\nh1 : 4 ≤ E\nh2 : E ≡ 1 [MOD 4]\nh3 : E % 4 = 1\nh4 : E ≥ 4\n"
    "h5 : 5 ^ E % 16 = 5\nh9 : E ≥ 4\nk : ℕ\nih : 5 ^ (4 + k) % 625 = 0\n"
    "⊢ 5 ^ (4 + (k + 1)) % 625 = 0"
)
# The published example of MoonshotAI/Kimina-Prover-Preview@d31a49e:kimina_prover_demo/README.md
DEMO_README_MESSAGE = (
    "# Error 1:\nGoals state before error position: \n"
    + GOAL_AT_ERROR
    + (
        "\n\nError message: \nomega could not prove the goal:\n"
        "a possible counterexample may satisfy the constraints\n  1 ≤ b - 625*c ≤ 624\n  a ≥ 1\n"
        "where\n a := ↑E / 4\n b := ↑5 ^ (4 + (k + 1))\n c := ↑(5 ^ (4 + (k + 1))) / 625"
    )
)


def node(start: tuple[int, int], end: tuple[int, int], goals: list[str], children=()):  # type: ignore[no-untyped-def]
    rng = {
        "start": {"line": start[0], "column": start[1]},
        "finish": {"line": end[0], "column": end[1]},
    }
    return {"node": {"stx": {"range": rng}, "goalsBefore": goals}, "children": list(children)}


def kimina_feedback_for(code: str) -> tuple[list[LeanError], list[str | None]]:
    messages = [
        {"severity": "warning", "pos": {"line": 7, "column": 2}, "data": "unused"},
        {"severity": "error", "pos": {"line": 11, "column": 4},
         "endPos": {"line": 11, "column": 9}, "data": OMEGA_MESSAGE},
    ]  # fmt: skip
    hole_first_goal = "E : ℕ\nh1 : 4 ≤ E\nh2 : E ≡ 1 [MOD 4]\n⊢ 5 ^ E % 625 = 0"
    infotree = [
        node((6, 0), (11, 9), [hole_first_goal], [  # the whole proof: not inside the error
            node((11, 4), (11, 6), ["a goal further from the error span"]),
            node((11, 4), (11, 9), [GOAL_AT_ERROR]),
        ])
    ]  # fmt: skip
    errors = sanitize_messages(messages, code)
    return errors, [goals_at_error(infotree, e) for e in errors]


def test_kimina_fix_turn_shows_the_goal_at_the_error_and_body_relative_lines() -> None:
    errors, goals = kimina_feedback_for(KIMINA_CODE)
    text = kimina_feedback(KIMINA_CODE, errors, goals)
    assert text is not None and text.startswith(DEMO_README_MESSAGE)
    # split_proof_header: the body starts after the two import lines, so the blank line after
    # them is 001 and the error on file line 11 is 009.
    assert text == DEMO_README_MESSAGE + (
        "\n\nLean 4 code snippet with error:\n```lean4\n"
        "007  |   | zero => omega\n008  |   | succ k ih =>\n009 >|     omega\n```\n"
    )


def test_kimina_feedback_over_3000_characters_is_dropped_not_cut() -> None:
    long = [LeanError(11, 4, 11, 9, "x" * 1000) for _ in range(3)]
    assert kimina_feedback(KIMINA_CODE, long) is None
    assert kimina_feedback(KIMINA_CODE, long[:2]) is not None
    many = [LeanError(11, 4, 11, 9, f"error {k}") for k in range(5)]
    text = kimina_feedback(KIMINA_CODE, many)
    assert text is not None and "# Error 3:" in text and "# Error 4:" not in text


def test_kimina_fix_turn_keeps_the_previous_reasoning() -> None:
    prev = GenerationRequest(
        "chat", "m", 4, 1.0, 0.95, 100, messages=[{"role": "user", "content": "p"}]
    )
    raw = [{"severity": "error", "pos": {"line": 11, "column": 4},
            "endPos": {"line": 11, "column": 9}, "data": OMEGA_MESSAGE}]  # fmt: skip
    turn = fix_turn(prev, "```lean4\ncode\n```", "kimina", KIMINA_CODE, raw, 1, 2,
                    reasoning="\nI try omega.\n")  # fmt: skip
    assert turn is not None and turn.n == 2
    assert turn.messages[1] == {
        "role": "assistant",
        "content": "<think>\nI try omega.\n</think>```lean4\ncode\n```",
    }
    assert turn.messages[2]["content"].startswith("# Error 1:\nError message: \nomega could not")
    assert fix_turn(prev, "a", "kimina", KIMINA_CODE, raw, 2, 1) is None  # one fix turn only
    assert fix_turn(prev, "a", "deepseek-v2", KIMINA_CODE, raw, 1, 1) is None  # completion


# ---- Goedel ------------------------------------------------------------------------------------
GOEDEL_CODE = (
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\n"
    "open BigOperators Real Nat Topology Rat\n\n"
    "theorem t (x : ℝ) (h : 0 < x) : x ^ 2 > 0 := by\n"
    "  have hx : x ≠ 0 := by linarith\n"
    "  nlinarith [sq_nonneg x]"
)
GOEDEL_ERRORS = [
    LeanError(9, 24, 9, 32, "linarith failed to find a contradiction"),
    LeanError(10, 2, None, None, "nlinarith failed"),
    LeanError(8, 0, 10, 25, "unsolved goals"),
]
GOEDEL_ROUND_0 = (
    "The proof (Round 0) is not correct. Following is the compilation error message, where we "
    "use <error></error> to signal the position of the error.\n\n"
    "\nError 1:\n\nCorresponding Code:\n```lean4\n"
    "\nopen BigOperators Real Nat Topology Rat\n\ntheorem t (x : ℝ) (h : 0 < x) : x ^ 2 > 0 := by\n"
    "  have hx : x ≠ 0 := by <error>linarith</error>\n"
    "  nlinarith [sq_nonneg x]\n"
    "\n```\n\nError Message: linarith failed to find a contradiction\n"
    "\nError 2:\n\nCorresponding Code:\n```lean4\n"
    "open BigOperators Real Nat Topology Rat\n\ntheorem t (x : ℝ) (h : 0 < x) : x ^ 2 > 0 := by\n"
    "  have hx : x ≠ 0 := by linarith\n"
    "  <error>nlinarith [sq_nonneg x]</error>\n"
    "\n```\n\nError Message: nlinarith failed\n"
    "\nError 3:\n\nCorresponding Code:\n```lean4\n"
    "set_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n\n"
    "<error>theorem t (x : ℝ) (h : 0 < x) : x ^ 2 > 0 := by\n"
    "  have hx : x ≠ 0 := by linarith\n"
    "  nlinarith [sq_nonneg x]</error>\n"
    "\n```\n\nError Message: unsolved goals\n"
    "\n\nBefore producing the Lean 4 code to formally prove the given theorem, provide a detailed "
    "analysis of the error message."
)


def test_goedel_first_correction_is_round_0_with_error_span_markup() -> None:
    assert goedel_feedback(GOEDEL_CODE, GOEDEL_ERRORS, 1) == GOEDEL_ROUND_0
    assert goedel_feedback(GOEDEL_CODE, GOEDEL_ERRORS, 2).startswith("The proof (Round 1) is")


def test_goedel_keeps_8_errors_and_truncates_long_spans() -> None:
    ten = [LeanError(9, 2, 9, 4, f"e{k}") for k in range(10)]
    text = goedel_error_message(GOEDEL_CODE, ten)
    assert "\nError 8:\n" in text and "\nError 9:\n" not in text
    assert text.endswith("\n... [Omitted 2 more errors] ...\n")
    code = (
        "theorem long : True := by\n" + "".join(f"    skip{k}\n" for k in range(10)) + "  trivial"
    )
    span = goedel_error_message(code, [LeanError(1, 0, 12, 9, "slow")])
    assert "    skip4\n\n    ... --[Truncated]-- ...\n  trivial</error>\n" in span
    assert "skip5" not in span


def test_feedback_is_only_leans_messages_about_the_candidate() -> None:
    code = "theorem a : True := by\n  exact foo"
    raw = [
        {"severity": "error", "pos": {"line": 2, "column": 8}, "endPos": {"line": 2, "column": 11},
         "data": "unknown identifier 'foo' at /home/alice/.elan/toolchains/x/lib/Foo.lean sk-12345678"},
        {"severity": "error", "pos": {"line": 40, "column": 0}, "data": "from another command"},
        {"severity": "error", "data": "no position"},
        {"severity": "info", "pos": {"line": 1, "column": 0}, "data": "HOME=/home/alice"},
        "not a message",
    ]  # fmt: skip
    clean = sanitize_messages(raw, code, secrets=["sk-12345678"])
    assert clean == [LeanError(2, 8, 2, 11, "unknown identifier 'foo' at <path> <redacted>")]
