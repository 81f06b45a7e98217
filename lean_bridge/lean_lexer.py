r"""Just enough of Lean's lexer to tell code from comments, string and char literals and «» names,
read the way Lean's own tokenizer (`Lean.Parser.Basic`: `whitespace`, `tokenFn`) reads them.

What decides it, each rule from Lean's source:

- Identifier characters are Lean's, not Python's: `isIdFirst` is ASCII letters, `_` and
  `isLetterLike` (Greek except `λ Π Σ`, Coptic, polytonic Greek, the Letterlike block, the
  mathematical alphanumerics); `isIdRest` adds ASCII digits, `'`, `!`, `?` and
  `isSubScriptAlnum`. So `λ`, `ᶜ`, `ᵀ`, `ˣ` end an identifier and start a token of their own.
- A `'` starts a char literal only where a token starts (not inside `h'`, which is one
  identifier, nor in Mathlib's `''`, `⁻¹'`, `∑'` and `∏'` tokens) and only when the next
  character is not `'`.
- Digits start a number (`0x…`, `0b…`, `0o…`, decimals), never an identifier: `1theorem` is a
  number and a keyword.
- `r"…"` / `r#"…"#` are raw strings only where a token starts.
- `/-` starts a comment; `/--` and `/-!` are doc-comment tokens whose body starts after the
  third character (so `/--/` does not close itself, unlike `/-` + `-/`). Block comments nest and
  are closed by the leftmost `-/`; `--` runs to the end of the line.
- Strings honour exactly Lean's escapes (`\\ \" \' \n \t \r \xHH \uHHHH`, and a backslash before
  a line break); an interpolated string (`s!"…"`) holds code between `{` and the matching `}`.

Text that Lean reads as an error (a malformed char literal or escape, an unterminated «name»)
is reported as an ``unclassified`` span: the gate refuses it rather than guess where Lean's
error recovery resumes.

One left-to-right pass in linear time: plain code is skipped by one possessive regular
expression (in C), only the starts of comments and literals come back to Python.
"""

from __future__ import annotations

import functools
import re
from itertools import accumulate, islice
from typing import Literal, NamedTuple

SpanKind = Literal["comment", "string", "char", "name", "unclassified"]


class Span(NamedTuple):
    """A stretch of text that is not code: a comment, a literal, a «quoted name», or text the
    lexer cannot classify the way Lean does (``unclassified``)."""

    kind: SpanKind
    start: int
    end: int


# Lean's `isLetterLike` (Init/Meta), as regular-expression ranges: lower Greek but λ (U+03BB),
# upper Greek but Π (U+03A0) and Σ (U+03A3), Coptic, polytonic Greek, the Letterlike block, the
# mathematical alphanumerics.
LETTER_LIKE = (
    "\u03b1-\u03ba\u03bc-\u03c9\u0391-\u039f\u03a1\u03a2\u03a4-\u03a9\u03ca-\u03fb"
    "\u1f00-\u1ffe\u2100-\u214f\U0001d49c-\U0001d59f"
)
# Lean's `isSubScriptAlnum`: numeric subscripts, subscript letters.
SUBSCRIPT_ALNUM = "\u2080-\u2089\u2090-\u209c\u1d62-\u1d6a"
ID_FIRST = "A-Za-z_" + LETTER_LIKE
ID_REST = "A-Za-z0-9_'!?" + LETTER_LIKE + SUBSCRIPT_ALNUM
# Characters that some Lean versions take as identifier characters and others do not (newer
# Lean adds Latin-1 and Latin Extended-A letters and U+2C7C; very old versions U+207F). Text
# whose tokens depend on the Lean version is not classified: the gate refuses such code.
VERSION_DEPENDENT = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u017f\u2c7c\u207f"

_ID_FIRST_CHAR = re.compile(f"[{ID_FIRST}]")
_ID_REST_CHAR = re.compile(f"[{ID_REST}]")
COMPONENT = f"[{ID_FIRST}][{ID_REST}]*+"
NUMBER = (
    r"0[xX][0-9a-fA-F_]*+|0[bB][01_]*+|0[oO][0-7_]*+"
    r"|[0-9][0-9_]*+(?:\.[0-9][0-9_]*+)?(?:[eE][+-]?[0-9]++)?"
)
# An identifier token as Lean's `identFn` reads it (dotted components), or a number.
IDENT = f"{COMPONENT}(?:\\.{COMPONENT})*+"
TOKEN = re.compile(f"{NUMBER}|{IDENT}")


def is_ident_char(ch: str) -> bool:
    """Lean's `isIdRest`."""
    return _ID_REST_CHAR.match(ch) is not None


# Plain code, skipped in one possessive match: identifiers (not a raw string's `r`), numbers,
# and every character that cannot start a comment or a literal. What stops it is a span start.
# Mathlib's symbol tokens that hold a `'` (`f '' s`, `f ⁻¹' s`) are code, not char literals.
_PLAIN = f"[^{ID_FIRST}0-9'\"\\-/«]|-(?!-)|/(?!-)|''|(?<=⁻¹)'|(?<=[∑∏])'"
_CODE = re.compile(f'(?:(?!r[#"]){IDENT}|{NUMBER}|{_PLAIN})*+', re.S)
_CODE_IN_BRACES = re.compile(f'(?:(?!r[#"]){IDENT}|{NUMBER}|(?![{{}}])(?:{_PLAIN}))*+', re.S)
_ESCAPE = r"\\(?:[\\\"'nrt]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})"
_LINE_COMMENT = re.compile(r"--[^\n]*")
# A string gap (backslash, line break, indentation) may not hold a second line break: Lean
# (4.8+) stops there with an error, and its recovery reads on as code.
_GAP = r"\\\n(?![ \t]*\n)"
_STRING = re.compile(f'"(?:[^"\\\\]|{_ESCAPE}|{_GAP})*+"')
_STRING_OPEN = re.compile(f'"(?:[^"\\\\]|{_ESCAPE}|{_GAP})*+\\Z')  # unterminated: to the end
_CHAR = re.compile(f"'(?:[^\\\\]|{_ESCAPE})'", re.S)
_NAME = re.compile(r"«[^»]*»")
_RAW_STRING = re.compile(r'r(#*)"')
_SIMPLE_BLOCK = re.compile(r"(?:[^/\-]|/(?!-)|-(?!/))*+-/")
_COMMENT_MARK = re.compile(r"/-|-/")
_MARK_RUN = re.compile(r"[/-]*")
_DEPTH_CHANGE = {"/-": 1, "-/": -1}
_INTERP_STOP = re.compile(r"[\"\\{]")


@functools.lru_cache(maxsize=16)
def lex_spans(text: str) -> tuple[Span, ...]:
    """Every comment, string/char literal, «name» and unclassified stretch of ``text``, in
    order, never overlapping. (Cached: the gate reads the same text several ways.)

    Code inside an interpolated string's braces is left out of the spans (it is code); the string
    pieces around it are separate ``string`` spans.
    """
    spans: list[Span] = []
    append = spans.append
    n = len(text)
    pos = 0
    # Open interpolation braces: each entry is the brace depth of code inside one `{…}`.
    braces: list[int] = []
    while True:
        code = _CODE_IN_BRACES if braces else _CODE
        pos = code.match(text, pos).end()  # type: ignore[union-attr]  # `*+` always matches
        if pos >= n:
            break
        first = text[pos]
        if first == "{":
            braces[-1] += 1
            pos += 1
            continue
        if first == "}":
            if braces[-1] > 0:
                braces[-1] -= 1
                pos += 1
                continue
            braces.pop()  # back inside the interpolated string
            end, reopened = _interp_string_end(text, pos + 1)
            append(Span("string", pos, end))
            if reopened:
                braces.append(0)
            pos = end
            continue
        span = _span_at(text, pos)
        if span.kind == "string" and _interpolated(text, pos):
            end, reopened = _interp_string_end(text, pos + 1)
            span = Span("string", pos, end)
            if reopened:
                braces.append(0)
        append(span)
        pos = span.end
    return tuple(spans)


def _interpolated(text: str, start: int) -> bool:
    return start >= 2 and text[start - 1] == "!" and is_ident_char(text[start - 2])


def _span_at(text: str, pos: int) -> Span:
    """The comment or literal that starts at ``pos`` (where plain code stopped)."""
    first = text[pos]
    if first == "-":  # `--`
        m = _LINE_COMMENT.match(text, pos)
        assert m is not None
        return Span("comment", pos, m.end())
    if first == "/":  # `/-`, `/--`, `/-!`
        body = pos + 3 if text.startswith(("/--", "/-!"), pos) else pos + 2
        simple = _SIMPLE_BLOCK.match(text, body)
        return Span("comment", pos, simple.end() if simple else _block_comment_end(text, body))
    if first == '"':
        m = _STRING.match(text, pos) or _STRING_OPEN.match(text, pos)
        return Span("string", pos, m.end()) if m else Span("unclassified", pos, pos + 1)
    if first == "'":
        m = _CHAR.match(text, pos)
        return Span("char", pos, m.end()) if m else Span("unclassified", pos, pos + 1)
    if first == "«":
        m = _NAME.match(text, pos)
        return Span("name", pos, m.end()) if m else Span("unclassified", pos, pos + 1)
    raw = _RAW_STRING.match(text, pos)  # `r` followed by `#` or `"`
    if raw is None:
        return Span("unclassified", pos, pos + 2)
    closing = '"' + raw.group(1)
    j = text.find(closing, raw.end())
    return Span("string", pos, len(text) if j < 0 else j + len(closing))


def span_starts(text: str) -> int:
    """An upper bound on how many comments and literals ``text`` has, counted in C: callers
    refuse text with absurdly many before lexing it one span at a time."""
    return sum(text.count(mark) for mark in ("--", "/-", '"', "'", "«", "r#", "{", "}"))


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


def idents(code: str) -> list[re.Match[str]]:
    """The identifier tokens of ``code`` (comments and literals already out of it), as Lean's
    tokenizer splits them: a number is never the start of an identifier, and a character that
    is not Lean's `isIdRest` (`λ`, `ᶜ`, `ᵀ`, `·`) ends one. Numbers are skipped."""
    return [m for m in TOKEN.finditer(code) if not m.group(0)[0].isdigit()]


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
