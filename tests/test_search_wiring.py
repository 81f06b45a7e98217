"""The search's wiring, end to end over the in-process fakes (tests/fakes: Lean's verdicts by
each test's facts, scripted samples, each request recorded with the body the HTTP client sends):
sketch goals paired by position, a false statement refuted before any request, helper lemmas
carried (and preferred away when the proof stands without them), family sampling and trained fix
turns on the wire, the project's cascade plan, and no path around the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lean_sidecar.prover.helpers import HELPER_PREFIX, fresh_name
from lean_sidecar.search.decompose import refutable
from lean_sidecar.search.engine import HoleResult, SearchEngine
from lean_sidecar.settings import Settings
from tests.conftest import PROJECT
from tests.fakes import FakeEndpoint, FakeVerifier
from tests.search_helpers import lean_answer, site_and_task

SKETCH_MARK = "\n```\n\n\nDo not prove the theorem directly"


async def run(
    tmp: Path,
    facts: dict[str, Any],
    text: str,
    goal: str | None,
    script: list[dict[str, Any]],
    nth: int = 0,
    **overrides: Any,
) -> tuple[HoleResult, FakeEndpoint, FakeVerifier, SearchEngine]:
    # a copy: a test changes its facts between runs
    lean = FakeVerifier(json.loads(json.dumps(facts)), project_dir=PROJECT)
    ep = FakeEndpoint(script=script)
    settings = Settings(
        budget_samples=overrides.pop("budget", 8),
        samples_per_request=overrides.pop("n", 2),
        endpoint_concurrency=1,
        cache_path=tmp / "c.sqlite",
        **overrides,
    )
    engine = SearchEngine(settings, lean, ep, None)
    site, task = site_and_task(text, nth, goal)
    try:
        result = await engine.search(site, goal, task)
    finally:
        await ep.close()
    return result, ep, lean, engine


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
    result, ep, lean, _ = await run(
        tmp_path, facts, text, "n : ℕ\n⊢ n + 1 = n", script, tactics=["rfl", "omega"]
    )
    assert result.status == "refuted" and result.found == []
    assert result.refuted is not None
    assert result.refuted.statement == "theorem sidecar_negation : ¬(∀ (n : ℕ), n + 1 = n) := by"
    assert result.refuted.proof == "omega"
    assert result.refuted.text().endswith(":= by\n  omega")
    assert ep.generation_requests() == [] and result.samples == 0
    # The refutation was Lean-checked with its axiom audit, like any proof: a verdict (the
    # verifier's, whose audit test_verifier.py shows on the real REPL), not only a command.
    assert any(
        r.kind == "check" and r.cmd.startswith("theorem sidecar_negation") for r in lean.received
    )


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
    result, _, lean, _ = await run(tmp_path, facts, text, None, script, tactics=[], budget=2)
    checks = [c for c in lean.cmds() if "theorem uses" in c and "#print axioms" not in c]
    (check,) = checks  # one check: the helper and the proof in one command (then the audit)
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


# ---- sampling and fix turns on the wire --------------------------------------------------------
LE = "theorem le (a b : ℝ) (h : a < b) : a ≤ b := by"
LE_TEXT = f"import Mathlib\n\n{LE}\n  sorry\n"
LE_GOAL = "a b : ℝ\nh : a < b\n⊢ a ≤ b"


def le_facts(error: str = "linarith failed") -> dict[str, Any]:
    return {"proofs": {"(a b : ℝ) (h : a < b) : a ≤ b": {"error": error}}}


async def test_requests_use_the_family_sampling_unless_the_user_set_it(tmp_path: Path) -> None:
    script = [{"match": "theorem le", "responses": [{"texts": ["no proof"]}]}]
    _, ep, _, _ = await run(
        tmp_path,
        le_facts(),
        LE_TEXT,
        LE_GOAL,
        script,
        model="Goedel-Prover-V2-8B",
        tactics=[],
        budget=4,
        decompose_depth=1,
        fix_rounds=0,
    )
    bodies = [r.body for r in ep.generation_requests() if r.body]
    assert len(bodies) == 2  # whole-proof samples, then a sketch
    assert any("Do not prove the theorem directly" in json.dumps(b) for b in bodies)
    assert all(b["temperature"] == 1.0 and b["max_tokens"] > 8192 for b in bodies)
    mine = tmp_path / "mine"
    mine.mkdir()
    _, ep, _, _ = await run(
        mine,
        le_facts(),
        LE_TEXT,
        LE_GOAL,
        script,
        model="Goedel-Prover-V2-8B",
        tactics=[],
        budget=2,
        decompose_depth=0,
        temperature=0.7,
        context_tokens=4096,
    )
    (body,) = [r.body for r in ep.generation_requests() if r.body]
    assert body["temperature"] == 0.7 and body["max_tokens"] < 4096


async def test_fix_turns_in_the_trained_format_redacted_and_bounded(tmp_path: Path) -> None:
    """Kimina: one fix turn as trained (the answer kept with its thinking, Lean's errors
    without the API key); a second round the format has no turn for is skipped, not sent."""
    key = "sk-test-abcdef123456"
    script = [
        {"match": "# Error 1:", "responses": [{"texts": [lean_answer(LE, "  exact h.le.le")]}]},
        {"match": "theorem le", "responses": [{"texts": [lean_answer(LE, "  linarith")]}]},
    ]
    result, ep, _, _ = await run(
        tmp_path,
        le_facts(f"unknown identifier '{key}'"),
        LE_TEXT,
        LE_GOAL,
        script,
        model="Kimina-Prover-72B",
        tactics=[],
        budget=2,
        n=1,
        decompose_depth=0,
        fix_rounds=2,
        api_key=key,
    )
    (sample,) = [a for a in result.attempts if a.kind == "sample"]
    (fix,) = sample.children
    assert (fix.kind, fix.outcome) == ("fix", "rejected")
    assert [(c.kind, c.outcome) for c in fix.children] == [("fix", "skipped")]
    bodies = [json.dumps(r.body, ensure_ascii=False) for r in ep.generation_requests()]
    assert len(bodies) == 2 and all(key not in b for b in bodies)
    turn = ep.generation_requests()[1].body
    assert turn is not None
    assert turn["messages"][2]["content"].startswith("<think>")
    assert "<redacted>" in turn["messages"][3]["content"]


# ---- the project's cascade ---------------------------------------------------------------------
async def test_the_cascade_follows_the_projects_lean_version_unless_tactics_are_set(
    tmp_path: Path,
) -> None:
    """The fixture project pins Lean v4.24.0 and has no Mathlib in its manifest: `grind` and
    `decide +kernel` are tried, each under its heartbeat cap; Mathlib's tactics only for a file
    that imports Mathlib."""
    core_text = LE_TEXT.replace("import Mathlib\n\n", "")
    result, _, lean, _ = await run(tmp_path, le_facts(), core_text, LE_GOAL, [], budget=0)
    tried = [a.candidate for a in result.attempts if a.kind == "tactic"]
    assert {"rfl", "decide +kernel", "omega", "grind", "exact?"} <= set(tried)
    assert not {"norm_num", "linarith", "aesop"} & set(tried)
    cmds = lean.cmds()
    assert any(c.startswith("set_option maxHeartbeats 200000 in\ntheorem le") for c in cmds)
    assert any(c.startswith("set_option maxHeartbeats 50000 in\ntheorem le") for c in cmds)
    with_mathlib = tmp_path / "mathlib"
    with_mathlib.mkdir()
    result, _, _, _ = await run(with_mathlib, le_facts(), LE_TEXT, LE_GOAL, [], budget=0)
    tried = [a.candidate for a in result.attempts if a.kind == "tactic"]
    assert {"norm_num", "linarith", "aesop", "grind"} <= set(tried)
    mine = tmp_path / "mine"
    mine.mkdir()
    result, _, _, _ = await run(mine, le_facts(), LE_TEXT, LE_GOAL, [], budget=0, tactics=["omega"])
    assert [a.candidate for a in result.attempts if a.kind == "tactic"] == ["omega"]


# ---- one gate for every path -------------------------------------------------------------------
HOSTILE = 'IO.FS.writeFile "/tmp/pwned" "x"'


async def test_no_path_reaches_lean_around_the_gate(tmp_path: Path) -> None:
    """Hostile text on every path the search has: a whole-proof sample, an error-fix answer, a
    sketch, a helper lemma, a cascade search tactic's suggestion. None reaches the REPL."""
    helper = f"lemma aux (n : ℕ) : n = n := by\n  have := {HOSTILE}\n  rfl"
    with_helper = f"```lean4\n{helper}\n\n{LE}\n  have := aux 0\n  linarith\n```"
    sketch = lean_answer(LE, f"  have h2 : a ≤ b := by sorry\n  have := {HOSTILE}\n  exact h2")
    script = [
        {
            "match": "# Error 1:",
            "responses": [{"texts": [lean_answer(LE, f"  have := {HOSTILE}\n  linarith")]}],
        },
        {"match": "Do not prove the theorem directly", "responses": [{"texts": [sketch]}]},
        {
            "match": "theorem le",
            "responses": [
                {
                    "texts": [
                        lean_answer(LE, f"  exact ({HOSTILE}).elim"),
                        lean_answer(LE, "  linarith"),
                    ]
                },
                {"texts": [with_helper]},
            ],
        },
    ]
    facts = le_facts()
    facts["search"] = {"(a b : ℝ) (h : a < b) : a ≤ b": f"exact ({HOSTILE}).elim"}
    result, ep, lean, _ = await run(
        tmp_path,
        facts,
        LE_TEXT,
        LE_GOAL,
        script,
        model="Kimina-Prover-72B",
        tactics=["exact?"],
        budget=6,
        n=2,
        decompose_depth=1,
        sketch_samples=1,
    )
    assert result.found == []
    assert not [c for c in lean.cmds() if "IO.FS" in c]
    refused = {(a.kind, a.outcome) for a in result.walk() if a.outcome == "refused"}
    assert {("suggestion", "refused"), ("sample", "refused"), ("fix", "refused")} <= refused
    assert ("sketch", "refused") in refused
    details = [a.detail or "" for a in result.walk() if a.outcome == "refused"]
    assert any("helper" in d for d in details)
