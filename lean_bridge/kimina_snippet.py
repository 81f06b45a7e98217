"""The REPL commands of one check as one Kimina Lean Server snippet, and its answer as the
``CommandResult`` each command would have had in a local REPL.

A local check runs a file's prefix, then each command (the hole marker's axiom, the declaration,
``#print axioms``) as REPL commands of their own, each in the environment the previous one left.
Kimina Lean Server runs one snippet per check: it splits the snippet's leading ``import`` lines
off as the header (elaborated once per REPL and reused), and runs the rest, the body, as one REPL
command in the header's environment (kimina-lean-server ``server/split.py`` ``split_snippet``,
``server/repl.py`` ``Repl.send``: ``{"cmd": body, "env": 0, "gc": true, "infotree": …}``). So the
snippet is laid out for an exact split:

    import A            <- the header: exactly the file's imports, as the splitter rebuilds them
    import B
    -- lean-sidecar     <- the body's first line (neither blank nor an import: the header ends)
    <the rest of the file's prefix>
    <command 0>         <- each command starts on a line of its own, at column 0
    <command 1>
    …

and the answer is cut at those lines: each command's messages and sorries are those that Lean
placed on its lines, and its info tree the top-level trees that start there, with positions made
relative to the command's own text, as a local REPL reports them. Kimina shifts the messages' and
sorries' lines by the header's line count (``routers/check.py`` ``_apply_header_offset``) but not
the info tree's; which convention a server follows is measured once, by ``probe_snippet``, and
handed to ``split_answer`` as ``Lines``.

Where the layout cannot be exact, the check is not sent: a header the splitter would rewrite
(``import Mathlib.Foo`` becomes ``import Mathlib``: another environment than the file's), a
``prelude`` or ``module`` header, line breaks other than ``\\n`` (the splitter re-joins
``str.splitlines()`` with ``\\n``, so the server would check another text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lean_interact.interface import InfoTree, Message, Sorry

from lean_bridge.json_types import Json, JsonObject
from lean_bridge.lean_lexer import mask_non_code
from lean_bridge.repl_results import CommandResult, by_position

#: the body's first line: ends the splitter's header exactly where ours ends
BODY_MARK = "-- lean-sidecar"
#: the header of a file without imports (Lean imports ``Init`` implicitly; Kimina reuses a
#: REPL's environment 0 only when the header is not blank, else it would be the previous body's)
NO_IMPORTS = "Init"
_IMPORT = re.compile(r"\s*import\s+([^\s]+)")
_PRELUDE = re.compile(r"\s*(?:prelude|module)\b")
_MODIFIED_IMPORT = re.compile(r"\s*(?:(?:public|meta|private)\s+)+import\b")
# What `str.splitlines()` splits on besides "\n" (and "\r\n", which it reads as one break).
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class NotSendable(ValueError):
    """The text cannot be sent as a snippet that the server checks exactly as it is;
    ``in_file``: because of the file's prefix (nothing of this file can be sent), not of one of
    the commands (a candidate)."""

    def __init__(self, why: str, *, in_file: bool) -> None:
        super().__init__(why)
        self.in_file = in_file


@dataclass(frozen=True)
class Snippet:
    """One check as Kimina's snippet: its ``code``, the header's line count, and the body line
    (1-based) where each command starts (``starts``; ``ends``: one past its last line)."""

    code: str
    header_lines: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]


@dataclass(frozen=True)
class Lines:
    """How a server numbers lines: whether its messages (and sorries), and its info tree, count
    the header's lines (Kimina 2.x: messages yes, info tree no)."""

    messages_count_header: bool = True
    tree_counts_header: bool = False


def split_imports(prefix: str) -> tuple[list[str], str]:
    """The modules ``prefix`` imports, in order, and the text after its header. Comments around
    the imports are dropped with them (their positions are not reported back)."""
    masked = mask_non_code(prefix)
    at, imports = 0, []
    while True:
        if _MODIFIED_IMPORT.match(masked, at) or (at == 0 and _PRELUDE.match(masked)):
            raise NotSendable(
                "a file with a `prelude`, `module` or modified `import` header cannot be checked "
                "on a Kimina Lean Server (its splitter reads plain `import` lines only)",
                in_file=True,
            )
        m = _IMPORT.match(masked, at)
        if m is None:
            break
        imports.append(prefix[m.start(1) : m.end(1)])
        at = m.end()
    return imports, prefix[at:]


def kimina_header(imports: list[str]) -> list[str]:
    """The import lines Kimina's splitter would rebuild from ``imports`` (``import Mathlib`` first
    if any import starts with ``Mathlib``, the others in order without duplicates). Only a header
    that is its own rebuild is sent: anything else would be checked in another environment."""
    mathlib = any(m.startswith("Mathlib") for m in imports)
    rest: list[str] = []
    for m in imports:
        if not m.startswith("Mathlib") and m not in rest:
            rest.append(m)
    return (["Mathlib"] if mathlib else []) + rest


def build_snippet(prefix: str, cmds: Sequence[str]) -> Snippet:
    """``prefix`` then ``cmds``, laid out for an exact split (``NotSendable`` when it cannot be)."""
    prefix = prefix.replace("\r\n", "\n")  # the prefix is context only: its breaks may be normal
    for text in (prefix, *cmds):
        bad = _OTHER_BREAKS.search(text)
        if bad is not None:
            raise NotSendable(
                f"the text holds a line break U+{ord(bad.group(0)):04X} that Kimina's splitter "
                "rewrites as \\n (the server would check another text); use \\n line endings",
                in_file=text is prefix,
            )
    imports, rest = split_imports(prefix)
    header = kimina_header(imports) if imports else [NO_IMPORTS]
    if imports and header != imports:
        raise NotSendable(
            "Kimina Lean Server checks `import "
            + "`, `import ".join(header)
            + "` where the file has `import "
            + "`, `import ".join(imports)
            + "` (it widens every `import Mathlib.…` to `import Mathlib`): a verdict there is "
            "not a verdict for this file; write `import Mathlib` or check locally",
            in_file=True,
        )
    body = BODY_MARK + "\n" + rest
    if not body.endswith("\n"):
        body += "\n"
    starts, ends = [], []
    for cmd in cmds:
        starts.append(body.count("\n") + 1)
        body += cmd if cmd.endswith("\n") else cmd + "\n"
        ends.append(body.count("\n") + 1)
    code = "".join(f"import {m}\n" for m in header) + body
    return Snippet(code, len(header), tuple(starts), tuple(ends))


def probe_snippet() -> tuple[Snippet, int, int]:
    """What a server is asked before it is used: a theorem (its info tree must come back), its
    axiom report (where its message lands says how lines are counted) and Lean's version.
    Returns the snippet and the body lines of the theorem and of the report."""
    snippet = build_snippet(
        "",
        [
            "theorem sidecarProbe : True := trivial",
            "#print axioms sidecarProbe",
            "#eval Lean.versionString",
        ],
    )
    return snippet, snippet.starts[0], snippet.starts[1]


# ---- the answer ---------------------------------------------------------------------------------


def _line(pos: Json) -> int | None:
    if isinstance(pos, dict):
        line = pos.get("line")
        if isinstance(line, int) and not isinstance(line, bool):
            return line
    return None


def _shift(value: Json, delta: int) -> Json:
    """``value`` with every position (an object of exactly ``line`` and ``column``) moved up by
    ``delta`` lines."""
    if isinstance(value, dict):
        if set(value) == {"line", "column"} and isinstance(value["line"], int):
            return {"line": value["line"] - delta, "column": value["column"]}
        return {k: _shift(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta) for v in value]
    return value


def tree_start_line(tree: Json) -> int | None:
    """The line where a top-level info tree's syntax starts (None: no position)."""
    node = tree.get("node") if isinstance(tree, dict) else None
    stx = node.get("stx") if isinstance(node, dict) else None
    rng = stx.get("range") if isinstance(stx, dict) else None
    return _line(rng.get("start")) if isinstance(rng, dict) else None


def tree_end_line(tree: Json) -> int | None:
    node = tree.get("node") if isinstance(tree, dict) else None
    stx = node.get("stx") if isinstance(node, dict) else None
    rng = stx.get("range") if isinstance(stx, dict) else None
    return _line(rng.get("finish")) if isinstance(rng, dict) else None


def _is_eoi(tree: Json) -> bool:
    node = tree.get("node") if isinstance(tree, dict) else None
    stx = node.get("stx") if isinstance(node, dict) else None
    return isinstance(stx, dict) and stx.get("kind") == "Lean.Parser.Command.eoi"


class Malformed(ValueError):
    """The server's answer is not shaped as the REPL's."""


def _owner(snippet: Snippet, body_line: int | None) -> int | None:
    """The command whose lines hold ``body_line`` (-1: unknown position; None: the prefix)."""
    if body_line is None:
        return -1
    for k in range(len(snippet.starts) - 1, -1, -1):
        if body_line >= snippet.starts[k]:
            return k
    return None


def split_answer(
    snippet: Snippet,
    response: JsonObject,
    lines: Lines,
    infotree: frozenset[int],
    seconds: float,
) -> list[CommandResult]:
    """The REPL's answer to the whole body (``response``: ``messages``, ``sorries``,
    ``infotree``) as one ``CommandResult`` per command. A message or sorry without a position
    is given to every command (it cannot be placed, so none may ignore it). The commands whose
    index is in ``infotree`` get their top-level trees (positions relative to their text); each
    other command must be exactly one top-level tree starting on its first line, at column 0,
    and ending on its lines, or the answer says so as that command's error: a command the server
    did not read as one of its own (a candidate that swallowed ``#print axioms``) is not
    reported as if it had run."""
    n = len(snippet.starts)
    msg_shift = snippet.header_lines if lines.messages_count_header else 0
    tree_shift = snippet.header_lines if lines.tree_counts_header else 0
    messages: list[list[Message]] = [[] for _ in range(n)]
    sorries: list[list[Sorry]] = [[] for _ in range(n)]
    try:
        for t, item in _placed(snippet, response.get("messages"), msg_shift):
            messages[t].append(Message.model_validate(item))
        for t, item in _placed(snippet, response.get("sorries"), msg_shift):
            # proof states live in the server's REPL: no tactic step can reach them from here
            sorries[t].append(Sorry.model_validate({**item, "proofState": None}))
    except ValueError as exc:
        raise Malformed(f"a message the REPL would not send: {str(exc)[:200]}") from None
    trees_by_cmd: list[list[Json]] = [[] for _ in range(n)]
    raw_trees = response.get("infotree")
    asked = bool(infotree)
    if asked:
        if raw_trees is not None and not isinstance(raw_trees, list):
            raise Malformed("the info tree is not a list")
        for tree in raw_trees or []:
            start = tree_start_line(tree)
            if start is None:
                raise Malformed("a top-level info tree has no position")
            k = _owner(snippet, start - tree_shift)
            if k is not None and k >= 0:
                trees_by_cmd[k].append(tree)
    out: list[CommandResult] = []
    for k in range(n):
        result = CommandResult(0, by_position(messages[k]), by_position(sorries[k]))
        if k == 0:
            result.seconds = seconds
        if k in infotree:
            base = snippet.starts[k] - 1 + tree_shift
            try:
                trees = [InfoTree.model_validate(_shift(t, base)) for t in trees_by_cmd[k]]
                result.infotree = trees or None
            except ValueError as exc:
                raise Malformed(f"an info tree the REPL would not send: {str(exc)[:200]}") from None
        elif asked:
            why = _alone(snippet, k, trees_by_cmd[k], tree_shift)
            if why is not None:
                result.error, result.env = why, None
                out.append(result)
                return out  # as a local REPL: nothing after a command that did not run
        out.append(result)
    return out


def _placed(snippet: Snippet, items: Json, shift: int) -> Iterator[tuple[int, JsonObject]]:
    """Each message (or sorry) of ``items`` with the command it belongs to, its positions made
    relative to that command's text; one without a position goes to every command, as it is."""
    if items is None:
        return
    if not isinstance(items, list):
        raise Malformed("messages or sorries are not a list")
    n = len(snippet.starts)
    for item in items:
        if not isinstance(item, dict):
            raise Malformed("a message or sorry is not an object")
        line = _line(item.get("pos"))
        k = _owner(snippet, None if line is None else line - shift)
        if k is None:
            continue  # the file's prefix: not the commands' (a local REPL's neither)
        if k == -1:
            for t in range(n):
                yield t, item
            continue
        moved = _shift(item, snippet.starts[k] - 1 + shift)
        assert isinstance(moved, dict)
        yield k, moved


def _alone(snippet: Snippet, k: int, trees: list[Json], shift: int) -> str | None:
    """Why command ``k`` was not read by Lean as one command of its own, on its own lines."""
    own = [t for t in trees if not _is_eoi(t)]
    if len(own) != 1:
        return (
            f"the server's Lean read {len(own)} commands where one was sent "
            f"(command {k + 1} of the check): not counted as run"
        )
    tree = own[0]
    node = tree.get("node") if isinstance(tree, dict) else None
    stx = node.get("stx") if isinstance(node, dict) else None
    rng = stx.get("range") if isinstance(stx, dict) else None
    start = rng.get("start") if isinstance(rng, dict) else None
    end = tree_end_line(tree)
    first, past = snippet.starts[k], snippet.ends[k]
    column = start.get("column") if isinstance(start, dict) else None
    if (
        _line(start) != first + shift
        or column != 0
        or end is None
        or not first <= end - shift < past
    ):
        return (
            f"the server's Lean read command {k + 1} of the check over other lines than "
            "were sent: not counted as run"
        )
    return None
