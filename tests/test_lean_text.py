"""The text-level model: sorry tokens, declarations and UTF-16 positions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lean_bridge.declarations import find_declarations
from lean_bridge.lean_lexer import mask_non_code
from lean_bridge.positions import LineIndex, Pos
from lean_bridge.sorry_scan import scan_sorries


def test_sorries_in_comments_strings_and_names_are_not_holes() -> None:
    text = (
        "/- outer /- nested sorry -/ still sorry -/ theorem a : x := sorry -- sorry\n"
        'def s := "sorry \\" sorry" ++ r#"sorry"# ++ h\'.sorry ++ sorry_lemma ++ Foo.sorry\n'
        "example : c := by exact «sorry» <;> admit\n"
    )
    found = [
        (
            t.span.start.line,
            text.split("\n")[t.span.start.line][: t.span.start.character][-4:],
            t.word,
        )
        for t in scan_sorries(text)
    ]
    assert found == [(0, " := ", "sorry"), (2, "<;> ", "admit")]


def test_masking_preserves_length_and_lines() -> None:
    text = "a /- b\nc -/ d -- e\n\"f\ng\" 'h' i"
    masked = mask_non_code(text)
    assert len(masked) == len(text)
    assert masked.count("\n") == text.count("\n")
    assert masked.split() == ["a", "d", "i"]


def test_declarations_with_docstrings_attributes_and_anonymous_ones() -> None:
    text = (
        "import Mathlib\nopen Nat\n\n/-- doc -/\n@[simp]\nprivate theorem foo.bar (n : Nat) :\n"
        "    n = n := by\n  rfl\n\nexample : True := trivial\ninstance : Inhabited Nat := ⟨0⟩\n"
        "def f : Nat → Nat\n  | 0 => 0\n  | n + 1 => n\n"
    )
    decls = find_declarations(text)
    assert [(d.kind, d.name) for d in decls] == [
        ("theorem", "foo.bar"),
        ("example", None),
        ("instance", None),
        ("def", "f"),
    ]
    foo = decls[0]
    assert text[foo.start :].startswith("/-- doc -/\n@[simp]")
    assert text[foo.start : foo.end].endswith("rfl")
    assert foo.statement(text).endswith("n = n :=")
    assert decls[3].assign is None  # pattern matching: no top-level :=
    assert text[decls[1].name_start : decls[1].name_end] == "example"


@given(st.text(alphabet=st.sampled_from(list("ab\n𝔸é😀 ")), max_size=60))
def test_utf16_positions_round_trip(text: str) -> None:
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        pos = index.pos(offset)
        line_start = index.line_starts[pos.line]
        assert pos.character == len(text[line_start:offset].encode("utf-16-le")) // 2
        assert index.offset(pos) == offset


def test_positions_past_the_end_clamp() -> None:
    index = LineIndex("ab\ncd")
    assert index.offset(Pos(0, 99)) == 2
    assert index.offset(Pos(99, 0)) == 5
    assert index.offset(Pos(-1, 0)) == 0


@given(st.text(max_size=200))
def test_scanner_never_crashes_and_tokens_are_sorry(text: str) -> None:
    for tok in scan_sorries(text):
        assert text[tok.start : tok.end] == tok.word
