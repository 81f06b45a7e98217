"""Putting a candidate proof where a hole was, and making the declaration checkable on its own.

Candidates are always tactic scripts. A tactic-position hole takes the script as is; a
term-position hole takes ``by <script>``. Continuation lines are indented to the hole's column,
so multi-line proofs stay inside their tactic block.
"""

from __future__ import annotations

import re
from typing import Literal

from lean_bridge.declarations import Declaration

HoleMode = Literal["tactic", "term"]
CHECK_NAME = "sidecarCheck"

_TACTIC_OPENERS = re.compile(
    r"(?:\bby|;|<;>|·|\.|\bcase\s+\S+.*=>|\bnext\b.*=>|\bat\s+\S+\s*=>)\s*$"
)


def hole_mode(masked: str, start: int) -> HoleMode:
    """Guess whether the hole at ``start`` sits where a tactic or a term is expected.

    The language-server path knows better (``plainGoal`` answers only in tactic blocks); this is
    for callers that have only the text, and verification catches a wrong guess.
    """
    before = masked[:start]
    line_start = before.rfind("\n") + 1
    on_line = before[line_start:]
    if _TACTIC_OPENERS.search(before.rstrip() + (" " if not on_line.strip() else "")) and (
        on_line.strip() == "" or re.search(r"(\bby|;|<;>|·|=>)\s*$", on_line)
    ):
        if re.search(r"=>\s*$", on_line) and not re.match(r"\s*(case|next|·)\b", on_line):
            return "term"  # `| pat => sorry` in a match is a term
        if on_line.strip() == "":
            prev = before.rstrip()
            if prev.endswith((":=", "(", "⟨", ",")) or re.search(
                r"(?<![\w])(then|else|fun\s.*=>)$", prev
            ):
                return "term"
        return "tactic"
    if on_line.strip() == "":
        prev = before.rstrip()
        if prev.endswith((":=", "=>", "(", "⟨", ",", "+", "*", "-")):
            return "term"
        return "tactic"
    return "term"


def indent_continuation(script: str, column: int) -> str:
    lines = script.strip("\n").split("\n")
    pad = " " * column
    return "\n".join([lines[0]] + [pad + line if line.strip() else "" for line in lines[1:]])


def render(script: str, mode: HoleMode, column: int) -> str:
    script = dedent_script(script)
    if mode == "tactic":
        return indent_continuation(script, column)
    if "\n" not in script:
        return f"by {script}"
    return "by\n" + "\n".join(
        " " * (column + 2) + line if line.strip() else "" for line in script.split("\n")
    )


def dedent_script(script: str) -> str:
    lines = script.strip("\n").split("\n")
    first, rest = lines[0].strip(), lines[1:]
    widths = [len(line) - len(line.lstrip()) for line in rest if line.strip()]
    cut = min(widths) if widths else 0
    return "\n".join([first] + [line[cut:] for line in rest])


_BLOCK_OPENER = re.compile(r"by\s*")


def block_column(masked: str, by_offset: int) -> int | None:
    """The column of the first tactic of the block that the `by` at ``by_offset`` opens (where
    Lean reports "unsolved goals"): where a tactic added to that block must stand."""
    m = _BLOCK_OPENER.match(masked, by_offset)
    if m is None or m.end() >= len(masked):
        return None
    return m.end() - (masked.rfind("\n", 0, m.end()) + 1)


def replacement(
    text: str, start: int, end: int, script: str, mode: HoleMode, column: int | None = None
) -> tuple[int, int, str]:
    """The edit that puts ``script`` in the hole: ``(start, end, new_text)``.

    An empty hole after code (``start == end``) is an insertion after a block's last tactic:
    on a new line at ``column``, the block's own column (`block_column` of the `by` Lean
    reported), when known.

    A multi-line script in a ``… by sorry`` hole goes on the following lines, indented two
    spaces past the line's own indentation, rather than hanging at the hole's column.
    """
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    script = dedent_script(script)
    if start == end and mode == "tactic" and before.strip():
        # An insertion after a tactic block's last tactic ("unsolved goals"): a new line at the
        # block's column (the tactic after `by` on this line, else this line's indentation).
        if column is None:
            opener = list(re.finditer(r"\bby[ \t]+(?=\S)", before))
            column = opener[-1].end() if opener else len(before) - len(before.lstrip())
        return start, end, "\n" + " " * column + indent_continuation(script, column)
    if (
        mode == "tactic"
        and "\n" in script
        and before.rstrip().endswith("by")
        and before.strip() != "by"
    ):
        indent = len(before) - len(before.lstrip()) + 2
        lines = script.split("\n")
        body = "\n".join(" " * indent + line if line.strip() else "" for line in lines)
        cut = line_start + len(before.rstrip())
        return cut, end, "\n" + body
    return start, end, render(script, mode, start - line_start)


def fill(text: str, start: int, end: int, script: str, mode: HoleMode) -> str:
    a, b, new = replacement(text, start, end, script, mode)
    return text[:a] + new + text[b:]


def checkable(text: str, decl: Declaration, delta: int) -> tuple[str, str]:
    """The declaration's text after a fill that changed its length by ``delta``, renamed so that
    ``#print axioms`` can name it, and that name."""
    body = text[decl.start : decl.end + delta]
    if decl.name is not None:
        return body, decl.name
    k = decl.keyword_start - decl.start
    keyword = "def" if decl.kind == "example" else decl.kind
    renamed = body[:k] + f"{keyword} {CHECK_NAME}" + body[k + len(decl.kind) :]
    return renamed, CHECK_NAME
