"""The stand-in REPL's reading of a command text into Lean's top-level commands, and the info
tree the real REPL returns for it (``{"infotree": "full"}``).

Written independently of the product's lexer (one character at a time, after Lean's own
`whitespace` and `tokenFn` in `Lean.Parser.Basic`), so that a test that passes says the product
agrees with Lean's rules, not with itself:

- identifiers: `isIdFirst` = ASCII letters, `_`, `isLetterLike`; `isIdRest` adds ASCII digits,
  `'`, `!`, `?` and `isSubScriptAlnum` (Lean's `Init/Meta`);
- `'` starts a char literal only at a token start and when the next character is not `'`;
- `/-` starts a comment unless followed by `-` or `!`: `/--` and `/-!` are doc-comment tokens
  whose body starts after the third character; a doc comment starts a command (inside a proof
  the proof's parse fails there and the next command begins with it);
- a command keyword token ends whatever term or tactic block precedes it (it is no term token),
  so a command starts there, on any line and column — Lean's error recovery does the same.

Info tree shapes, from real REPL output: ``repl-test/infotree_theorem.expected.out`` (a
declaration's ``CommandInfo``: kind ``Lean.Parser.Command.declaration``, ``argKinds``
``[declModifiers, <keyword kind>]``, elaborator ``Lean.Elab.Command.elabDeclaration``, a
``TermInfo`` child of kind ``Lean.Parser.Command.declId`` naming it, ``ident`` ``TermInfo``
nodes for the identifiers of its body; then a ``Lean.Parser.Command.eoi`` node with elaborator
``Lean.Elab.Command.elabEoi`` at the end of the input) and Lean's info tree of ``open Nat in …``
(a ``#guard_msgs``-checked test: ``Lean.Elab.Command.expandInCmd`` with a ``MacroExpansionInfo``
child holding section, open, end-local-scope, the command, end). Mathlib's ``lemma`` is a macro
(``Mathlib/Tactic/Lemma.lean``: syntax ``lemma``, ``@[macro lemma] expandLemma``) that re-kinds
itself to ``declaration``/``theorem``; Lean's `elabCommand` records a macro as a ``CommandInfo``
of the macro's syntax with the expansion below it, as for ``expandInCmd``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

LETTER_LIKE = [
    (0x3B1, 0x3C9, {0x3BB}),
    (0x391, 0x3A9, {0x3A0, 0x3A3}),
    (0x3CA, 0x3FB, set()),
    (0x1F00, 0x1FFE, set()),
    (0x2100, 0x214F, set()),
    (0x1D49C, 0x1D59F, set()),
]


def is_letter_like(c: str) -> bool:
    v = ord(c)
    return any(a <= v <= b and v not in no for a, b, no in LETTER_LIKE)


def is_subscript_alnum(c: str) -> bool:
    v = ord(c)
    return 0x2080 <= v <= 0x2089 or 0x2090 <= v <= 0x209C or 0x1D62 <= v <= 0x1D6A


def is_id_first(c: str) -> bool:
    return (c.isascii() and c.isalpha()) or c == "_" or is_letter_like(c)


def is_id_rest(c: str) -> bool:
    return (
        (c.isascii() and c.isalnum()) or c in "_'!?" or is_letter_like(c) or is_subscript_alnum(c)
    )


DECL_KINDS = {
    "theorem": "Lean.Parser.Command.theorem",
    "def": "Lean.Parser.Command.definition",
    "example": "Lean.Parser.Command.example",
    "abbrev": "Lean.Parser.Command.abbrev",
    "instance": "Lean.Parser.Command.instance",
    "axiom": "Lean.Parser.Command.axiom",
    "opaque": "Lean.Parser.Command.opaque",
    "structure": "Lean.Parser.Command.structure",
    "class": "Lean.Parser.Command.classTk",
    "inductive": "Lean.Parser.Command.inductive",
}
MODIFIERS = {"private", "protected", "noncomputable", "unsafe", "partial", "nonrec", "public"}
# Commands that open only at the start of a line when a tactic block could continue (`open … in`
# and `set_option … in` are tactics too); every other command keyword opens a command anywhere.
LINE_START_ONLY = {"open", "set_option"}
OTHER_COMMANDS = {
    "lemma", "namespace", "section", "end", "open", "set_option", "attribute", "notation",
    "infix", "infixl", "infixr", "prefix", "postfix", "macro", "macro_rules", "syntax", "elab",
    "elab_rules", "variable", "universe", "initialize", "run_cmd", "import", "mutual", "local",
    "scoped", "simproc", "declare_syntax_cat", "export",
}  # fmt: skip
COMMAND_KINDS = {
    "#eval": ("Lean.Parser.Command.eval", "Lean.Elab.Command.elabEvalCoreUnsafe"),
    "#print": ("Lean.Parser.Command.print", "Lean.Elab.Command.elabPrint"),
    "#check": ("Lean.Parser.Command.check", "Lean.Elab.Command.elabCheck"),
    "elab_rules": ("Lean.Parser.Command.elab_rules", "Lean.Elab.Command.elabElabRules"),
    "attribute": ("Lean.Parser.Command.attribute", "Lean.Elab.Command.elabAttr"),
    "notation": ("Lean.Parser.Command.notation", "Lean.Elab.Command.expandNotation"),
    "namespace": ("Lean.Parser.Command.namespace", "Lean.Elab.Command.elabNamespace"),
    "end": ("Lean.Parser.Command.end", "Lean.Elab.Command.elabEnd"),
}


@dataclass
class Token:
    start: int
    end: int
    kind: str  # "ident", "keyword", "symbol", "string", "char", "number", "doc", "error"
    text: str


def _comment_end(text: str, i: int) -> int:
    depth = 1
    while i < len(text):
        if text.startswith("-/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        elif text.startswith("/-", i):
            depth, i = depth + 1, i + 2
        else:
            i += 1
    return len(text)


# A string gap: backslash, line break, indentation, and no second line break (Lean 4.8+ stops
# with "unexpected additional newline in string gap").
_ESC = re.compile(r"\\(?:[\\\"'nrt]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|\n[ \t]*(?!\n))")
# Symbol tokens the stand-in knows (core Lean's `<-`, `->`, `//`, `\/`; Mathlib's `''`, `⁻¹'`,
# `∑'`, `∏'`). A token is read whole where it starts, so `<--` is `<-` then `-` to Lean, never a
# comment, and `∑'(` is `∑'` then `(`.
SYMBOLS = sorted(
    ["⁻¹'", "''", "∑'", "∏'", ":=", "<;>", "=>", "->", "<-", "//", "\\/", "@[", "..", "·"],
    key=len,
    reverse=True,
)
KEYWORDS = set(DECL_KINDS) | MODIFIERS | OTHER_COMMANDS | {"by", "fun", "have", "show", "at"}


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/-", i) and text[i + 2 : i + 3] not in ("-", "!"):
            i = _comment_end(text, i + 2)
        elif text.startswith(("/--", "/-!"), i):
            # A doc comment always starts a command (the head of a declaration's modifiers, or
            # where error recovery resumes), and the doc-comment parser reads its body from the
            # third character on.
            j = _comment_end(text, i + 3)
            out.append(Token(i, j, "doc", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    m = _ESC.match(text, j)
                    if m is None:
                        out.append(Token(i, j + 1, "error", text[i : j + 1]))
                        break
                    j = m.end()
                else:
                    j += 1
            else:
                out.append(Token(i, min(j + 1, n), "string", text[i : j + 1]))
                i = min(j + 1, n)
                continue
            i = j + 1
        elif c == "'" and text[i + 1 : i + 2] != "'":
            m = _ESC.match(text, i + 1) if text[i + 1 : i + 2] == "\\" else None
            j = m.end() if m else i + 2
            if text[j : j + 1] == "'":
                out.append(Token(i, j + 1, "char", text[i : j + 1]))
                i = j + 1
            else:
                out.append(Token(i, j, "error", text[i:j]))
                i = j
        elif c.isascii() and c.isdigit():
            # Lean's `numberFnAux`: `0x`/`0b`/`0o` and their digits, else decimal digits with an
            # optional fraction and exponent; the next character starts a new token.
            j = i + 1
            base = text[i : i + 2].lower()
            digits = {"0x": "0123456789abcdefABCDEF_", "0b": "01_", "0o": "01234567_"}.get(base)
            if digits is not None:
                j = i + 2
                while j < n and text[j] in digits:
                    j += 1
            else:
                while j < n and ((text[j].isascii() and text[j].isdigit()) or text[j] == "_"):
                    j += 1
                if text[j : j + 1] == "." and text[j + 1 : j + 2].isdigit():
                    j += 2
                    while j < n and text[j].isascii() and text[j].isdigit():
                        j += 1
                if text[j : j + 1] in ("e", "E"):
                    k = j + 1 + (text[j + 1 : j + 2] in ("+", "-"))
                    if text[k : k + 1].isdigit():
                        j = k
                        while j < n and text[j].isascii() and text[j].isdigit():
                            j += 1
            out.append(Token(i, j, "number", text[i:j]))
            i = j
        elif c == "r" and text[i + 1 : i + 2] in ('"', "#"):
            m = re.compile(r'r(#*)"').match(text, i)
            if m is None:
                out.append(Token(i, i + 2, "error", text[i : i + 2]))
                i += 2
                continue
            close = text.find('"' + m.group(1), m.end())
            j = n if close < 0 else close + 1 + len(m.group(1))
            out.append(Token(i, j, "string", text[i:j]))
            i = j
        elif is_id_first(c) or c == "«":
            j = i
            while True:
                if j < n and text[j] == "«":
                    k = text.find("»", j)
                    j = n if k < 0 else k + 1
                elif j < n and is_id_first(text[j]):
                    j += 1
                    while j < n and is_id_rest(text[j]):
                        j += 1
                else:
                    break
                if (
                    j + 1 < n
                    and text[j] == "."
                    and (is_id_first(text[j + 1]) or text[j + 1] == "«")
                ):
                    j += 1
                    continue
                break
            word = text[i:j]
            out.append(Token(i, j, "keyword" if word in KEYWORDS else "ident", word))
            i = j
        elif c == "#":
            j = i + 1
            while j < n and is_id_rest(text[j]):
                j += 1
            out.append(Token(i, j, "keyword", text[i:j]))
            i = j
        else:
            sym = next((s for s in SYMBOLS if text.startswith(s, i)), c)
            out.append(Token(i, i + len(sym), "symbol", sym))
            i += len(sym)
    return out


def _column(text: str, at: int) -> int:
    return at - (text.rfind("\n", 0, at) + 1)


@dataclass
class ParsedCommand:
    start: int
    end: int
    tokens: list[Token] = field(default_factory=list)

    @property
    def head(self) -> list[Token]:
        return self.tokens


def _starts_command(tokens: list[Token], k: int, text: str) -> bool:
    t = tokens[k]
    if t.kind == "keyword" and t.text.startswith("#"):
        return True
    if t.kind == "doc":
        return True
    if t.kind == "symbol" and t.text == "@[":
        return k == 0 or _column(text, t.start) == 0
    if t.kind != "keyword":
        return False
    if t.text in LINE_START_ONLY:
        return _column(text, t.start) == 0
    return t.text in DECL_KINDS or t.text in MODIFIERS or t.text in OTHER_COMMANDS


def split_commands(text: str) -> list[ParsedCommand]:
    """Lean's top-level commands of ``text``: a command keyword starts one wherever it stands;
    modifiers, attributes, a doc comment and `… in` prefixes belong to the command they precede."""
    tokens = tokenize(text)
    commands: list[ParsedCommand] = []
    k = 0
    while k < len(tokens):
        if not commands or _starts_command(tokens, k, text):
            start = k
            # The head: doc comment (its body is a comment here), attributes, modifiers, `… in`.
            while k < len(tokens):
                t = tokens[k]
                if t.kind == "doc":
                    k += 1
                    continue
                if t.text == "@[":
                    while k < len(tokens) and tokens[k].text != "]":
                        k += 1
                    k += 1
                    continue
                if t.text in MODIFIERS or (t.text in LINE_START_ONLY and k == start):
                    if t.text in LINE_START_ONLY:
                        j = k + 1
                        while (
                            j < len(tokens)
                            and tokens[j].text != "in"
                            and not _starts_command(tokens, j, text)
                        ):
                            j += 1
                        if j < len(tokens) and tokens[j].text == "in":
                            k = j + 1
                            continue
                        break
                    k += 1
                    continue
                break
            commands.append(ParsedCommand(tokens[start].start, 0, tokens[start : k + 1]))
            k += 1
            continue
        commands[-1].tokens.append(tokens[k])
        k += 1
    for cmd in commands:
        cmd.end = cmd.tokens[-1].end
        if cmd.tokens[0].kind == "doc":  # the doc comment's body is inside the command
            cmd.start = cmd.tokens[0].start
    return commands


def _pos(text: str, at: int) -> dict[str, int]:
    return {"line": text.count("\n", 0, at) + 1, "column": _column(text, at)}


def _range(text: str, a: int, b: int, synthetic: bool = False) -> dict[str, Any]:
    return {"synthetic": synthetic, "start": _pos(text, a), "finish": _pos(text, b)}


def _command_node(
    text: str, a: int, b: int, kind: str, arg_kinds: list[str], elab: str, children: list[Any]
) -> dict[str, Any]:
    return {
        "node": {
            "stx": {
                "range": _range(text, a, b),
                "pp": text[a:b],
                "kind": kind,
                "argKinds": arg_kinds,
            },
            "elaborator": elab,
        },
        "kind": "CommandInfo",
        "children": children,
    }


def _ident_node(text: str, t: Token, kind: str = "ident", binder: bool = False) -> dict[str, Any]:
    return {
        "node": {
            "stx": {
                "range": _range(text, t.start, t.end),
                "pp": t.text,
                "kind": kind,
                "argKinds": [],
            },
            "isBinder": binder,
            "expr": t.text,
            "elaborator": None if binder else "Lean.Elab.Term.elabIdent",
        },
        "kind": "TermInfo",
        "children": [],
    }


def info_tree(text: str) -> list[dict[str, Any]]:
    """The REPL's ``infotree`` (``"full"``) for ``text``: its top-level commands, then eoi."""
    trees = []
    for cmd in split_commands(text):
        trees.append(_command_tree(text, cmd))
    end = len(text.rstrip())
    trees.append(
        _command_node(
            text, end, end, "Lean.Parser.Command.eoi", ["«»"], "Lean.Elab.Command.elabEoi", []
        )
    )
    return trees


def _command_tree(text: str, cmd: ParsedCommand) -> dict[str, Any]:
    words = [t for t in cmd.tokens if t.kind == "keyword"]
    first_kw = next(
        (t for t in words if t.text not in MODIFIERS and t.text not in LINE_START_ONLY), None
    )
    if cmd.tokens[0].text in LINE_START_ONLY and first_kw is not None:
        inner = ParsedCommand(
            first_kw.start, cmd.end, [t for t in cmd.tokens if t.start >= first_kw.start]
        )
        prefix_end = max(t.end for t in cmd.tokens if t.start < first_kw.start and t.text != "in")
        scope = [
            _command_node(
                text,
                cmd.start,
                prefix_end,
                "Lean.Parser.Command." + cmd.tokens[0].text,
                [],
                "Lean.Elab.Command.elabOpen"
                if cmd.tokens[0].text == "open"
                else "Lean.Elab.Command.elabSetOption",
                [],
            ),
            _command_tree(text, inner),
        ]
        expansion = {"node": None, "kind": "MacroExpansionInfo", "children": scope}
        return _command_node(
            text,
            cmd.start,
            cmd.end,
            "Lean.Parser.Command.in",
            [],
            "Lean.Elab.Command.expandInCmd",
            [expansion],
        )
    kw = first_kw.text if first_kw else cmd.tokens[0].text
    if kw == "lemma":
        decl = _declaration(text, cmd, "Lean.Parser.Command.theorem")
        expansion = {"node": None, "kind": "MacroExpansionInfo", "children": [decl]}
        return _command_node(text, cmd.start, cmd.end, "lemma", [], "expandLemma", [expansion])
    if kw in DECL_KINDS:
        return _declaration(text, cmd, DECL_KINDS[kw])
    kind, elab = COMMAND_KINDS.get(
        kw, (f"Lean.Parser.Command.{kw.lstrip('#')}", f"Lean.Elab.Command.elab_{kw.lstrip('#')}")
    )
    return _command_node(text, cmd.start, cmd.end, kind, [], elab, [])


def _declaration(text: str, cmd: ParsedCommand, kind: str) -> dict[str, Any]:
    children = [_ident_node(text, t) for t in cmd.tokens if t.kind == "ident"]
    kw_index = next(
        i for i, t in enumerate(cmd.tokens) if t.text in DECL_KINDS or t.text == "lemma"
    )
    after = cmd.tokens[kw_index + 1] if kw_index + 1 < len(cmd.tokens) else None
    if after is not None and after.kind == "ident":
        children = children[1:]
        children.append(_ident_node(text, after, "Lean.Parser.Command.declId", binder=True))
    return _command_node(
        text,
        cmd.start,
        cmd.end,
        "Lean.Parser.Command.declaration",
        ["Lean.Parser.Command.declModifiers", kind],
        "Lean.Elab.Command.elabDeclaration",
        children,
    )
