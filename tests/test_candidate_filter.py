"""Model output is untrusted: each dangerous class is refused before any REPL sees it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_bridge.axiom_audit import disallowed_axioms, parse_print_axioms
from lean_bridge.candidate_filter import check_candidate

GOOD = [
    "by\n  simp",
    "by\n  intro x\n  nlinarith [sq_nonneg (x - 1), sq_nonneg (x + 1)]",
    "by\n  set_option maxHeartbeats 400000 in\n  norm_num [Nat.factorial]",
    "⟨1, by norm_num⟩",
    "by\n  have h : 0 < 2 := by norm_num\n  exact h.le",
    "by\n  rcases h with ⟨x, hx⟩\n  exact ⟨x, hx.symm⟩  -- the end of the proof",
    "by decide",
    "by\n  simp only [Nat.succ_eq_add_one, h'.trans hsorry_free]",  # identifiers containing words
]

BAD = {
    "#eval": 'by\n  #eval IO.println "hi"\n  simp',
    "#exit": "by simp\n#exit",
    "run_cmd": 'by\n  run_cmd Lean.logInfo "x"',
    "run_tac": "by\n  run_tac do pure ()",
    "run_elab": "by\n  run_elab pure ()",
    "by_elab": "by_elab return ()",
    "axiom": "by\n  exact (by axiom cheat : False).elim",
    "unsafe": "by\n  exact unsafe (cast rfl 0)",
    "implemented_by": "by\n  exact @[implemented_by x] 0",
    "extern": "by\n  exact extern 0",
    "macro": 'by\n  macro "cheat" : tactic => `(tactic| sorry)\n  cheat',
    "syntax": 'by\n  syntax "x" : tactic\n  simp',
    "elab": 'by\n  elab "x" : tactic => pure ()\n  simp',
    "notation": 'by\n  notation "x" => 0\n  simp',
    "macro_rules": "by\n  macro_rules | `(tactic| trivial) => `(tactic| sorry)",
    "elab_rules": "by\n  elab_rules : tactic | `(tactic| x) => pure ()",
    "initialize": "by\n  initialize pure ()\n  simp",
    "set_option debug": "by\n  set_option debug.skipKernelTC true in\n  simp",
    "set_option kernel": "by\n  set_option kernel.unsafe true in simp",
    "sorry": "by\n  simp\n  sorry",
    "admit": "by admit",
    "sorryAx": "by exact sorryAx _ false",
    "open private": "by\n  open private foo in\n  simp",
    "import": "by\nimport Mathlib\n  simp",
    "exact?": "by exact?",
    "native_decide": "by native_decide",
    "new declaration": "by simp\n\ntheorem cheat : False := by simp",
    "namespace": "by simp\nend Foo\nnamespace Bar",
    "attribute": "by\n  attribute [local simp] foo in\n  simp",
}


@pytest.mark.parametrize("proof", GOOD)
def test_ordinary_proofs_pass(proof: str) -> None:
    assert check_candidate(proof).ok, check_candidate(proof).reason


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_dangerous_class_is_refused(name: str) -> None:
    verdict = check_candidate(BAD[name])
    assert not verdict.ok
    assert verdict.reason


def test_native_decide_only_when_allowed() -> None:
    assert not check_candidate("by native_decide").ok
    assert check_candidate("by native_decide", allow_native_decide=True).ok
    assert not check_candidate("by exact Lean.ofReduceBool _ _ rfl", allow_native_decide=True).ok


def test_empty_and_huge_candidates() -> None:
    assert not check_candidate("   ").ok
    assert not check_candidate("by " + "simp; " * 10_000).ok


@given(st.text(max_size=200), st.sampled_from(["sorry", "admit", "#eval", "run_cmd", "axiom"]))
def test_a_banned_word_on_its_own_line_is_always_refused(noise: str, word: str) -> None:
    verdict = check_candidate(f"by\n  {noise}\n  {word} x\n")
    assert not verdict.ok and verdict.reason


@given(st.text(max_size=300))
def test_filter_is_total(text: str) -> None:
    verdict = check_candidate(text)
    assert verdict.ok == (verdict.reason is None)


def test_axiom_audit() -> None:
    ok = parse_print_axioms("'foo' depends on axioms: [propext, Classical.choice, Quot.sound]")
    assert ok is not None and ok.name == "foo" and not disallowed_axioms(ok)
    bad = parse_print_axioms("'foo' depends on axioms: [propext,\n sorryAx]")
    assert bad is not None and disallowed_axioms(bad) == {"sorryAx"}
    native = parse_print_axioms("'foo' depends on axioms: [Lean.ofReduceBool, propext]")
    assert native is not None
    assert disallowed_axioms(native) == {"Lean.ofReduceBool"}
    assert not disallowed_axioms(native, allow_native_decide=True)
    none = parse_print_axioms("'foo' does not depend on any axioms")
    assert none is not None and none.axioms == frozenset()
    assert parse_print_axioms("unknown constant 'foo'") is None
    primed = parse_print_axioms("'div_self'' depends on axioms: [propext]")
    assert primed is not None and primed.name == "div_self'" and primed.axioms == {"propext"}
