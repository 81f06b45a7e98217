"""Top-level commands of a Lean file: where each declaration starts, ends and is named."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lean_bridge.lean_commands import (
    DECLARATION_KEYWORDS,
    DECLARATION_MODIFIERS,
    is_command_keyword,
)
from lean_bridge.lean_lexer import is_ident_char, mask_non_code

DECL_KEYWORDS = DECLARATION_KEYWORDS
MODIFIERS = DECLARATION_MODIFIERS
_WORD = re.compile(r"[^\s(\[{:]+")
# A command that scopes the next one: `set_option … in`, `open … in`, `#guard_msgs in`, …
_IN_PREFIX = re.compile(
    r"(?:set_option|open|unseal|seal|#guard_msgs|omit|include|attribute|variable)\b[^\n]*?"
    r"(?<=\s)in(?=\s)"
)
_INSTANCE_PRIORITY = re.compile(r"\(\s*priority\s*:=[^)]*\)\s*")


@dataclass(frozen=True)
class Declaration:
    kind: str
    name: str | None
    start: int  # first character of the command, docstring and attributes included
    keyword_start: int
    name_start: int
    name_end: int
    end: int  # end of the command, trailing whitespace excluded
    assign: int | None  # offset of the top-level ``:=`` (``None`` for pattern-matching defs)

    @property
    def display_name(self) -> str:
        return self.name or self.kind

    def with_head_moved(self, n: int, grown: int | None = None) -> Declaration:
        """This declaration after ``n`` characters were inserted between its start and its
        keyword (helper theorems carried with a proof), the whole command ``grown`` longer
        (``n`` when nothing else changed). Its start stays: the text above it is unchanged."""
        return replace(
            self,
            keyword_start=self.keyword_start + n,
            name_start=self.name_start + n,
            name_end=self.name_end + n,
            end=self.end + (n if grown is None else grown),
            assign=None if self.assign is None else self.assign + n,
        )

    def statement(self, text: str) -> str:
        """The declaration up to and including ``:=``; what a model must not change."""
        stop = self.assign + 2 if self.assign is not None else self.end
        return text[self.start : stop]


def _first_word(masked: str, offset: int) -> str:
    m = _WORD.match(masked, offset)
    return m.group(0) if m else ""


def _starts_command(word: str, line: str) -> bool:
    return is_command_keyword(word) or word in MODIFIERS or line.startswith(("@[", "/-!"))


def _command_starts(masked: str, text: str) -> list[int]:
    """Offsets of every command: a command keyword (the one table shared with the gate), a
    modifier or attribute at the start of a line; inside ``mutual … end`` also indented ones."""
    starts = []
    offset = 0
    in_mutual = False
    for line, raw in zip(masked.split("\n"), text.split("\n"), strict=False):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        word = _first_word(stripped, 0)
        probe = stripped
        if raw.lstrip().startswith("/-!"):  # a module doc (masked like any comment)
            indent = len(raw) - len(raw.lstrip())
            probe = raw[indent:]
        if probe.strip() and (indent == 0 or in_mutual) and _starts_command(word, probe):
            starts.append(offset + indent)
            if word == "mutual":
                in_mutual = True
            elif word == "end" and in_mutual:
                in_mutual = False
        offset += len(line) + 1
    return starts


def _name_end(text: str, k: int) -> int:
    """The end of the (possibly dotted, possibly «quoted») identifier at ``k`` (read in the
    text: the lexer masks «…» like a literal)."""
    while k < len(text):
        dot = (
            text[k] == "."
            and k + 1 < len(text)
            and (is_ident_char(text[k + 1]) or text[k + 1] == "«")
        )
        if text[k] == "«":
            close = text.find("»", k)
            if close < 0 or "\n" in text[k:close]:
                break
            k = close + 1
        elif is_ident_char(text[k]) or dot:
            k += 1
        else:
            break
    return k


def _extend_over_docstring(text: str, masked: str, start: int) -> int:
    """Move ``start`` back over a ``/-- … -/`` docstring that directly precedes it."""
    j = start
    while j > 0 and text[j - 1].isspace():
        j -= 1
    if j >= 2 and text[j - 2 : j] == "-/":
        opening = text.rfind("/--", 0, j)
        if opening >= 0 and masked[opening:j].strip() == "":
            return opening
    return start


def _top_level_assign(masked: str, start: int, end: int) -> int | None:
    depth = 0
    i = start
    while i < end:
        ch = masked[i]
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif depth == 0 and masked.startswith(":=", i):
            return i
        elif depth == 0 and ch == "|" and i > 0 and masked[i - 1] == "\n":
            return None
        i += 1
    return None


def find_declarations(text: str, masked: str | None = None) -> list[Declaration]:
    masked = mask_non_code(text) if masked is None else masked
    starts = _command_starts(masked, text)
    decls: list[Declaration] = []
    # Group attribute/modifier lines with the keyword that follows them.
    i = 0
    while i < len(starts):
        group_start = starts[i]
        if text.startswith("/-!", group_start):  # a module doc ends what precedes it, no more
            i += 1
            continue
        pos = group_start
        # Skip the attributes and modifiers of this command.
        while True:
            while pos < len(masked) and masked[pos].isspace():
                pos += 1
            if masked.startswith("@[", pos):
                depth, pos = 1, pos + 2
                while pos < len(masked) and depth:
                    depth += {"[": 1, "]": -1}.get(masked[pos], 0)
                    pos += 1
                continue
            scoped = _IN_PREFIX.match(masked, pos)
            if scoped:
                pos = scoped.end()
                continue
            word = _first_word(masked, pos)
            if word not in MODIFIERS:
                break
            pos += len(word)
        kind = _first_word(masked, pos)
        # the command group may span several "starts" (attribute line, then keyword line)
        j = i + 1
        while j < len(starts) and starts[j] <= pos:
            j += 1
        next_start = starts[j] if j < len(starts) else len(text)
        if kind in DECL_KEYWORDS:
            keyword_start = pos
            k = pos + len(kind)
            while k < len(text) and text[k] in " \t":
                k += 1
            if kind == "instance":
                prio = _INSTANCE_PRIORITY.match(masked, k)
                k = prio.end() if prio else k
            name_start = k
            k = _name_end(text, k)
            name = text[name_start:k] or None
            if kind == "instance" and name is not None and name.startswith(("(", "[")):
                name = None
            if name is None:
                name_start, k = keyword_start, keyword_start + len(kind)
            end = next_start
            if j < len(starts):
                end = _extend_over_docstring(text, masked, next_start)
            while end > keyword_start and text[end - 1].isspace():
                end -= 1
            start = _extend_over_docstring(text, masked, group_start)
            decls.append(
                Declaration(
                    kind=kind,
                    name=name,
                    start=start,
                    keyword_start=keyword_start,
                    name_start=name_start,
                    name_end=k,
                    end=end,
                    assign=_top_level_assign(masked, k, end),
                )
            )
        i = j
    return decls


def enclosing_declaration(decls: list[Declaration], offset: int) -> Declaration | None:
    for decl in decls:
        if decl.start <= offset <= decl.end:
            return decl
    return None
