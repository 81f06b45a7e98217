"""Find every ``sorry`` token in Lean source, skipping comments and strings.

Lean reports one sorry warning per declaration (on its name), so the tokens themselves must be
found in the text; their goals are then asked of Lean.
"""

from __future__ import annotations

from dataclasses import dataclass

from lean_bridge.lean_lexer import find_words, mask_non_code
from lean_bridge.positions import LineIndex, Span

SORRY_WORDS = ("sorry", "admit")


@dataclass(frozen=True)
class SorryToken:
    start: int
    end: int
    span: Span
    word: str


def scan_sorries(
    text: str, masked: str | None = None, index: LineIndex | None = None
) -> list[SorryToken]:
    masked = mask_non_code(text) if masked is None else masked
    index = LineIndex(text) if index is None else index
    tokens = [
        SorryToken(start, start + len(word), index.span(start, start + len(word)), word)
        for word in SORRY_WORDS
        for start in find_words(masked, word)
    ]
    return sorted(tokens, key=lambda t: t.start)
