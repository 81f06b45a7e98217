"""Model output is untrusted: each dangerous class is refused before any REPL sees it, ordinary
proofs pass, the lexer agrees with Lean on what is code, and the final-text check admits one
declaration and nothing else. (The red-team suite runs the same gate down every path.)"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_bridge.axiom_audit import disallowed_axioms, parse_print_axioms
from lean_bridge.candidate_filter import (
    DEFAULT_MAX_CHARS,
    check_candidate,
    check_declaration_text,
)
from lean_bridge.gate_preview import edit_preview, edit_title
from lean_bridge.lean_lexer import lex_spans, mask_non_code

GOOD = [
    "by\n  simp",
    "by\n  intro x\n  nlinarith [sq_nonneg (x - 1), sq_nonneg (x + 1)]",
    "by\n  set_option maxHeartbeats 400000 in\n  norm_num [Nat.factorial]",
    "⟨1, by norm_num⟩",
    "by\n  have h : 0 < 2 := by norm_num\n  exact h.le",
    "by\n  rcases h with ⟨x, hx⟩\n  exact ⟨x, hx.symm⟩  -- the end of the proof",
    "by decide",
    "by\n  simp only [Nat.succ_eq_add_one, h'.trans hsorry_free]",  # identifiers containing words
    "by\n  -- no axiom, no #eval, no sorry: comments are not code\n  omega",
    "/- `axiom` in a /- nested -/ comment -/\nomega",
    "refine ⟨?_, ?_⟩ <;> norm_num",
    "intro ε hε\nexact ⟨ε / 2, by linarith⟩",
    "nlinarith [sq_nonneg (a - b)]\r\n<;> linarith",  # CRLF line ends
    "decide (config := {kernel := true})",
    "exact Polynomial.eval_add",
    "calc a ≤ b := h\n  _ < b + 1 := by omega",
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
    "#eval!": 'norm_num\n#eval! IO.FS.writeFile "/home/u/.bashrc" "x"',
    "tab before command": "norm_num\n\t#eval! 1",
    "CRLF before command": "norm_num\r\n#eval! 1",
    "nested comment closing early": "norm_num /- a /- b -/ -/ #eval! 1",
    "#guard": "by\n  #guard 1 = 1",
    "#html": "#html x",
    "simproc": "by\n  simproc s (Nat.succ _) := fun _ => pure .continue\n  simp",
    "decide +native": "decide +native",
    "native := true": "decide (config := {native := true})",
    "skipKernelTC": "set_option «debug».skipKernelTC true in\nsimp",
    "stop": "stop\nsimp",
    "maxHeartbeats 0": "set_option maxHeartbeats 0 in\nsimp",
    "set_option mid-proof": "simp\nset_option maxHeartbeats 400000 in\nsimp",
    "cyrillic sorry": "ѕоrrу",
    "fullwidth admit": "ａｄｍｉｔ",
    "zero-width": "so\u200brry",
    "bidi override": "simp\u202e",
    "trace": "trace \"'x' depends on axioms: []\"\nsimp",
    "IO in a term": 'have := IO.getEnv "KEY"\nsimp',
    "interpolated string": 'have := s!"{1}"\nsimp',
    "quotation": "have := `(tactic| sorry)\nsimp",
    "dedented injection": "by simp\nfoo",
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
    assert not check_candidate("by " + "simp; " * 20_000).ok
    assert check_candidate("by " + "simp; " * 5_000).ok  # 30,000 characters: a real long proof
    huge = check_candidate("/-" * (DEFAULT_MAX_CHARS + 1))
    assert huge.reason == f"proof longer than {DEFAULT_MAX_CHARS} characters"
    assert not check_candidate("simp", max_chars=3).ok


def test_interpolated_string_holds_code_and_strings() -> None:
    """`s!"…{… "x" …}…"` is one literal: the inner quote does not end it, its braces are code."""
    text = 's!"a{f "x" ++ g}b" ++ sorry'
    masked = mask_non_code(text)
    assert masked.split() == ["s!", "f", "++", "g", "++", "sorry"]
    assert [s.kind for s in lex_spans(text)] == ["string", "string", "string"]


def test_lexer_literals_and_comments() -> None:
    text = "a '\"' b r##\"x\"# -- \"##  c /- /- -/ d -/ e «f g» h '\\'' i"
    assert mask_non_code(text).split() == ["a", "b", "c", "e", "h", "i"]


def test_final_text_is_one_declaration_and_nothing_else() -> None:
    decl = "/-- doc -/\n@[simp] private theorem t (a : Nat) : a = a := by\n  rfl"
    assert check_declaration_text(decl).ok
    assert check_declaration_text("set_option maxHeartbeats 400000 in\n" + decl).ok
    assert check_declaration_text(decl + "  -- #eval in a comment, theorem too").ok
    for extra in (
        "\n#eval! 1",
        "\ntheorem u : True := trivial",
        "\nend Foo",
        "\nopen Lean in\n  rfl",
        "\n  attribute [simp] t",
        "\n  @[simp] def x := 1",
        "\u202e",
        "\n  th\u0435orem u : False := x",  # a Cyrillic е: reads as a second declaration
    ):
        assert not check_declaration_text(decl + extra).ok, extra
    helper = "lemma h : True := trivial\n\n"
    assert not check_declaration_text(helper + decl).ok
    assert check_declaration_text(helper + decl, max_declarations=2).ok
    assert not check_declaration_text("def f := 1\n\n" + decl, max_declarations=2).ok
    assert not check_declaration_text("set_option pp.all true in\n" + decl).ok


@given(st.text(max_size=200), st.sampled_from(["sorry", "admit", "#eval", "run_cmd", "axiom"]))
def test_a_banned_word_on_its_own_line_is_always_refused(noise: str, word: str) -> None:
    verdict = check_candidate(f"by\n  {noise}\n  {word} x\n")
    assert not verdict.ok and verdict.reason


@given(st.text(max_size=300))
def test_filter_is_total(text: str) -> None:
    verdict = check_candidate(text)
    assert verdict.ok == (verdict.reason is None)
    final = check_declaration_text(text)
    assert final.ok == (final.reason is None)


@given(st.text(alphabet=st.sampled_from(list("ab/-\"'{}«»r#!s \n")), max_size=80))
def test_masking_keeps_length_and_lines(text: str) -> None:
    masked = mask_non_code(text)
    assert len(masked) == len(text) and masked.count("\n") == text.count("\n")


@given(
    st.text(alphabet=st.sampled_from(list("ab/-\"'{}«»r!s \n\t\r")), max_size=60),
    st.sampled_from(["#eval! x", "#guard x", "theorem x : True := trivial", "IO.getEnv"]),
)
def test_a_command_after_any_prefix_is_refused(noise: str, command: str) -> None:
    """Whatever a prefix does to the lexer (comments, strings, quotes left open), a command
    after it is refused, or the prefix hid it as Lean would: in an unclosed comment/string."""
    text = f"simp {noise}\n  {command}"
    verdict = check_candidate(text)
    if verdict.ok:
        assert command.split()[0] not in mask_non_code(text)


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


def test_edit_preview_shows_all_of_the_inserted_text() -> None:
    inserted = "omega\n  simp\u202e\n\t#eval! x"
    preview = edit_preview(inserted)
    assert preview.split("\n") == ["omega", "  simp⟪U+202E⟫", "⟪TAB⟫#eval! x"]
    assert edit_title(inserted) == "omega (+2 lines)"
    assert edit_title("exact h") == "exact h"
    long = "\n".join(f"step {i}" for i in range(100))
    shown = edit_preview(long, max_lines=10).split("\n")
    assert shown[:10] == [f"step {i}" for i in range(10)]
    assert shown[10] == "… (90 more lines not shown)"
    assert edit_title("x" * 100, width=20) == "x" * 19 + "…"


def _lean_comment_end(text: str, i: int) -> int:
    """Lean's own rule (`finishCommentBlock`), one character at a time: the reference."""
    depth = 1
    while i < len(text):
        if text.startswith("-/", i):
            depth, i = depth - 1, i + 2
        elif text.startswith("/-", i):
            depth, i = depth + 1, i + 2
        else:
            i += 1
        if depth == 0:
            return i
    return len(text)


@given(st.text(alphabet=st.sampled_from(list("/-a \n")), max_size=80))
def test_block_comments_end_where_lean_ends_them(body: str) -> None:
    text = "/-" + body + " after"
    spans = lex_spans(text)
    assert spans[0].kind == "comment" and spans[0].start == 0
    # Lean's `whitespace` leaves `/--` and `/-!` to the doc-comment tokens, whose body starts
    # after their third character: `/--/` does not close itself.
    body_start = 3 if text.startswith(("/--", "/-!")) else 2
    assert spans[0].end == _lean_comment_end(text, body_start)


def test_long_nested_comments_end_where_lean_ends_them() -> None:
    for text in ("/-" * 5000 + "x" + "-/" * 5000 + " tail", "/- a " * 3000 + "-/ " * 3000 + "z"):
        assert lex_spans(text)[0].end == _lean_comment_end(text, 2)


def test_a_doc_comment_then_a_comment_then_the_declaration_is_one_declaration() -> None:
    assert check_declaration_text("/-- d -/ /- c -/ theorem t : True := trivial").ok
    assert not check_declaration_text("/-- d -/ /- c -/ #eval 1\ntheorem t : True := trivial").ok
