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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from lean_bridge.gate_rules import (
    ALWAYS_FORBIDDEN,
    EXTERNAL_TACTICS,
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
from lean_bridge.lean_lexer import (
    ID_REST,
    LETTER_LIKE,
    SUBSCRIPT_ALNUM,
    TOKEN,
    VERSION_DEPENDENT,
    code_view,
    idents,
    lex_spans,
    mask_non_code,
    span_starts,
)

# Default length cap (characters); verified prover proofs reach ~50,000.
DEFAULT_MAX_CHARS = 100_000

_HASH = re.compile(r"#\S{0,20}")
_OPTION_PREFIX = re.compile(r"\s*set_option\s+([\w.]+)\s+(\d+)\s+in\b")
_LEADING_BY = re.compile(r"\s*by\b")
_OPTION = re.compile(r"(?<![\w.'])set_option\s+([\w.]+)\s+(\d+)\s+in\b")
# `open A B in` right before a helper: plain namespaces only (no `private`, `scoped`, `hiding`,
# renaming), at the start of a line; judged like the helper it scopes.
_OPEN_IN = re.compile(
    r"^open((?:\s+(?!(?:private|scoped|hiding|renaming|in)\b)[A-Za-z_][\w.']*)+)\s+in\b"
    r"(?=\s+(?:theorem|lemma)\b)",
    re.M,
)
_INTERP = re.compile(r"!\s\"(?<=[\w'!?]!\s\")")
_ALL_KEYWORDS = COMMAND_KEYWORDS | DECLARATION_MODIFIERS
# Runs of letters as Python reads them: only for the look-alike check (`ѕоrrу` in Cyrillic is
# no Lean identifier at all, but a reader takes it for one). Tokens are Lean's (`idents`).
_LETTERS = re.compile(r"[^\W\d_]+")
_VERSION_DEPENDENT = re.compile(f"[{VERSION_DEPENDENT}]")
# `eval%`, `binop%`, `type_of%`, …: elaborators that evaluate or rewrite a term at elaboration.
_ELAB_PERCENT = re.compile(r"[A-Za-z_]{3,}[A-Za-z_0-9]*%(?![0-9])")  # `abc%2` is a modulo
_CONFIG = re.compile(r"\(\s*config\s*:=")
# A literal tactic configuration: `{ field := literal, … }` (booleans, numbers, `.ctor`).
_LITERAL_CONFIG = re.compile(
    r"\s*\{(?:\s*[A-Za-z_][\w.]*\s*:=\s*(?:true|false|\d+|\.?[A-Za-z_][\w.]*)\s*,?)*\s*\}\s*\)"
)
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


class _Keyword(NamedTuple):
    start: int
    word: str


def _keyword_tokens(words: set[str] | frozenset[str], code: str) -> Iterator[_Keyword]:
    """Every token of ``code`` that Lean reads as one of ``words``: a whole identifier token or
    its first component (`theorem.x` counts, `x.theorem` does not), identifiers split as Lean's
    tokenizer splits them (after `ᶜ`, `λ`, a digit or `?`, a keyword starts a token of its
    own)."""
    for m in idents(code):
        first = m.group(0).split(".", 1)[0]
        if first in words:
            yield _Keyword(m.start(), first)


def _standalone(words: set[str] | frozenset[str], code: str) -> str | None:
    """The first of ``words`` that stands in ``code`` as a token of its own."""
    if not words:
        return None
    first = next(_keyword_tokens(words, code), None)
    return first.word if first else None


def _parts(code: str) -> set[str]:
    """Every identifier component of ``code`` (Lean's tokens, split at dots). The tokens are
    collected in C; only the distinct ones are split in Python."""
    return {p for w in set(TOKEN.findall(code)) if not w[0].isdigit() for p in w.split(".")}


def _lookalikes(parts: set[str], targets: frozenset[str]) -> str | None:
    """A name of ``parts`` written with non-ASCII letters that reads as one of ``targets``
    (`ѕоrrу`, `ｔｈｅｏｒｅｍ`); the non-ASCII names are normalised together, in one call."""
    foreign = [p for p in parts if not p.isascii()]
    if not foreign:
        return None
    found = set(_LETTERS.findall(normalise(" ".join(foreign)))) & targets
    return min(found) if found else None


def _words_reason(code: str, allow_native: bool) -> str | None:
    """Why a name in ``code`` cannot be part of a proof, or None. One pass collects the name
    parts; the rest are set operations and literal-first scans, no Python loop over tokens."""
    parts = _parts(code)
    lookalike = _lookalikes(set(_LETTERS.findall(code)), _ALL_KEYWORDS | HOLE_WORDS)
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
    if root is None:
        external = _standalone(parts & EXTERNAL_TACTICS, code)
        if external:
            return f"forbidden: `{external}` reaches outside Lean (a service or a process)"
    if root:
        return f"forbidden: program-level name `{root}`"
    return None


def _version_reason(code: str) -> str | None:
    """Code whose tokens depend on the Lean version (`é` is an identifier character in newer
    Lean, an error in older): refused rather than read one way."""
    version = _VERSION_DEPENDENT.search(code)
    if version:
        return f"character U+{ord(version.group(0)):04X} is read differently by Lean versions"
    return None


def _config_reason(code: str) -> str | None:
    """A tactic configuration is evaluated while Lean elaborates: only literal ones pass."""
    for m in _CONFIG.finditer(code):
        if _LITERAL_CONFIG.match(code, m.end()) is None:
            return "forbidden: a tactic configuration that is not a literal `{ field := value }`"
    return None


# Where Lean's token table (which the gate cannot see: Mathlib and every import add to it)
# could make a comment start or a char literal part of a longer symbol token, e.g. `<--` is the
# token `<-` and then `-`, `∑'(` is the token `∑'` and then `(`: a comment or literal is read as
# such only after these characters, else the candidate is refused.
_BEFORE_COMMENT = re.compile(f"[\\s{LETTER_LIKE}{SUBSCRIPT_ALNUM}A-Za-z0-9_()\\[\\]{{}}⟨⟩,]")
_BEFORE_CHAR = re.compile("[\\s(\\[{⟨,]")
# Mathlib's symbol tokens that end in `'` are code only where a token surely follows.
# Where the file lacks the token (no Mathlib, or not the import), Lean's recovery reads a char
# literal from its second `'` and resumes two characters on: what follows the space must start
# no comment or literal either.
_QUOTE_TOKEN = re.compile(f"(?:(?<![{ID_REST}])''|⁻¹'|[∑∏]')")  # not the primes of `h''`
_SAFE_AFTER_QUOTE_TOKEN = re.compile(r"\s+(?![-/\"'«]|r[#\"])\S")


def _spans_reason(text: str, *, doc_comments: bool) -> str | None:
    """Text the lexer cannot read the way Lean does, or doc comments where a proof has none
    (`/--` and `/-!` are tokens: outside a declaration's head Lean reads their body as code)."""
    for span in lex_spans(text):
        if span.kind == "unclassified":
            return (
                f"cannot be read as Lean reads it: {text[span.start : span.start + 12]!r}"
                " (a malformed literal or escape)"
            )
        before = text[span.start - 1] if span.start > 0 else " "
        if span.kind == "comment" and not _BEFORE_COMMENT.match(before):
            return f"a comment glued to `{before}`: Lean may read both as one token"
        if span.kind == "char" and not _BEFORE_CHAR.match(before):
            return f"a char literal glued to `{before}`: Lean may read `{before}'` as one token"
        if span.kind == "string" and "\\\n" in text[span.start : span.end]:
            return "a string gap (backslash before a line break): Lean versions read it apart"
        if (
            not doc_comments
            and span.kind == "comment"
            and text.startswith(("/--", "/-!"), span.start)
        ):
            return "a doc comment (`/--`, `/-!`) inside a proof"
    quote = next(
        (
            m
            for m in _QUOTE_TOKEN.finditer(mask_non_code(text))
            if not _SAFE_AFTER_QUOTE_TOKEN.match(text, m.end())  # the raw text after it
        ),
        None,
    )
    if quote:
        return (
            f"`{quote.group(0)}` before a comment, a literal or no space: Lean's reading "
            "depends on the imports"
        )
    return None


def _tokens_reason(code: str, allow_native: bool) -> str | None:
    hash_token = _HASH.search(code)
    if hash_token:
        return f"forbidden: `{_shorten(hash_token.group(0))}` (no `#` command or token)"
    if "`" in code:
        return "forbidden: quotations and name literals"
    if "@[" in code or re.search(r"@\s+\[", code):
        return "forbidden: attributes in a proof"
    if _ELAB_PERCENT.search(code):
        return "forbidden: `%` elaborator syntax (evaluates a term while elaborating)"
    why = _config_reason(code)
    if why:
        return why
    if _INTERP.search(code) or re.search(r"\"[^\"]*\{", code):
        return "forbidden: interpolated string"
    return _words_reason(code, allow_native)


def _layout_reason(code: str, declaration_tail: bool = False) -> str | None:
    """The injection shape: a line after the proof that is not indented as part of it. For the
    tail of a declaration (a helper's binders, statement and proof, after `theorem name` at
    column 0), any line at column 0 is the shape: its lines may wrap at any deeper column."""
    first = re.search(r"^( *)(\S)", code, re.M)
    if first is None:
        return None
    column = len(first.group(1))
    strict = _BY.match(code, first.start(2)) is not None
    limit = column + 1 if strict else column
    if declaration_tail:
        limit = 1
    if limit and re.compile(r"\n {0," + str(limit - 1) + r"}\S").search(code, first.end()):
        return "text after the proof is not indented as part of it"
    return None


def check_candidate(
    proof: str,
    *,
    allow_native_decide: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    sketch_holes: bool = False,
    declaration_tail: bool = False,
) -> Verdict:
    """Whether ``proof`` (the text that replaces a hole: a tactic script or a term) may be sent
    to Lean. Linear in ``len(proof)``; the length is checked before anything else.
    ``declaration_tail``: ``proof`` is what follows a helper's name (see `_layout_reason`).

    With ``sketch_holes``, a proof sketch's placeholders are admitted: `sorry` only as the whole
    proof of a `have`/`suffices`/`show` step (`… := by sorry`, `… := sorry`), nowhere else."""
    if len(proof) > max_chars:
        return Verdict(False, f"proof longer than {max_chars} characters")
    if not proof.strip():
        return Verdict(False, "empty proof")
    why = _characters(proof) or _too_many_literals(proof, MAX_COMMENTS_AND_LITERALS)
    if why:
        return Verdict(False, why)
    why = _spans_reason(proof, doc_comments=False)
    if why:
        return Verdict(False, why)
    code = code_view(proof)
    why = _version_reason(code)
    if why:
        return Verdict(False, why)
    if sketch_holes:
        code = _SKETCH_HOLE.sub(lambda m: m.group(1) + "skip ", code)
    code, why = _strip_option_prefix(code)
    if why:
        return Verdict(False, why)
    why = _tokens_reason(code, allow_native_decide) or _layout_reason(code, declaration_tail)
    return Verdict(False, why) if why else Verdict(True)


HELPER_KEYWORDS = frozenset({"theorem", "lemma"})


# What may follow a doc comment: a declaration's head (attributes, modifiers, its keyword).
_DECLARATION_HEAD = re.compile(
    r"\s*(?:@\[|(?:"
    + "|".join(sorted(DECLARATION_KEYWORDS | DECLARATION_MODIFIERS))
    + r")(?![\w'!?]))"
)


def _doc_comment_placement(text: str) -> str | None:
    """A doc comment is a token whose body Lean reads as a comment only where a declaration's
    head follows it; anywhere else its body would be code to Lean."""
    masked: str | None = None
    for span in lex_spans(text):
        if span.kind != "comment" or not text.startswith(("/--", "/-!"), span.start):
            continue
        if text.startswith("/-!", span.start):
            return "a module doc comment (`/-!`) inside a declaration"
        masked = mask_non_code(text) if masked is None else masked  # later comments: spaces
        if _DECLARATION_HEAD.match(masked, span.end) is None:
            return "a doc comment (`/--`) that does not precede a declaration"
    return None


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
    why = (
        _characters(text)
        or _too_many_literals(text, 4 * MAX_COMMENTS_AND_LITERALS)
        or _spans_reason(text, doc_comments=True)
        or _doc_comment_placement(text)
    )
    if why:
        return Verdict(False, why)
    code = code_view(text)
    why = _version_reason(code)
    if why:
        return Verdict(False, why)
    hash_token = _HASH.search(code)
    if hash_token:
        return Verdict(False, f"extra command: `{_shorten(hash_token.group(0))}`")
    pieces, last = [], 0
    for opt in _OPTION.finditer(code):
        cap = OPTION_CAPS.get(opt.group(1))
        if cap is None or not 0 < int(opt.group(2)) <= cap:
            return Verdict(False, f"forbidden option: set_option {_shorten(opt.group(1))}")
        pieces += [code[last : opt.start()], " " * (opt.end() - opt.start())]
        last = opt.end()
    code = "".join(pieces) + code[last:]
    for opened in _OPEN_IN.finditer(code):
        names = {p for n in opened.group(1).split() for p in n.split(".")}
        bad = names & (FORBIDDEN_ROOTS | ALWAYS_FORBIDDEN | HOLE_WORDS)
        if bad:
            return Verdict(False, f"forbidden: `open {min(bad)}` (a program-level namespace)")
    code = _OPEN_IN.sub(lambda m: " " * len(m.group(0)), code)
    lookalike = _lookalikes(set(_LETTERS.findall(code)), _ALL_KEYWORDS)
    if lookalike:
        return Verdict(False, f"look-alike of `{lookalike}`")
    keywords = list(_keyword_tokens(_ALL_KEYWORDS, code))
    decls = [m for m in keywords if m.word in DECLARATION_KEYWORDS]
    if not decls:
        return Verdict(False, "no declaration")
    if len(decls) > max_declarations:
        return Verdict(False, f"extra command: `{decls[-2 if len(decls) > 1 else 0].word}`")
    for m in decls[:-1]:
        if m.word not in helper_keywords:
            return Verdict(False, f"helper declaration of a forbidden kind: `{m.word}`")
    decl_positions = {m.start for m in decls}
    for m in keywords:
        word = m.word
        if m.start in decl_positions:
            continue
        if word in _HEADER_MODIFIERS:
            nxt = _NEXT_WORD.match(code, m.start + len(word))
            if nxt and (nxt.group(1) in DECLARATION_KEYWORDS or nxt.group(1) in _HEADER_MODIFIERS):
                continue
        return Verdict(False, f"extra command: `{_shorten(word)}`")
    main = decls[-1].start
    if code.count("@[") > 4:
        return Verdict(False, "too many attribute lists")
    for attr in re.finditer(r"@\[", code):
        if (
            attr.start() > main
            or ":=" in code[attr.start() : main]
            or any(attr.start() < m.start < main for m in decls[:-1])
        ):
            return Verdict(False, "attributes outside the declaration's own header")
    return Verdict(True)
