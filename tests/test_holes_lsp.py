"""The editor's view: hole lists from the sidecar in front of the stand-in Lean server."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import PROJECT, sidecar_command, standin_lean_command
from tests.lsp_helpers import holes, initialize, open_doc

FACTS = PROJECT / "holes_facts.json"
HOLES_FILE = PROJECT / "Holes.lean"


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=sidecar_command(standin_lean_command(FACTS)))
)
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client, PROJECT)
    yield
    await lsp_client.shutdown_session()


def _find(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """(line, UTF-16 column) of the nth occurrence of needle — computed independently."""
    idx = -1
    for _ in range(nth + 1):
        idx = text.index(needle, idx + 1)
    line = text.count("\n", 0, idx)
    col_text = text[text.rfind("\n", 0, idx) + 1 : idx]
    return line, len(col_text.encode("utf-16-le")) // 2


async def test_every_kind_of_sorry_with_range_and_goal(client: LanguageClient) -> None:
    text = HOLES_FILE.read_text(encoding="utf-8")
    uri = open_doc(client, HOLES_FILE)
    result = await holes(client, uri)
    assert result["version"] == 1
    sorries = [h for h in result["holes"] if h["kind"] == "sorry"]
    expected = [
        ("term_mode", "n : Nat\n⊢ n + 0 = n", ":= sorry"),
        ("tactic_mode", "a b : Nat\nh : a ≤ b\n⊢ a < b + 1", "  sorry\n"),
        ("with_have", "x : Nat\nh : 0 < x\n⊢ 1 ≤ x", "by sorry\n  calc"),
        ("with_have", "x : Nat\nh : 0 < x\nhx : 1 ≤ x\n⊢ x ≤ x * x", "x * x := by sorry"),
        (
            "by_cases_demo",
            "case pos\np : Prop\ninst✝ : Decidable p\nhp : p\n⊢ p ∨ ¬p",
            "pos => sorry",
        ),
        ("fib", "n m : Nat\n⊢ Nat", "fib m + sorry"),
        ("origin", "⊢ Nat", "y := sorry"),
        ("wide_𝔸", 's : String\n⊢ "𝔸" ++ s = "𝔸" ++ s', "by sorry -- a sorry"),
    ]
    assert [h["declaration"] for h in sorries] == [e[0] for e in expected]
    for hole, (_, goal, needle) in zip(sorries, expected, strict=True):
        line, col = _find(text, needle)
        offset = needle.index("sorry")
        start = hole["range"]["start"]
        assert start == {"line": line, "character": col + offset}, hole
        assert hole["range"]["end"] == {"line": line, "character": col + offset + 5}
        assert hole["goal"] == goal
    # The 𝔸 before the hole is one code point but two UTF-16 units.
    wide = sorries[-1]["range"]["start"]
    line_text = text.split("\n")[wide["line"]]
    assert (
        line_text.index("sorry") + line_text[: line_text.index("sorry")].count("𝔸")
        == wide["character"]
    )


async def test_failing_tactic_is_a_hole_with_message_and_goal(client: LanguageClient) -> None:
    text = HOLES_FILE.read_text(encoding="utf-8")
    uri = open_doc(client, HOLES_FILE)
    result = await holes(client, uri)
    failing = [h for h in result["holes"] if h["kind"] == "failingTactic"]
    assert len(failing) == 1
    (hole,) = failing
    line, col = _find(text, "linarith [")
    assert hole["range"]["start"] == {"line": line, "character": col}
    assert hole["declaration"] == "uses_linarith"
    assert hole["message"].startswith("linarith failed to find a contradiction")
    assert hole["goal"] == "a b : ℚ\nh : a < b\n⊢ a ≤ b"


async def test_holes_follow_edits(client: LanguageClient) -> None:
    uri = open_doc(client, HOLES_FILE)
    first = await holes(client, uri)
    n = len(first["holes"])
    text = HOLES_FILE.read_text(encoding="utf-8")
    line, col = _find(text, ":= sorry")
    # Replace the term-mode sorry by a proof, then insert two lines at the top.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(line, col + 3), types.Position(line, col + 8)),
                    text="by simp",
                )
            ],
        )
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                    text="-- one\n-- two\n",
                )
            ],
        )
    )
    second = await holes(client, uri)
    assert second["version"] == 3
    assert len(second["holes"]) == n - 1
    assert all(h["declaration"] != "term_mode" for h in second["holes"])
    before = {
        (h["declaration"], h["range"]["start"]["character"]): h["range"]["start"]["line"]
        for h in first["holes"]
    }
    for h in second["holes"]:
        assert (
            h["range"]["start"]["line"]
            == before[(h["declaration"], h["range"]["start"]["character"])] + 2
        )


async def test_unknown_document_is_an_error_not_a_hang(client: LanguageClient) -> None:
    with pytest.raises(Exception, match="not open"):
        await holes(client, (PROJECT / "Nope.lean").as_uri(), timeout=5)


UNSOLVED = """theorem unsolved_demo (x : Nat) : 1 ≤ x := by
  by_cases h : 0 < x
  skip
"""


async def test_unsolved_goals_are_a_hole_after_the_block_with_every_goal(
    client: LanguageClient,
) -> None:
    """Lean puts "unsolved goals" at `by` (range cut at the line's end, fullRange to the block's
    end): the hole is after the last tactic, its goals those the message lists."""
    uri = open_doc(client, PROJECT / "Unsolved.lean", UNSOLVED)
    result = await holes(client, uri)
    (hole,) = [h for h in result["holes"] if h["kind"] == "failingTactic"]
    line, col = _find(UNSOLVED, "skip")
    end = {"line": line, "character": col + len("skip")}
    assert hole["range"] == {"start": end, "end": end}
    assert hole["declaration"] == "unsolved_demo"
    assert hole["goal"] == (
        "case pos\nx : Nat\nh : 0 < x\n⊢ 1 ≤ x\n\ncase neg\nx : Nat\nh : ¬0 < x\n⊢ 1 ≤ x"
    )
