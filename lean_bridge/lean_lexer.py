"""Just enough of Lean's lexer to tell code from comments, string and char literals and «» names.

One left-to-right pass in linear time (every search moves forward; nothing is rescanned), so a
megabyte of adversarial nesting costs milliseconds. The rules follow Lean 4's own tokenizer
(`Lean.Parser.Basic`): block comments nest (`/- /- -/ -/`) and are closed by the leftmost `-/`;
`--` runs to the end of the line; strings honour backslash escapes; raw strings `r#"…"#` end at
the quote followed by as many `#`; an interpolated string (`s!"…"`, `m!"…"`, `f!"…"`, any
`ident!"…"`) holds code between `{` and the matching `}`, and that code may itself contain
strings, so `s!"a{f "x"}b"` is one literal whose `f "x"` is code.
"""

from __future__ import annotations

import re
from itertools import accumulate, islice
from typing import Literal, NamedTuple

SpanKind = Literal["comment", "string", "char", "name"]


class Span(NamedTuple):
    """A stretch of text that is not code: a comment, a literal, or a «quoted name»."""

    kind: SpanKind
    start: int
    end: int


def is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'!?" or "\u2080" <= ch <= "\u209c" or ch == "\u271d"


def is_ident_start(ch: str) -> bool:
    return (ch.isalpha() and ch not in "λΠΣ") or ch == "_"


# Non-code spans. Simple ones (line comments, plain strings, char literals, «names») are
# matched whole by one regular expression, in C; block comments (nesting), raw strings and
# interpolated strings (code inside braces) are finished in Python. Every branch starts with a
# literal character and there are no groups, so the regex engine skips plain code with a fast
# first-character scan (named groups would make it try every branch at every position).
_SPAN = (
    r"--[^\n]*"
    r"|/-"
    r'|"(?:[^"\\]|\\.)*"?'
    r"|'(?<![\w'!?\u271d]')(?:[^\\'\n]|\\(?:[\\\"'ntr0]|x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}))'"
    r"|«[^»]*»?"
    r"|r(?<![\w'!?\u271d]r)#*\""
)
_START = re.compile(_SPAN, re.S)
_START_IN_BRACES = re.compile(_SPAN + r"|\{|\}", re.S)
_SIMPLE_BLOCK = re.compile(r"/-(?:[^/\-]|/(?!-)|-(?!/))*-/")
_COMMENT_MARK = re.compile(r"/-|-/")
_MARK_RUN = re.compile(r"[/-]*")
_DEPTH_CHANGE = {"/-": 1, "-/": -1}
_INTERP_STOP = re.compile(r"[\"\\{]")
_RAW_STRING = re.compile(r'r(#*)"')
_KIND: dict[str, SpanKind] = {"-": "comment", "'": "char", "«": "name"}


def lex_spans(text: str) -> list[Span]:
    """Every comment, string/char literal and «name» of ``text``, in order, never overlapping.

    Code inside an interpolated string's braces is left out of the spans (it is code); the string
    pieces around it are separate ``string`` spans.
    """
    spans: list[Span] = []
    append = spans.append
    n = len(text)
    pos = 0
    # Open interpolation braces: each entry is the brace depth of code inside one `{…}`.
    braces: list[int] = []
    while pos < n:
        m = (_START_IN_BRACES if braces else _START).search(text, pos)
        if m is None:
            break
        start, end = m.span()
        first = text[start]
        kind = _KIND.get(first)
        if kind is not None:
            append(Span(kind, start, end))
        elif first == '"':
            if start >= 2 and text[start - 1] == "!" and is_ident_char(text[start - 2]):
                end, reopened = _interp_string_end(text, start + 1)
                if reopened:
                    braces.append(0)
            append(Span("string", start, end))
        elif first == "/":
            simple = _SIMPLE_BLOCK.match(text, start)
            end = simple.end() if simple else _block_comment_end(text, start + 2)
            append(Span("comment", start, end))
        elif first == "{":
            braces[-1] += 1
        elif first == "}":
            if braces[-1] > 0:
                braces[-1] -= 1
            else:
                braces.pop()  # back inside the interpolated string
                end, reopened = _interp_string_end(text, start + 1)
                append(Span("string", start, end))
                if reopened:
                    braces.append(0)
        else:  # raw string
            raw = _RAW_STRING.match(text, start)
            assert raw is not None
            closing = '"' + raw.group(1)
            j = text.find(closing, raw.end())
            end = n if j < 0 else j + len(closing)
            append(Span("string", start, end))
        pos = end
    return spans


def span_starts(text: str) -> int:
    """An upper bound on how many comments and literals ``text`` has, counted in C: callers
    refuse text with absurdly many before lexing it one span at a time."""
    return sum(text.count(mark) for mark in ("--", "/-", '"', "'", "«"))


def _block_comment_end(text: str, i: int) -> int:
    """End of a nested block comment whose body starts at ``i`` (depth 1).

    Marks are read as Lean reads them (leftmost `/-` or `-/`, never overlapping); the depth is
    summed in C over growing windows, so a flood of `/-` costs no Python work per mark. A window
    never ends inside a run of `/` and `-`, so no mark is cut in two.
    """
    n = len(text)
    depth, pos, window = 1, i, 4096
    while pos < n:
        run = _MARK_RUN.match(text, min(n, pos + window))
        end = run.end() if run else n  # `[/-]*` always matches
        marks = _COMMENT_MARK.findall(text, pos, end)
        running = list(accumulate(map(_DEPTH_CHANGE.__getitem__, marks), initial=depth))
        if 0 in running:
            k = running.index(0)  # the k-th mark (1-based) closes the comment
            closing = next(islice(_COMMENT_MARK.finditer(text, pos, end), k - 1, None))
            return closing.end()
        depth, pos, window = running[-1], end, window * 2
    return n


def _interp_string_end(text: str, i: int) -> tuple[int, bool]:
    """End of an interpolated string's piece starting at ``i``; True when it stops at ``{``."""
    while True:
        m = _INTERP_STOP.search(text, i)
        if m is None:
            return len(text), False
        if m.group(0) == "\\":
            i = m.end() + 1
            continue
        return m.end(), m.group(0) == "{"


_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(body: str) -> str:
    return _NOT_NEWLINE.sub(" ", body) if "\n" in body else " " * len(body)


def mask_non_code(text: str) -> str:
    """Return ``text`` with comments, string/char literals and «names» blanked out.

    Length and newlines are preserved, so offsets into the result are offsets into ``text``.
    """
    pieces: list[str] = []
    i = 0
    for _, start, end in lex_spans(text):
        pieces.append(text[i:start])
        pieces.append(_blank(text[start:end]))
        i = end
    pieces.append(text[i:])
    return "".join(pieces)


def code_view(text: str) -> str:
    """``text`` with comments blanked, literals' contents kept between spaces and «» quotes
    turned into spaces (so `«debug».skipKernelTC` reads ` debug .skipKernelTC`: both parts are
    seen, and `«x»theorem` cannot hide the keyword inside a longer name).

    For the gate: its decisions are made on code, so comments go; a literal's contents are
    kept so that whatever a lexer disagreement might hide in one is still seen (a proof needs no
    strings, so this costs nothing real). Newlines are preserved; offsets are not.
    """
    pieces: list[str] = []
    i = 0
    for span in lex_spans(text):
        pieces.append(text[i : span.start])
        body = text[span.start : span.end]
        if span.kind == "comment":
            pieces.append(_blank(body))
        elif span.kind == "name":
            pieces.append(" " + body[1:].replace("»", " "))
        else:
            pieces.append(" " + body + " ")
        i = span.end
    pieces.append(text[i:])
    return "".join(pieces)


def word_at(masked: str, start: int, word: str) -> bool:
    """Whether ``word`` stands as a whole identifier token at ``start``."""
    end = start + len(word)
    if masked[start:end] != word:
        return False
    before = masked[start - 1] if start > 0 else " "
    after = masked[end] if end < len(masked) else " "
    return not (is_ident_char(before) or before == ".") and not is_ident_char(after)


def find_words(masked: str, word: str) -> list[int]:
    hits = []
    i = masked.find(word)
    while i >= 0:
        if word_at(masked, i, word):
            hits.append(i)
        i = masked.find(word, i + 1)
    return hits
