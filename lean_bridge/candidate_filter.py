"""The gate in front of Lean: model output is hostile code and reaches a REPL only if it is
plainly a proof (a tactic block or a term) of the hole.

A whitelist, not a blacklist: the candidate is lexed as Lean lexes it (nested comments, strings,
interpolation, char literals, «names»), comments are dropped (decisions are made on code, so the
word `axiom` in a comment refuses nothing), and the code must consist of identifiers, numbers
and punctuation that a proof may contain. Refused, in order: over-long text (checked first, so
a huge answer costs nothing), invisible/bidi/odd-whitespace characters, any `#` token, quotations
and attributes, strings that could hold code, every command keyword of Lean 4 and Mathlib at any
position (`set_option` only as an allowlisted, capped proof prefix), holes (`sorry`, `admit`,
`stop`, look-alikes included), native evaluation unless allowed, program/IO/meta-level names,
and text after the proof that is not indented as part of it.

Everything is regular-expression scans and set look-ups over the text: linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lean_bridge.gate_rules import (
    ALWAYS_FORBIDDEN,
    FORBIDDEN_ROOTS,
    HOLE_WORDS,
    INVISIBLE,
    LONE_CR,
    NATIVE_WORDS,
    OPTION_CAPS,
    normalise,
)
from lean_bridge.lean_commands import (
    COMMAND_KEYWORDS,
    DECLARATION_KEYWORDS,
    DECLARATION_MODIFIERS,
)
from lean_bridge.lean_lexer import code_view, span_starts

# Default length cap (characters); verified prover proofs reach ~50,000.
DEFAULT_MAX_CHARS = 100_000

_HASH = re.compile(r"#\S{0,20}")
_OPTION_PREFIX = re.compile(r"\s*set_option\s+([\w.]+)\s+(\d+)\s+in\b")
_LEADING_BY = re.compile(r"\s*by\b")
_OPTION = re.compile(r"(?<![\w.'])set_option\s+([\w.]+)\s+(\d+)\s+in\b")
_INTERP = re.compile(r"!\s\"(?<=[\w'!?]!\s\")")
_ALL_KEYWORDS = COMMAND_KEYWORDS | DECLARATION_MODIFIERS
_PART = re.compile(r"[^\W\d][\w'!?\u2080-\u209c\u271d]*")
_SEARCH = re.compile(r"\?(?<=[A-Za-z_'!]\?)")
_UNSAFE = re.compile(r"[uU]nsafe")
_NOT_NEWLINE = re.compile(r"[^\n]")
_BY = re.compile(r"by(?![\w'!?])")
_NEXT_WORD = re.compile(r"\s*(\w+)")
_SKETCH_HOLE = re.compile(r"(:=\s*(?:by\s+)?)sorry(?![\w'!?])")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None = None


def _shorten(word: str) -> str:
    return word if len(word) <= 40 else word[:40] + "…"


# `set_option … in` prefixes admitted in front of one proof (more are refused as commands).
MAX_OPTION_PREFIXES = 4

# Comments and literals are lexed one by one; a real proof has a few hundred at most (the longest
# verified prover answers: ~300), so more than this is refused before lexing, which keeps the
# gate's Python-level work bounded whatever the input.
MAX_COMMENTS_AND_LITERALS = 5_000


def _too_many_literals(text: str, limit: int) -> str | None:
    if span_starts(text) > limit:
        return f"more than {limit} comments or literals"
    return None


def _characters(text: str) -> str | None:
    bad = INVISIBLE.search(text) or LONE_CR.search(text)
    if bad:
        return f"invisible or control character U+{ord(bad.group(0)[0]):04X}"
    return None


def _strip_option_prefix(code: str) -> tuple[str, str | None]:
    """``code`` without its leading `set_option NAME N in` (after an optional `by`), or why not."""
    by = _LEADING_BY.match(code)
    pos = by.end() if by else 0
    end = 0
    for _ in range(MAX_OPTION_PREFIXES):
        m = _OPTION_PREFIX.match(code, pos)
        if m is None:
            break
        name, value = m.group(1), int(m.group(2))
        cap = OPTION_CAPS.get(name)
        if cap is None:
            return code, f"forbidden option: set_option {_shorten(name)}"
        if not 0 < value <= cap:
            return code, f"option out of range: set_option {name} {value} (allowed 1..{cap})"
        pos = end = m.end()
    if end == 0:
        return code, None
    return _NOT_NEWLINE.sub(" ", code[:end]) + code[end:], None


def _standalone(words: set[str], code: str) -> str | None:
    """The first of ``words`` that stands in ``code`` as a whole name or a name's first part
    (not after a dot). Each branch starts with its literal word, so the scan is fast."""
    if not words:
        return None
    m = re.search(_standalone_pattern(words), code)
    return m.group(0) if m else None


def _standalone_pattern(words: set[str]) -> str:
    return "|".join(
        # not after a letter or `_.'!?` (a digit before it does not join: `1theorem` is two
        # tokens to Lean), not before a name character
        f"{re.escape(w)}(?<![^\\W\\d]{re.escape(w)})(?<![.'!?]{re.escape(w)})(?![\\w'!?])"
        for w in sorted(words, key=lambda w: (-len(w), w))
    )


def _lookalikes(parts: set[str], targets: frozenset[str]) -> str | None:
    """A name of ``parts`` written with non-ASCII letters that reads as one of ``targets``
    (`ѕоrrу`, `ｔｈｅｏｒｅｍ`); the non-ASCII names are normalised together, in one call."""
    foreign = [p for p in parts if not p.isascii()]
    if not foreign:
        return None
    found = set(_PART.findall(normalise(" ".join(foreign)))) & targets
    return min(found) if found else None


def _words_reason(code: str, allow_native: bool) -> str | None:
    """Why a name in ``code`` cannot be part of a proof, or None. One pass collects the name
    parts; the rest are set operations and literal-first scans, no Python loop over tokens."""
    parts = set(_PART.findall(code))
    lookalike = _lookalikes(parts, _ALL_KEYWORDS | HOLE_WORDS)
    if lookalike:
        return f"look-alike of `{lookalike}`"
    if _SEARCH.search(code):
        return "forbidden: search tactic (`exact?`, `apply?`, …)"
    keyword = _standalone(parts & _ALL_KEYWORDS, code)
    if keyword:
        return f"not a proof: command keyword `{keyword}`"
    for found in (parts & HOLE_WORDS, parts & ALWAYS_FORBIDDEN):
        if found:
            return f"forbidden: `{min(found)}`"
    native = parts & NATIVE_WORDS
    if native and not allow_native:
        return f"native evaluation is off: `{min(native)}`"
    if _UNSAFE.search(code):
        return "forbidden: unsafe code"
    root = _standalone(parts & FORBIDDEN_ROOTS, code.replace("_root_.", " "))
    if root:
        return f"forbidden: program-level name `{root}`"
    return None


def _tokens_reason(code: str, allow_native: bool) -> str | None:
    hash_token = _HASH.search(code)
    if hash_token:
        return f"forbidden: `{_shorten(hash_token.group(0))}` (no `#` command or token)"
    if "`" in code:
        return "forbidden: quotations and name literals"
    if "@[" in code or re.search(r"@\s+\[", code):
        return "forbidden: attributes in a proof"
    if re.search(r"%(?<=[\w']%)(?=\s|$)", code):
        return "forbidden: `%` elaborator syntax"
    if _INTERP.search(code) or re.search(r"\"[^\"]*\{", code):
        return "forbidden: interpolated string"
    return _words_reason(code, allow_native)


def _layout_reason(code: str) -> str | None:
    """The injection shape: a line after the proof that is not indented as part of it."""
    first = re.search(r"^( *)(\S)", code, re.M)
    if first is None:
        return None
    column = len(first.group(1))
    strict = _BY.match(code, first.start(2)) is not None
    limit = column + 1 if strict else column
    if limit and re.compile(r"\n {0," + str(limit - 1) + r"}\S").search(code, first.end()):
        return "text after the proof is not indented as part of it"
    return None


def check_candidate(
    proof: str,
    *,
    allow_native_decide: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    sketch_holes: bool = False,
) -> Verdict:
    """Whether ``proof`` (the text that replaces a hole: a tactic script or a term) may be sent
    to Lean. Linear in ``len(proof)``; the length is checked before anything else.

    With ``sketch_holes``, a proof sketch's placeholders are admitted: `sorry` only as the whole
    proof of a `have`/`suffices`/`show` step (`… := by sorry`, `… := sorry`), nowhere else."""
    if len(proof) > max_chars:
        return Verdict(False, f"proof longer than {max_chars} characters")
    if not proof.strip():
        return Verdict(False, "empty proof")
    why = _characters(proof) or _too_many_literals(proof, MAX_COMMENTS_AND_LITERALS)
    if why:
        return Verdict(False, why)
    code = code_view(proof)
    if sketch_holes:
        code = _SKETCH_HOLE.sub(lambda m: m.group(1) + "skip ", code)
    code, why = _strip_option_prefix(code)
    if why:
        return Verdict(False, why)
    why = _tokens_reason(code, allow_native_decide) or _layout_reason(code)
    return Verdict(False, why) if why else Verdict(True)


HELPER_KEYWORDS = frozenset({"theorem", "lemma"})
_HEADER_MODIFIERS = frozenset({"private", "protected", "noncomputable"})


def check_declaration_text(
    text: str,
    *,
    max_declarations: int = 1,
    helper_keywords: frozenset[str] = HELPER_KEYWORDS,
    max_chars: int = 4 * DEFAULT_MAX_CHARS,
) -> Verdict:
    """Re-lex the FINAL text of a declaration (exactly what an edit would insert, or what the
    verifier sends) and refuse it unless it is one declaration and nothing else: no `#` token, no
    command keyword except the declaration's own (and, with ``max_declarations`` above 1, up to
    that many helper declarations before it, of ``helper_keywords`` only), visibility modifiers
    only in front of a declaration, attributes only in the main (last) declaration's header
    (the user's own), `set_option` only as an allowlisted `… in`. Comments are not code; the proof
    inside was gated already, this catches what splicing or a header could smuggle in."""
    if len(text) > max_chars:
        return Verdict(False, f"declaration longer than {max_chars} characters")
    why = _characters(text) or _too_many_literals(text, 4 * MAX_COMMENTS_AND_LITERALS)
    if why:
        return Verdict(False, why)
    code = code_view(text)
    hash_token = _HASH.search(code)
    if hash_token:
        return Verdict(False, f"extra command: `{_shorten(hash_token.group(0))}`")
    pieces, last = [], 0
    for m in _OPTION.finditer(code):
        cap = OPTION_CAPS.get(m.group(1))
        if cap is None or not 0 < int(m.group(2)) <= cap:
            return Verdict(False, f"forbidden option: set_option {_shorten(m.group(1))}")
        pieces += [code[last : m.start()], " " * (m.end() - m.start())]
        last = m.end()
    code = "".join(pieces) + code[last:]
    parts = set(_PART.findall(code))
    lookalike = _lookalikes(parts, _ALL_KEYWORDS)
    if lookalike:
        return Verdict(False, f"look-alike of `{lookalike}`")
    words = parts & _ALL_KEYWORDS
    keywords = list(re.finditer(_standalone_pattern(words), code)) if words else []
    decls = [m for m in keywords if m.group(0) in DECLARATION_KEYWORDS]
    if not decls:
        return Verdict(False, "no declaration")
    if len(decls) > max_declarations:
        return Verdict(False, f"extra command: `{decls[-2 if len(decls) > 1 else 0].group(0)}`")
    for m in decls[:-1]:
        if m.group(0) not in helper_keywords:
            return Verdict(False, f"helper declaration of a forbidden kind: `{m.group(0)}`")
    decl_positions = {m.start() for m in decls}
    for m in keywords:
        word = m.group(0)
        if m.start() in decl_positions:
            continue
        if word in _HEADER_MODIFIERS:
            nxt = _NEXT_WORD.match(code, m.end())
            if nxt and (nxt.group(1) in DECLARATION_KEYWORDS or nxt.group(1) in _HEADER_MODIFIERS):
                continue
        return Verdict(False, f"extra command: `{_shorten(word)}`")
    main = decls[-1].start()
    if code.count("@[") > 4:
        return Verdict(False, "too many attribute lists")
    for attr in re.finditer(r"@\[", code):
        if (
            attr.start() > main
            or ":=" in code[attr.start() : main]
            or any(attr.start() < m.start() < main for m in decls[:-1])
        ):
            return Verdict(False, "attributes outside the declaration's own header")
    return Verdict(True)
