"""Hover's reading of model answers: every family yields suggestions (issue: completion-style
models write no fenced block, so reading them as chat answers found none)."""

from __future__ import annotations

from lean_bridge.holes import TextModel
from lean_sidecar.prover.endpoint import Sample
from lean_sidecar.prover.task import build_task
from lean_sidecar.search.tactic_replacement import sample_suggestions

TEXT = "theorem t (x : ℕ) (h : 2 ≤ x) : 4 ≤ x * x := by\n  sorry\n"


def _task():  # type: ignore[no-untyped-def]
    model = TextModel(TEXT)
    decl = model.declaration_at(TEXT.index("sorry"))
    assert decl is not None
    start = TEXT.index("sorry")
    return build_task(model, decl, start, start + 5, "x : ℕ\nh : 2 ≤ x\n⊢ 4 ≤ x * x")


def test_a_completion_continuation_gives_its_first_tactic() -> None:
    # what a DeepSeek-Prover-V2 non-CoT completion looks like: the proof continues, no fence
    sample = Sample("nlinarith [sq_nonneg (x - 2), h]\n\ntheorem next : True := trivial\n")
    assert sample_suggestions(_task(), sample, completion=True) == [
        "nlinarith [sq_nonneg (x - 2), h]"
    ]


def test_a_completion_is_not_read_as_a_chat_answer() -> None:
    sample = Sample("nlinarith [sq_nonneg (x - 2), h]\n")
    assert sample_suggestions(_task(), sample, completion=False) == []


def test_a_chat_answer_gives_the_proof_of_its_final_block() -> None:
    answer = (
        "Here is the proof.\n```lean4\ntheorem t (x : ℕ) (h : 2 ≤ x) : 4 ≤ x * x := by\n"
        "  nlinarith [h]\n```\n"
    )
    assert sample_suggestions(_task(), Sample(answer), completion=False) == ["nlinarith [h]"]
