"""Conversions between string offsets and LSP positions (UTF-16 code units, as Lean speaks)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from lean_bridge.json_types import JsonObject


@dataclass(frozen=True, order=True)
class Pos:
    line: int
    character: int

    def to_lsp(self) -> JsonObject:
        return {"line": self.line, "character": self.character}


@dataclass(frozen=True)
class Span:
    start: Pos
    end: Pos

    def to_lsp(self) -> JsonObject:
        return {"start": self.start.to_lsp(), "end": self.end.to_lsp()}

    def contains(self, pos: Pos) -> bool:
        return self.start <= pos <= self.end


def utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


class LineIndex:
    """Maps code-point offsets to (line, UTF-16 column) and back for one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0]
        i = text.find("\n")
        while i >= 0:
            self.line_starts.append(i + 1)
            i = text.find("\n", i + 1)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) - 1

    def pos(self, offset: int) -> Pos:
        line = self.line_of(offset)
        start = self.line_starts[line]
        return Pos(line, utf16_len(self.text[start:offset]))

    def offset(self, pos: Pos) -> int:
        """Offset of an LSP position; positions past a line's end clamp to the line's end."""
        if pos.line < 0:
            return 0
        if pos.line >= len(self.line_starts):
            return len(self.text)
        start = self.line_starts[pos.line]
        end = (
            self.line_starts[pos.line + 1] - 1
            if pos.line + 1 < len(self.line_starts)
            else len(self.text)
        )
        units = 0
        i = start
        while i < end and units < pos.character:
            units += 2 if ord(self.text[i]) > 0xFFFF else 1
            i += 1
        return i

    def span(self, start: int, end: int) -> Span:
        return Span(self.pos(start), self.pos(end))
