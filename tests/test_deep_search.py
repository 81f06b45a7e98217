"""Deeper search with scripted model answers; the tests check the attempt tree, not only the
final text: (a) one error-fix round, (b) decomposition two levels deep, (c) a false lemma dropped
by the negation filter before any sample is spent on it, (d) a repeated sub-goal solved once.

Search logic on the in-process fakes (tests/fakes: Lean's verdicts from deep_facts.json, the
scripted samples); the real HTTP client where the assertion is about its streams."""

from __future__ import annotations

from pathlib import Path

import pytest

from lean_sidecar.prover.endpoint import EndpointClient
from lean_sidecar.search.engine import Attempt, HoleResult, SearchEngine
from lean_sidecar.settings import Settings
from tests.conftest import PROJECT
from tests.fakes import FakeEndpoint, FakeVerifier
from tests.search_helpers import lean_answer, site_and_task
from tests.standins.openai_endpoint import StandInEndpoint

FACTS = PROJECT / "deep_facts.json"
SKETCH_MARK = "\n```\n\n\nDo not prove the theorem directly"


def statement_prompt(last_line: str) -> str:
    """A rule that matches the whole-proof prompt whose statement ends with ``last_line``."""
    return f"{last_line}\n```\n"


async def run(
    tmp: Path, text: str, goal: str, script: list[dict], **overrides
) -> tuple[HoleResult, FakeEndpoint, FakeVerifier]:
    lean = FakeVerifier.from_file(FACTS)
    ep = FakeEndpoint(script=script)
    settings = Settings(
        tactics=overrides.pop("tactics", ["omega", "positivity", "nlinarith"]),
        budget_samples=overrides.pop("budget", 24),
        samples_per_request=2,
        endpoint_concurrency=1,
        fix_rounds=overrides.pop("fix_rounds", 1),
        decompose_depth=overrides.pop("decompose_depth", 2),
        sketch_samples=2,
        negation_samples=1,
        cache_path=tmp / "c.sqlite",
        **overrides,
    )
    engine = SearchEngine(settings, lean, ep, None)
    site, task = site_and_task(text, 0, goal)
    result = await engine.search(site, goal, task)
    await ep.close()
    return result, ep, lean


def kinds(attempts: list[Attempt]) -> list[tuple[str, str]]:
    return [(a.kind, a.outcome) for a in attempts]


async def test_a_one_error_fix_round_succeeds(tmp_path: Path) -> None:
    stmt = "theorem fixme (a b : ℝ) (h : a < b) : a ≤ b := by"
    text = f"import Mathlib\n\n{stmt}\n  sorry\n"
    script = [
        {
            "match": "# Error 1:",
            "responses": [{"texts": [lean_answer(stmt, "  exact le_of_lt h")]}],
        },
        {
            "match": statement_prompt(stmt),
            "responses": [{"texts": [lean_answer(stmt, "  linarith [sq_nonneg a]")]}],
        },
    ]
    result, ep, _ = await run(tmp_path, text, "a b : ℝ\nh : a < b\n⊢ a ≤ b", script, budget=4)
    assert [(f.script, f.how) for f in result.found] == [("exact le_of_lt h", "model")]
    samples = [a for a in result.attempts if a.kind == "sample"]
    assert {a.outcome for a in samples} == {"duplicate", "rejected"}  # the same text, checked once
    (rejected,) = [a for a in samples if a.outcome == "rejected"]
    assert "linarith failed" in (rejected.detail or "")
    assert kinds(rejected.children) == [("fix", "verified")]
    fix_prompt = next(r.body for r in ep.generation_requests() if "# Error 1:" in str(r.body))
    assert fix_prompt is not None
    roles = [m["role"] for m in fix_prompt["messages"]]
    assert roles == [
        "system",
        "user",
        "assistant",
        "user",
    ]  # the answer verbatim, then Lean's errors
    feedback = fix_prompt["messages"][-1]["content"]
    assert "Error message: \nlinarith failed to find a contradiction" in feedback
    assert (
        " >|   linarith [sq_nonneg a]" in feedback
    )  # the error line, marked, in the candidate's lines


async def test_b_only_decomposition_succeeds_two_levels_deep(tmp_path: Path) -> None:
    stmt = "theorem deep (x : ℕ) (h : 3 ≤ x) : 2 ≤ x * x - x := by"
    text = f"import Mathlib\n\n{stmt}\n  sorry\n"
    sketch0 = lean_answer(stmt, "  have h1 : x ≤ x * x - x := by sorry\n  omega")
    lemma1 = "theorem sidecar_goal (x : ℕ) (h : 3 ≤ x) :\n    x ≤ x * x - x := by"
    sketch1 = lean_answer(lemma1, "  have h2 : 2 * x ≤ x * x := by sorry\n  omega")
    script = [
        {"match": stmt + SKETCH_MARK, "responses": [{"texts": [sketch0]}]},
        {"match": "x ≤ x * x - x := by" + SKETCH_MARK, "responses": [{"texts": [sketch1]}]},
        {
            "match": statement_prompt(stmt),
            "responses": [{"texts": [lean_answer(stmt, "  nlinarith [h]")]}],
        },
        {
            "match": statement_prompt("x ≤ x * x - x := by"),
            "responses": [{"texts": [lean_answer(lemma1, "  linarith")]}],
        },
    ]
    result, ep, lean = await run(
        tmp_path, text, "x : ℕ\nh : 3 ≤ x\n⊢ 2 ≤ x * x - x", script, fix_rounds=0
    )
    assert result.status == "solved", [a.to_json() for a in result.attempts]
    (found,) = result.found
    assert found.how == "sketch"
    assert (
        found.script
        == "have h1 : x ≤ x * x - x := by\n  have h2 : 2 * x ≤ x * x := by nlinarith\n  omega\nomega"
    )
    top_sketch = next(a for a in result.attempts if a.kind == "sketch")
    assert top_sketch.outcome == "verified"
    (lemma,) = [c for c in top_sketch.children if c.kind == "lemma"]
    assert lemma.outcome == "verified"
    inner = next(c for c in lemma.children if c.kind == "sketch")
    assert inner.outcome == "verified"
    (inner_lemma,) = [c for c in inner.children if c.kind == "lemma"]
    assert [(c.kind, c.candidate, c.outcome) for c in inner_lemma.children][-1] == (
        "tactic",
        "nlinarith",
        "verified",
    )
    # whole-proof sampling was tried (and failed) at both levels before decomposing
    assert any(a.kind == "sample" and a.outcome == "rejected" for a in result.attempts)
    assert any(c.kind == "sample" and c.outcome == "rejected" for c in lemma.children)


async def test_c_a_false_lemma_is_dropped_before_any_sample_is_spent_on_it(tmp_path: Path) -> None:
    stmt = "theorem falsy (n : ℕ) (h : 0 < n) : n ≤ 2 * n := by"
    text = f"import Mathlib\n\n{stmt}\n  sorry\n"
    bad = lean_answer(stmt, "  have bad : n ≤ 1 := by sorry\n  omega")
    good = lean_answer(stmt, "  have good : n ≤ n + n := by sorry\n  omega")
    script = [
        {"match": stmt + SKETCH_MARK, "responses": [{"texts": [bad, good]}]},
        {"match": "n ≤ 1 := by\n```", "responses": [{"texts": ["never asked"]}]},
        {
            "match": statement_prompt(stmt),
            "responses": [{"texts": [lean_answer(stmt, "  linarith")]}],
        },
    ]
    result, ep, lean = await run(
        tmp_path, text, "n : ℕ\nh : 0 < n\n⊢ n ≤ 2 * n", script, fix_rounds=0, tactics=["omega"]
    )
    assert result.status == "solved" and result.found[0].how == "sketch"
    sketches = [a for a in result.attempts if a.kind == "sketch"]
    assert [s.outcome for s in sketches] == ["dropped", "verified"]
    negation = next(c for c in sketches[0].children if c.kind == "negation")
    assert negation.outcome == "refuted"
    assert negation.candidate == "theorem sidecar_negation : ¬(∀ (n : ℕ) (h : 0 < n), n ≤ 1) := by"
    assert [c.kind for c in sketches[0].children] == ["negation"], (
        "no lemma search for a false sketch"
    )
    asked = [str(r.body) for r in ep.generation_requests()]
    assert not any("n ≤ 1 := by" in a and "sidecar_goal" in a for a in asked), (
        "no sample spent on the false lemma"
    )


async def test_d_a_repeated_sub_goal_is_solved_once(tmp_path: Path) -> None:
    stmt = "theorem twice (n : ℕ) : 0 ≤ n * n ∧ 0 ≤ n * n := by"
    text = f"import Mathlib\n\n{stmt}\n  sorry\n"
    sketch = lean_answer(stmt, "  constructor\n  · sorry\n  · sorry")
    script = [
        {"match": stmt + SKETCH_MARK, "responses": [{"texts": [sketch]}]},
        {
            "match": statement_prompt(stmt),
            "responses": [{"texts": [lean_answer(stmt, "  nlinarith")]}],
        },
    ]
    result, ep, lean = await run(
        tmp_path,
        text,
        "n : ℕ\n⊢ 0 ≤ n * n ∧ 0 ≤ n * n",
        script,
        fix_rounds=0,
        tactics=["omega", "positivity"],
    )
    assert result.status == "solved"
    sketch_node = next(a for a in result.attempts if a.kind == "sketch" and a.outcome == "verified")
    lemmas = [c for c in sketch_node.children if c.kind == "lemma"]
    assert len(lemmas) == 2
    # omega and positivity race on the pool: positivity closes it (omega fails or is cancelled)
    first = {a.candidate: a.outcome for a in lemmas[0].children}
    assert first["positivity"] == "verified" and first["omega"] in ("rejected", "cancelled")
    assert kinds(lemmas[1].children) == [("memo", "verified")]
    in_sketch = [c for c in lean.cmds() if "constructor" in c and "positivity" in c]
    # The first lemma's capped cascade check and its verification, then the final whole-proof
    # check; the second lemma (the same goal) costs nothing.
    assert len(in_sketch) == 3
    negations = [c for c in lean.cmds() if "sidecar_negation" in c and "#print axioms" not in c]
    # omega and positivity on each negation: once for the whole goal (before any sample), once
    # for the lemma goal the two lemmas share.
    on_lemma = [c for c in negations if "∧" not in c]
    assert len(negations) == 4 and len(on_lemma) == 2


async def test_partial_progress_keeps_a_sketch_with_fewer_holes(tmp_path: Path) -> None:
    stmt = "theorem deep (x : ℕ) (h : 3 ≤ x) : 2 ≤ x * x - x := by"
    text = f"import Mathlib\n\n{stmt}\n  sorry\n"
    sketch0 = lean_answer(stmt, "  have h1 : x ≤ x * x - x := by sorry\n  omega")
    script = [
        {"match": stmt + SKETCH_MARK, "responses": [{"texts": [sketch0]}]},
        {
            "match": statement_prompt(stmt),
            "responses": [{"texts": [lean_answer(stmt, "  nlinarith [h]")]}],
        },
    ]
    result, ep, _ = await run(
        tmp_path,
        text,
        "x : ℕ\nh : 3 ≤ x\n⊢ 2 ≤ x * x - x",
        script,
        fix_rounds=0,
        decompose_depth=1,
        tactics=["omega"],
    )
    assert result.status == "unsolved"
    assert result.partial is not None and result.partial.sorries_left == 1
    assert result.partial.script == "have h1 : x ≤ x * x - x := by sorry\nomega"
    node = next(a for a in result.attempts if a.kind == "sketch")
    assert node.outcome == "partial" and [
        c.outcome for c in node.children if c.kind == "lemma"
    ] == ["open"]


@pytest.mark.parametrize("depth", [0])
async def test_no_decomposition_when_depth_is_zero(tmp_path: Path, depth: int) -> None:
    stmt = "theorem twice (n : ℕ) : 0 ≤ n * n ∧ 0 ≤ n * n := by"
    text = f"import Mathlib\n\n{stmt}\n  sorry\n"
    script = [
        {
            "match": statement_prompt(stmt),
            "responses": [{"texts": [lean_answer(stmt, "  nlinarith")]}],
        }
    ]
    result, ep, _ = await run(
        tmp_path,
        text,
        "n : ℕ\n⊢ 0 ≤ n * n ∧ 0 ≤ n * n",
        script,
        fix_rounds=0,
        decompose_depth=depth,
        tactics=["omega"],
    )
    assert result.status == "unsolved"
    assert not any(a.kind == "sketch" for a in result.attempts)


async def test_cancel_deep_inside_a_sketch_closes_every_stream(tmp_path: Path) -> None:
    import asyncio

    stmt = "theorem deep (x : ℕ) (h : 3 ≤ x) : 2 ≤ x * x - x := by"
    text = f"import Mathlib\n\n{stmt}\n  sorry\n"
    script = [
        {
            "match": stmt + SKETCH_MARK,
            "responses": [
                {"texts": [lean_answer(stmt, "  have h1 : x ≤ x * x - x := by sorry\n  omega")]}
            ],
        },
        {"match": "x ≤ x * x - x := by\n```", "responses": [{"hang": True}]},  # the lemma's samples
        {
            "match": statement_prompt(stmt),
            "responses": [{"texts": [lean_answer(stmt, "  nlinarith [h]")]}],
        },
    ]
    lean = FakeVerifier.from_file(FACTS)
    ep = StandInEndpoint(script=script)
    url = await ep.start()
    settings = Settings(
        endpoints=[url],
        tactics=["omega"],
        budget_samples=24,
        samples_per_request=2,
        endpoint_concurrency=2,
        fix_rounds=0,
        cache_path=tmp_path / "c.sqlite",
    )
    engine = SearchEngine(settings, lean, EndpointClient([url]), None)
    site, task = site_and_task(text, 0, "x : ℕ\nh : 3 ≤ x\n⊢ 2 ≤ x * x - x")
    search = asyncio.ensure_future(engine.search(site, "x : ℕ\nh : 3 ≤ x\n⊢ 2 ≤ x * x - x", task))
    hanging = []
    for _ in range(500):
        hanging = [r for r in ep.generation_requests() if "sidecar_goal" in str(r.body)]
        if hanging:
            break
        await asyncio.sleep(0.01)
    assert hanging, "the search reached the sketch's lemma"
    search.cancel()
    with pytest.raises(asyncio.CancelledError):
        await search
    for _ in range(300):
        if all(r.disconnected or r.finished for r in ep.generation_requests()):
            break
        await asyncio.sleep(0.01)
    assert all(r.disconnected for r in ep.generation_requests() if not r.finished)
    assert all(r.disconnected for r in hanging)
    await engine.endpoint.close()  # type: ignore[union-attr]
    await ep.stop()
