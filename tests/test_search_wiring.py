"""The search's wiring, end to end over the stand-in REPL and endpoint: sketch goals paired by
position, a false statement refuted before any request, helper lemmas carried (and preferred
away when the proof stands without them), family sampling and trained fix turns on the wire,
the project's cascade plan, and no path around the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lean_bridge.verifier import Verifier
from lean_sidecar.prover.endpoint import EndpointClient
from lean_sidecar.prover.helpers import HELPER_PREFIX, fresh_name
from lean_sidecar.search.decompose import refutable
from lean_sidecar.search.engine import HoleResult, SearchEngine
from lean_sidecar.settings import Settings
from tests.search_helpers import lean_answer, make_pool, repl_received, site_and_task
from tests.standins.openai_endpoint import StandInEndpoint

SKETCH_MARK = "\n```\n\n\nDo not prove the theorem directly"


async def run(
    tmp: Path,
    facts: dict[str, Any],
    text: str,
    goal: str | None,
    script: list[dict[str, Any]],
    nth: int = 0,
    **overrides: Any,
) -> tuple[HoleResult, StandInEndpoint, Any, SearchEngine]:
    path = tmp / "facts.json"
    path.write_text(json.dumps(facts, ensure_ascii=False))
    pool = make_pool(tmp, path)
    ep = StandInEndpoint(script=script)
    url = await ep.start()
    settings = Settings(
        endpoints=[url],
        budget_samples=overrides.pop("budget", 8),
        samples_per_request=overrides.pop("n", 2),
        endpoint_concurrency=1,
        cache_path=tmp / "c.sqlite",
        **overrides,
    )
    engine = SearchEngine(settings, Verifier(pool), EndpointClient([url]), None)
    site, task = site_and_task(text, nth, goal)
    try:
        result = await engine.search(site, goal, task)
    finally:
        await engine.endpoint.close()  # type: ignore[union-attr]
        await ep.stop()
        await pool.close()
    return result, ep, pool, engine


# ---- sketch goals by position ----------------------------------------------------------------
TWO = "theorem two (n : ℕ) (h : 0 < n) : n ≤ n * n ∧ 0 < n := by"
SKETCHED = "by constructor · have h1 : 1 ≤ n := by sorry nlinarith [h1] · sorry"


async def test_sketch_holes_get_the_goal_at_their_own_position(tmp_path: Path) -> None:
    """Another `sorry` follows the sketched hole: the sketch's lemma must get the goal of the
    sorry at its own position (old code took the last goals: the other hole's)."""
    text = f"import Mathlib\n\n{TWO}\n  constructor\n  · sorry\n  · sorry\n"
    lemma_goal = "n : ℕ\nh : 0 < n\n⊢ 1 ≤ n"
    other_goal = "n : ℕ\nh : 0 < n\n⊢ 0 < n"
    facts = {
        "proofs": {
            "(n : ℕ) (h : 0 < n) : n ≤ n * n ∧ 0 < n": {
                "accepted": [
                    SKETCHED,
                    "by constructor · have h1 : 1 ≤ n := by omega nlinarith [h1] · sorry",
                ],
                "goals_by_body": {SKETCHED: [lemma_goal, other_goal]},
                "error": "unsolved goals",
            }
        }
    }
    top_goal = "n : ℕ\nh : 0 < n\n⊢ n ≤ n * n"
    lemma_stmt = "theorem sidecar_goal (n : ℕ) (h : 0 < n) :\n    n ≤ n * n := by"
    sketch = lean_answer(lemma_stmt, "  have h1 : 1 ≤ n := by sorry\n  nlinarith [h1]")
    script = [{"match": "n ≤ n * n := by" + SKETCH_MARK, "responses": [{"texts": [sketch]}]}]
    result, _, _, _ = await run(
        tmp_path,
        facts,
        text,
        top_goal,
        script,
        tactics=["omega"],
        fix_rounds=0,
        negation_samples=0,
        sketch_samples=1,
        budget=4,
    )
    sketch_node = next(a for a in result.attempts if a.kind == "sketch" and a.candidate)
    (lemma,) = [c for c in sketch_node.children if c.kind == "lemma"]
    assert lemma.candidate == lemma_goal
    assert sketch_node.outcome == "verified", [a.to_json() for a in result.attempts]
    assert result.found[0].script == "have h1 : 1 ≤ n := by omega\nnlinarith [h1]"


# ---- "this statement is false" ---------------------------------------------------------------
async def test_a_false_statement_is_refuted_before_any_request(tmp_path: Path) -> None:
    text = "import Mathlib\n\ntheorem bad (n : ℕ) : n + 1 = n := by\n  sorry\n"
    facts = {
        "proofs": {
            ": ¬(∀ (n : ℕ), n + 1 = n)": {"accepted": ["by omega"]},
            "(n : ℕ) : n + 1 = n": {"error": "omega could not prove the goal"},
        }
    }
    answer = lean_answer("theorem bad (n : ℕ) : n + 1 = n := by", "  omega")
    script = [{"match": "theorem bad", "responses": [{"texts": [answer]}]}]
    result, ep, pool, _ = await run(
        tmp_path, facts, text, "n : ℕ\n⊢ n + 1 = n", script, tactics=["rfl", "omega"]
    )
    assert result.status == "refuted" and result.found == []
    assert result.refuted is not None
    assert result.refuted.statement == "theorem sidecar_negation : ¬(∀ (n : ℕ), n + 1 = n) := by"
    assert result.refuted.proof == "omega"
    assert result.refuted.text().endswith(":= by\n  omega")
    assert ep.generation_requests() == [] and result.samples == 0
    # The refutation was Lean-checked with its axiom audit, like any proof.
    assert any("#print axioms sidecar_negation" in r.get("cmd", "") for r in repl_received(pool))


async def test_a_true_statement_is_not_refuted_and_samples_are_spent(tmp_path: Path) -> None:
    text = "import Mathlib\n\ntheorem fine (n : ℕ) : n ≤ n + 1 := by\n  sorry\n"
    facts = {"proofs": {"(n : ℕ) : n ≤ n + 1": {"error": "omega could not prove the goal"}}}
    result, ep, _, _ = await run(
        tmp_path, facts, text, "n : ℕ\n⊢ n ≤ n + 1", [], tactics=["omega"], budget=2
    )
    assert result.refuted is None and result.status == "unsolved"
    assert ep.generation_requests()
    assert [a.outcome for a in result.attempts if a.kind == "negation"] == ["not refuted"]


def test_negations_that_would_not_be_faithful_are_not_tried() -> None:
    assert refutable("n : ℕ\n⊢ n + 1 = n")
    assert not refutable("x : ℕ := 5\n⊢ x = 5")  # the let value would be lost
    assert not refutable("n✝ : ℕ\n⊢ n✝ = 0")
    assert not refutable("⊢ ?a = 1")


# ---- helpers carried ---------------------------------------------------------------------------
USES = "theorem uses (n : ℕ) : n ≤ n * n + 1 + 0 := by"
HELPER = "lemma my_helper (n : ℕ) : n ≤ n * n + 1 := by\n  nlinarith [sq_nonneg n]"


def helper_answer() -> str:
    return f"<think>t</think>\n```lean4\nimport Mathlib\n\n{HELPER}\n\n{USES}\n  simpa using my_helper n\n```"


def helper_facts() -> dict[str, Any]:
    """The stand-in knows the helper's proof (under any name: facts are keyed by what follows
    the name)."""
    return {"proofs": {"(n : ℕ) : n ≤ n * n + 1": {"accepted": ["by nlinarith [sq_nonneg n]"]}}}


async def test_a_proof_with_a_helper_lemma_carries_it(tmp_path: Path) -> None:
    text = f"import Mathlib\n\n{USES}\n  sorry\n"
    facts = helper_facts()
    # First run: the stand-in does not know the main proof, so the check is rejected; the REPL's
    # log shows what Lean was asked (and the fresh name the helper got).
    facts["proofs"]["(n : ℕ) : n ≤ n * n + 1 + 0"] = {"error": "unknown identifier 'my_helper'"}
    script = [{"match": "theorem uses", "responses": [{"texts": [helper_answer()]}]}]
    result, _, pool, _ = await run(tmp_path, facts, text, None, script, tactics=[], budget=2)
    checks = [r["cmd"] for r in repl_received(pool) if "#print axioms uses" in r.get("cmd", "")]
    (check,) = checks  # one check: the helper and the proof in one command
    assert check.index(f"lemma {HELPER_PREFIX}") < check.index("theorem uses")
    name = check.split(f"lemma {HELPER_PREFIX}", 1)[1].split()[0]
    assert f"simpa using {HELPER_PREFIX}{name} n" in check
    assert "my_helper n" not in check.replace(f"{HELPER_PREFIX}{name}", "")
    # Now the stand-in knows that proof: the result carries the helper.
    facts["proofs"]["(n : ℕ) : n ≤ n * n + 1 + 0"] = {
        "accepted": [f"by simpa using {HELPER_PREFIX}{name} n"]
    }
    tmp2 = tmp_path / "again"
    tmp2.mkdir()
    result, _, _, _ = await run(tmp2, facts, text, None, script, tactics=[], budget=2)
    (found,) = result.found
    assert found.script == f"simpa using {HELPER_PREFIX}{name} n"
    assert found.helpers.startswith(f"lemma {HELPER_PREFIX}{name} (n : ℕ)")
    assert found.helpers.endswith("nlinarith [sq_nonneg n]")


async def test_the_proof_without_its_helpers_is_preferred_when_it_verifies(
    tmp_path: Path,
) -> None:
    """A helper that restates a library lemma of the same name: the proof stands alone."""
    text = f"import Mathlib\n\n{USES}\n  sorry\n"
    facts = helper_facts()
    fresh = fresh_name("my_helper", HELPER, text)
    facts["proofs"]["(n : ℕ) : n ≤ n * n + 1 + 0"] = {
        "accepted": ["by simpa using my_helper n", f"by simpa using {fresh} n"]
    }
    script = [{"match": "theorem uses", "responses": [{"texts": [helper_answer()]}]}]
    result, _, _, _ = await run(tmp_path, facts, text, None, script, tactics=[], budget=2)
    (found,) = result.found
    assert (found.script, found.helpers) == ("simpa using my_helper n", "")
    (sample,) = [a for a in result.attempts if a.kind == "sample" and a.outcome == "verified"]
    assert sample.helpers == ""
