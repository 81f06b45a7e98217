"""Prompts in each family's published dialect; answers parsed, aligned and refused as needed."""

from __future__ import annotations

import pytest

from lean_bridge.holes import TextModel
from lean_bridge.sorry_scan import scan_sorries
from lean_sidecar.prover.endpoint import Sample
from lean_sidecar.prover.extract import extract_script, final_code_block
from lean_sidecar.prover.families import DIALECTS, build_request, guess_family
from lean_sidecar.prover.task import build_task, goal_to_statement

FILE = """import Mathlib
open Nat

theorem helper (n : Nat) : n ≤ n + 1 := by omega

/-- The key fact. -/
theorem key (a b : Nat) (h : a ≤ b) : a < b + 1 := by
  sorry

theorem nested (x : Nat) (h : 0 < x) : 1 ≤ x * x := by
  have hx : 1 ≤ x := by sorry
  nlinarith
"""


def task_for(nth: int, goal: str | None = None):
    model = TextModel(FILE)
    tok = scan_sorries(FILE)[nth]
    decl = model.declaration_at(tok.start)
    assert decl is not None
    return build_task(model, decl, tok.start, tok.end, goal)


def test_whole_proof_hole_is_asked_as_its_declaration() -> None:
    task = task_for(0, "a b : Nat\nh : a ≤ b\n⊢ a < b + 1")
    assert task is not None and task.whole_declaration
    assert task.header == "import Mathlib\nopen Nat"
    assert "theorem helper" in task.context
    assert task.statement.startswith("/-- The key fact. -/\ntheorem key")
    assert task.statement.endswith("a < b + 1 := by")


def test_nested_hole_is_asked_as_a_goal_lemma() -> None:
    task = task_for(1, "x : Nat\nh : 0 < x\n⊢ 1 ≤ x")
    assert task is not None and not task.whole_declaration
    assert task.statement == "theorem sidecar_goal (x : Nat) (h : 0 < x) :\n    1 ≤ x := by"


def test_goal_with_instances_cases_and_inaccessible_names() -> None:
    goal = "case pos\np : Prop\ninst✝ : Decidable p\nx✝ : Nat\nhp : p\n⊢ p ∨\n    ¬p"
    assert goal_to_statement(goal) == (
        "theorem sidecar_goal (p : Prop) [Decidable p] (anon2_0 : Nat) (hp : p) :\n    p ∨ ¬p := by"
    )
    assert goal_to_statement("no turnstile") is None


@pytest.mark.parametrize("family", sorted(DIALECTS))
def test_each_family_has_its_dialect(family: str) -> None:
    task = task_for(0, "a b : Nat\nh : a ≤ b\n⊢ a < b + 1")
    assert task is not None
    req = build_request(task, family, "m", 4, 0.6, 0.95, 1024)
    assert req.n == 4 and req.model == "m"
    if family == "deepseek-v2":
        assert req.kind == "completion" and req.stop == ["```"]
        assert req.prompt.startswith(
            "Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib"
        )
        assert req.prompt.endswith(":= by\n")
        return
    user = req.messages[-1]["content"]
    assert "theorem key (a b : Nat) (h : a ≤ b) : a < b + 1 := by" in user
    if family == "kimina":
        assert req.messages[0] == {
            "role": "system",
            "content": "You are an expert in mathematics and proving theorems in Lean 4.",
        }
        assert user.startswith(
            "Think about and solve the following problems step by step in Lean 4.\n\n# Problem:\n"
        )
        assert "# Formal Statement:\n```lean4\nimport Mathlib" in user
    elif family == "kimina-preview":
        assert req.messages[0]["content"] == "You are an expert in mathematics and Lean 4."
        assert "# Problem:a b : Nat" in user
    elif family == "deepseek-v2-cot":
        assert len(req.messages) == 1 and ":= by\n  sorry\n```\n\nBefore producing" in user
    elif family == "goedel-v2":
        assert len(req.messages) == 1 and ":= by sorry```\n\nBefore producing" in user


def test_guess_family() -> None:
    assert guess_family("AI-MO/Kimina-Prover-Distill-8B") == "kimina"
    assert guess_family("AI-MO/Kimina-Prover-Preview-Distill-7B") == "kimina-preview"
    assert guess_family("deepseek-ai/DeepSeek-Prover-V2-7B") == "deepseek-v2-cot"
    assert guess_family("Goedel-LM/Goedel-Prover-V2-8B") == "goedel-v2"


def test_final_block_after_thinking_and_statement_alignment() -> None:
    task = task_for(0, None)
    assert task is not None
    answer = (
        "<think>try ```lean4\ntheorem key (a b : Nat) (h : a ≤ b) : a < b + 1 := by\n  simp\n```</think>\n"
        "Final:\n```lean4\nimport Mathlib\n\ntheorem key (a b : Nat) (h : a ≤ b) :\n    a < b + 1 := by\n"
        "  have h2 := Nat.lt_succ_of_le h\n  exact h2\n```"
    )
    code = final_code_block(Sample(answer))
    assert code is not None and "have h2" in code
    got = extract_script(task, code)
    assert got.script == "have h2 := Nat.lt_succ_of_le h\nexact h2"


def test_changed_statement_is_refused() -> None:
    task = task_for(0, None)
    assert task is not None
    code = "theorem key (a b : Nat) (h : a ≤ b) : a ≤ b + 1 := by\n  omega\n"
    assert extract_script(task, code).reason == "the answer changes the statement"
    assert extract_script(task, "just words").reason == "no theorem in the answer"
    assert final_code_block(Sample("no code at all")) is None


def test_completion_dialect_is_cut_at_the_fence() -> None:
    task = task_for(0, None)
    assert task is not None
    prefix = task.statement + "\n"
    code = final_code_block(Sample("  omega\n```\nmore chatter"), completion_prefix=prefix)
    assert code is not None
    assert extract_script(task, code).script == "omega"


def test_renamed_theorem_with_same_statement_is_accepted() -> None:
    task = task_for(1, "x : Nat\nh : 0 < x\n⊢ 1 ≤ x")
    assert task is not None
    code = "theorem whatever (x : Nat) (h : 0 < x) : 1 ≤ x := by\n  omega"
    assert extract_script(task, code).script == "omega"


def test_negation_of_a_goal_with_a_long_hypothesis_and_an_instance() -> None:
    from lean_sidecar.prover.sketch import negation_statement

    goal = "p : Prop\ninst✝ : Decidable p\nh : p ∧\n  p\n⊢ p"
    assert (
        negation_statement(goal)
        == "theorem sidecar_negation : ¬(∀ (p : Prop) [Decidable p] (h : p ∧ p), p) := by"
    )
    assert negation_statement("⊢ 1 = 1") == "theorem sidecar_negation : ¬(1 = 1) := by"
