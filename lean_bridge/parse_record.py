"""Lean's own account of what it parsed — the parse of record — against what we expect.

The gate reads a candidate with our reading of Lean's lexer; a reading that differs from Lean's
could let a command through inside what we took for a comment or a literal. So the decision
"this is a proof, and only a proof" is taken on what Lean itself reports: the REPL's info tree
(``infotree: "full"``) for the checked text lists, at its top level, one ``CommandInfo`` node per
command Lean elaborated, with its syntax kind, elaborator and source range, then the end-of-input
node. Shapes from the REPL's own tests: ``infotree_theorem.in`` / ``.expected.out`` in
``shared/lean-transcripts/repl-test`` (a declaration: ``Lean.Parser.Command.declaration``,
``argKinds`` ``[declModifiers, theorem]``, elaborator ``Lean.Elab.Command.elabDeclaration``, a
``Lean.Parser.Command.declId`` term child; then ``Lean.Parser.Command.eoi``), and Lean's info
tree of ``open Nat in …`` (``Lean.Elab.Command.expandInCmd`` with a macro expansion into
section / open / the command / end).

A candidate passes only if Lean elaborated exactly the expected commands — the carried helper
theorems, then the user's declaration — each spanning exactly the text we expect, of the
expected kind and name, and no syntax node Lean made starts inside what our lexer calls a comment
or a literal (the sign of a lexer disagreement). Anything else, including no info tree at all, is
refused: unknown means refused.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lean_interact.interface import BaseNode, CommandNode, InfoTree, Pos, Syntax

from lean_bridge.declarations import Declaration, find_declarations
from lean_bridge.lean_lexer import lex_spans

DECLARATION = "Lean.Parser.Command.declaration"
EOI = "Lean.Parser.Command.eoi"
DECL_ID = "Lean.Parser.Command.declId"
# Commands that only wrap one declaration: `set_option … in` / `open … in` (Lean's `in`
# combinator, a macro) and Mathlib's `lemma` (a macro that re-kinds itself to `theorem`).
WRAPPERS = frozenset({"Lean.Parser.Command.in", "lemma", "Batteries.Tactic.Lemma.lemmaCmd"})
# What a wrapper may expand to besides its one declaration (Lean's expansion of `… in`).
SCOPING_ELABORATORS = frozenset(
    {
        "Lean.Elab.Command.elabSection",
        "Lean.Elab.Command.elabOpen",
        "Lean.Elab.Command.elabSetOption",
        "Lean.Elab.Command.elabEndLocalScope",
        "Lean.Elab.Command.elabEnd",
        "Lean.Elab.Command.expandInCmd",
    }
)
# The syntax kind (last of `argKinds`) Lean gives each declaration keyword.
DECLARATION_KINDS = {
    "theorem": "Lean.Parser.Command.theorem",
    "lemma": "Lean.Parser.Command.theorem",  # Mathlib's `lemma` expands to `theorem`
    "def": "Lean.Parser.Command.definition",
    "example": "Lean.Parser.Command.example",
    "abbrev": "Lean.Parser.Command.abbrev",
    "instance": "Lean.Parser.Command.instance",
    "opaque": "Lean.Parser.Command.opaque",
}
HELPER_KINDS = frozenset({"theorem", "lemma"})


@dataclass(frozen=True)
class ExpectedCommand:
    """One command the checked text must be: where its syntax starts and ends (offsets into
    the checked text), its declaration keyword and name, and whether it is a carried helper."""

    start: int
    end: int
    keyword: str
    name: str | None
    helper: bool


def expected_commands(text: str, helpers: int) -> list[ExpectedCommand] | str:
    """The commands ``text`` (helpers, then the user's declaration) must parse as, read with our
    lexer; or why it cannot be such a text at all."""
    decls = find_declarations(text)
    if len(decls) != helpers + 1:
        return f"the checked text holds {len(decls)} declarations, not {helpers + 1}"
    masked = _comments_blanked(text)
    out = []
    for k, d in enumerate(decls):
        out.append(
            ExpectedCommand(
                start=d.start,
                end=_syntax_end(masked, d),
                keyword=d.kind,
                name=d.name,
                helper=k < helpers,
            )
        )
    return out


def _comments_blanked(text: str) -> str:
    """``text`` with its comments (not its literals) turned into spaces, offsets kept."""
    out = list(text)
    for span in lex_spans(text):
        if span.kind == "comment" and not text.startswith(("/--", "/-!"), span.start):
            out[span.start : span.end] = " " * (span.end - span.start)
    return "".join(out)


def _syntax_end(masked: str, decl: Declaration) -> int:
    """Lean's syntax ranges end at the last token: trailing whitespace and comments are out."""
    return len(masked[: decl.end].rstrip())


class _Offsets:
    """Lean positions (1-based line, 0-based column in code points) as offsets into ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def of(self, pos: Pos) -> int | None:
        if not 1 <= pos.line <= len(self.starts):
            return None
        at = self.starts[pos.line - 1] + pos.column
        return at if at <= len(self.text) else None


def _walk(trees: Sequence[InfoTree]) -> Iterator[InfoTree]:
    stack = list(reversed(trees))
    while stack:
        tree = stack.pop()
        yield tree
        stack.extend(reversed(tree.children))


def _syntax(tree: InfoTree) -> Syntax | None:
    return tree.node.stx if isinstance(tree.node, BaseNode) else None


def _elaborator(tree: InfoTree) -> str | None:
    return tree.node.elaborator if isinstance(tree.node, CommandNode) else None


def check_parse(
    text: str, trees: Sequence[InfoTree] | None, expected: list[ExpectedCommand]
) -> str | None:
    """Why Lean's parse of ``text`` (its info ``trees``) is not exactly ``expected``; None when
    it is."""
    if not trees:
        return "Lean gave no account of what it parsed (no info tree): refused"
    offsets = _Offsets(text)
    top = list(trees)
    last = _syntax(top[-1])
    if top[-1].kind == "CommandInfo" and last is not None and last.kind == EOI:
        top = top[:-1]
    if len(top) != len(expected):
        kinds = ", ".join(_describe(t) for t in top)
        return f"Lean parsed {len(top)} commands where {len(expected)} were expected: {kinds}"
    for tree, want in zip(top, expected, strict=True):
        why = _check_command(tree, want, offsets)
        if why:
            return why
    return _desync(text, trees, offsets)


def _describe(tree: InfoTree) -> str:
    stx = _syntax(tree)
    if stx is None:
        return tree.kind
    kind = stx.arg_kinds[-1] if stx.kind == DECLARATION and stx.arg_kinds else stx.kind
    return kind.rsplit(".", 1)[-1]


def _check_command(tree: InfoTree, want: ExpectedCommand, offsets: _Offsets) -> str | None:
    stx = _syntax(tree)
    what = "a helper" if want.helper else "the declaration"
    if tree.kind != "CommandInfo" or stx is None:
        return f"Lean's parse has a {tree.kind} where {what} was expected"
    start, end = offsets.of(stx.range.start), offsets.of(stx.range.finish)
    if (start, end) != (want.start, want.end):
        return (
            f"Lean parsed {what} `{want.name}` over a different stretch of text "
            f"({start}..{end}, expected {want.start}..{want.end}): the text hides a command"
        )
    if stx.kind in WRAPPERS:
        inner = _unwrap(tree)
        if isinstance(inner, str):
            return inner
        tree, stx = inner, _syntax(inner)
        assert stx is not None
    if stx.kind != DECLARATION or _elaborator(tree) != "Lean.Elab.Command.elabDeclaration":
        return f"Lean parsed a `{_describe(tree)}` command where {what} was expected"
    allowed = HELPER_KINDS if want.helper else {want.keyword}
    kinds = {DECLARATION_KINDS[k] for k in allowed if k in DECLARATION_KINDS}
    got = stx.arg_kinds[-1] if stx.arg_kinds else ""
    if got not in kinds:
        return f"Lean parsed a `{got.rsplit('.', 1)[-1]}` where {what} was expected"
    if want.name is not None:
        ids = [
            s.pp
            for child in tree.children
            if child.kind == "TermInfo" and (s := _syntax(child)) is not None and s.kind == DECL_ID
        ]
        if ids and ids[0] != want.name:
            return f"Lean parsed a declaration named `{ids[0]}` where `{want.name}` was expected"
        if not ids:
            return f"Lean's parse does not name {what} `{want.name}`"
    return None


def _unwrap(tree: InfoTree) -> InfoTree | str:
    """The one declaration a wrapper (`… in`, `lemma`) expands to, or why it is not one."""
    decls = []
    for node in _walk(tree.children):
        if node.kind != "CommandInfo":
            continue
        stx = _syntax(node)
        if stx is not None and stx.kind == DECLARATION:
            decls.append(node)
        elif stx is not None and stx.kind in WRAPPERS:
            continue
        elif _elaborator(node) not in SCOPING_ELABORATORS:
            return f"Lean parsed a `{_describe(node)}` command inside a declaration's scope"
    if len(decls) != 1:
        return f"a wrapped declaration expands to {len(decls)} declarations, not one"
    return decls[0]


def _desync(text: str, trees: Sequence[InfoTree], offsets: _Offsets) -> str | None:
    """A syntax node Lean made that starts inside what our lexer reads as a comment or literal
    (or a node outside the text) means the two readings differ: refuse."""
    spans = lex_spans(text)
    starts = [s.start for s in spans]
    for tree in _walk(trees):
        stx = _syntax(tree)
        if stx is None or stx.range.synthetic:
            continue
        at = offsets.of(stx.range.start)
        if at is None:
            return "Lean reports syntax outside the checked text"
        k = bisect.bisect_right(starts, at) - 1
        if k >= 0 and spans[k].start < at < spans[k].end:
            return f"Lean reads code where our lexer reads a {spans[k].kind} (offset {at}): refused"
    return None
