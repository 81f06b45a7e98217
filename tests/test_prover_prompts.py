"""Prompts in each family's published dialect; answers parsed, aligned and refused as needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lean_bridge.holes import TextModel
from lean_bridge.sorry_scan import scan_sorries
from lean_sidecar.prover.endpoint import Sample
from lean_sidecar.prover.extract import extract_script, final_code_block
from lean_sidecar.prover.families import DIALECTS, build_request, guess_family
from lean_sidecar.prover.task import ProofTask, build_task, goal_to_statement

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


def task_for(nth: int, goal: str | None = None) -> ProofTask | None:
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
        assert req.prompt.endswith(":= by")
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
        assert "# Problem:The key fact.\n" in user  # the docstring is the informal statement
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


# ---- sampling presets --------------------------------------------------------------------------
def test_family_sampling_is_the_published_one_unless_the_user_set_a_value() -> None:
    from lean_sidecar.prover.presets import resolve_sampling

    goedel = resolve_sampling("goedel-v2", 0.6, 0.95, 8192, prompt_chars=2000)
    assert (goedel.temperature, goedel.top_p) == (1.0, 0.95)
    assert goedel.max_tokens == 32768  # fits: 40960 - 1000 - 64 > 32768
    kimina = resolve_sampling("kimina", 0.6, 0.95, 8192, prompt_chars=2000)
    assert (kimina.temperature, kimina.max_tokens) == (1.0, 24576)
    assert resolve_sampling("kimina", 0.3, 0.9, 4000).temperature == 0.3  # the user's value
    assert resolve_sampling("kimina", 0.3, 0.9, 4000).max_tokens == 4000
    assert resolve_sampling("goedel-v2", 0.6, 0.95, 8192, use_preset=False).temperature == 0.6
    # a long prompt leaves less room: prompt + max_tokens never exceeds the context
    tight = resolve_sampling("deepseek-v2-cot", 0.6, 0.95, 8192, prompt_chars=40000)
    assert tight.max_tokens == 32768 - 20000 - 64
    served = resolve_sampling("goedel-v2", 0.6, 0.95, 8192, prompt_chars=2000, context=16384)
    assert served.max_tokens == 16384 - 1000 - 64
    assert resolve_sampling("deepseek-v2", 0.6, 0.95, 8192).stop == ("```",)


def test_requests_carry_the_preset() -> None:
    task = task_for(0, None)
    assert task is not None
    req = build_request(task, "goedel-v2", "m", 2, 0.6, 0.95, 8192)
    assert (req.temperature, req.top_p) == (1.0, 0.95) and req.max_tokens > 30000


# ---- tactic suggestions from completions -------------------------------------------------------
def test_continuation_is_cut_at_a_blank_line_or_a_dedent() -> None:
    from lean_sidecar.prover.prompts_tactic import (
        continuation_block,
        first_tactic,
        suggestions_from_completion,
    )

    text = "have h : 0 < x := by\n    positivity\n  nlinarith [h]\n\n  exact foo\n```"
    assert continuation_block(text) == "have h : 0 < x := by\n  positivity\nnlinarith [h]"
    assert first_tactic("have h : 0 < x := by\n  positivity\nnlinarith [h]") == (
        "have h : 0 < x := by\n  positivity"
    )
    assert continuation_block("\n  omega\nend") == "omega"  # dedent below the proof
    assert continuation_block("simp\n  <;> ring\n```\ntext") == "simp\n<;> ring"
    assert continuation_block("-- a comment\n  linarith") == "linarith"
    assert continuation_block("   \n\n") is None
    assert suggestions_from_completion("omega") == ["omega"]


def test_hover_request_for_completion_families_does_not_wait_for_a_fence() -> None:
    from lean_sidecar.prover.prompts_tactic import hover_request

    task = task_for(1, "x : Nat\nh : 0 < x\n⊢ 1 ≤ x")
    assert task is not None
    req = hover_request(task, "m", 2, 1.0, 0.95)
    assert req.kind == "completion" and req.stop == ["\n\n", "```"] and req.max_tokens <= 256
    assert req.prompt.endswith("theorem sidecar_goal (x : Nat) (h : 0 < x) :\n    1 ≤ x := by\n  ")


def test_real_completions_in_the_fixture_yield_their_first_tactic() -> None:
    import json

    from lean_sidecar.prover.prompts_tactic import suggestions_from_completion

    fixture = Path(__file__).parent / "fixtures" / "prompts" / "completions.jsonl"
    records = [json.loads(line) for line in fixture.read_text(encoding="utf-8").splitlines()]
    firsts = [suggestions_from_completion(r["completion"])[0] for r in records]
    assert firsts[0].startswith("have h₃ : i = 1 / 5 + 3 / 5 * Complex.I := by\n  subst_vars")
    assert all(final_code_block(Sample(r["completion"])) is None for r in records[:4])
    assert "obtain ⟨hp, hq⟩ := h₀" in firsts


def test_real_completions_yield_suggestions() -> None:
    """Every raw completion of the published sample (DeepSeek-Prover-V2-7B non-CoT,
    Goedel-Prover-SFT, Kimina-Preview-Distill on the completion path) run through the parser:
    before, final_code_block found no fence in any of them."""
    import json
    from collections import Counter
    from pathlib import Path

    from lean_sidecar.prover.prompts_tactic import suggestions_from_completion

    sample = Path("/work/shared/prover-outputs/sample.jsonl")
    if not sample.exists():
        pytest.skip("the shared sample of prover outputs is not on this machine")
    got: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for line in sample.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["family"] != "deepseek-v2" or r["form"] != "raw":
            continue
        total[r["model"]] += 1
        assert final_code_block(Sample(r["completion"])) is None or "```" in r["completion"]
        suggestions = suggestions_from_completion(r["completion"])
        if suggestions:
            got[r["model"]] += 1
            assert all(s.strip() and "```" not in s for s in suggestions)
    print({m: f"{got[m]}/{total[m]}" for m in total})
    assert got["DeepSeek-Prover-V2-7B"] == total["DeepSeek-Prover-V2-7B"] == 52
    assert got["Goedel-Prover-SFT (V1)"] == total["Goedel-Prover-SFT (V1)"]


# ---- symbolic cascade plan ---------------------------------------------------------------------
def test_toolchain_and_manifest_are_read() -> None:
    from lean_sidecar.prover.cascade_plan import mathlib_rev, parse_toolchain

    assert parse_toolchain("leanprover/lean4:v4.22.0\n") == (4, 22, 0)
    assert parse_toolchain("leanprover/lean4:v4.23.0-rc2") == (4, 23, 0)
    assert parse_toolchain("v4.9.0") == (4, 9, 0)
    assert parse_toolchain("leanprover/lean4:nightly-2025-06-01") is None
    manifest = (
        '{"version": 7, "packages": [{"name": "mathlib", "rev": "abc", "inputRev": "v4.24.0"}]}'
    )
    assert mathlib_rev(manifest) == "v4.24.0"
    assert mathlib_rev('{"packages": []}') is None and mathlib_rev("not json") is None


@pytest.mark.parametrize(
    ("version", "grind", "decide_kernel"),
    [
        ((4, 9, 0), False, None),
        ((4, 14, 0), False, "decide!"),
        ((4, 15, 0), False, "decide +kernel"),
        ((4, 21, 0), False, "decide +kernel"),
        ((4, 22, 0), True, "decide +kernel"),
        ((4, 24, 0), True, "decide +kernel"),
    ],
)
def test_cascade_per_lean_version(
    version: tuple[int, int, int], grind: bool, decide_kernel: str | None
) -> None:
    from lean_sidecar.prover.cascade_plan import cascade_plan

    steps = cascade_plan(version, has_mathlib=True)
    names = [s.tactic for s in steps]
    assert ("grind" in names) is grind and ("try?" in names) is grind
    kernel = [n for n in names if n in ("decide!", "decide +kernel")]
    assert kernel == ([decide_kernel] if decide_kernel else [])
    closers = [s.tactic for s in steps if s.role == "closer"]
    assert closers[:3] == ["rfl", "trivial", "decide"] and closers[-1] == "aesop"
    assert [s.tactic for s in steps if s.role == "generator"][-3:] == ["exact?", "apply?", "hint"]
    assert all(s.heartbeats > 0 and s.seconds > 0 for s in steps)
    assert (
        steps[0].wrap("example : 1 = 1 := by rfl").startswith("set_option maxHeartbeats 20000 in\n")
    )


def test_cascade_without_mathlib_keeps_core_tactics(tmp_path: Path) -> None:
    from lean_sidecar.prover.cascade_plan import cascade_plan, plan_for_project

    core = [s.tactic for s in cascade_plan((4, 22, 0), has_mathlib=False)]
    assert "norm_num" not in core and "hint" not in core and "aesop" not in core
    assert {"omega", "grind", "exact?", "simp_all"} <= set(core)
    (tmp_path / "lean-toolchain").write_text("leanprover/lean4:v4.14.0\n")
    assert "norm_num" not in [s.tactic for s in plan_for_project(tmp_path)]
    (tmp_path / "lake-manifest.json").write_text('{"packages": [{"name": "mathlib", "rev": "x"}]}')
    names = [s.tactic for s in plan_for_project(tmp_path)]
    assert "norm_num" in names and "decide!" in names and "grind" not in names
