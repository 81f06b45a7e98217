"""Tactic suggestions from completion-style families (DeepSeek-Prover-V2 non-CoT, Goedel-style
raw completions).

Such a model continues an open ```` ```lean4 ```` block and writes the closing fence only after
the whole proof, so a hover that waits for the fence waits for (and pays for) a whole proof, and
an answer parsed for a fenced block yields nothing. Instead the prompt ends where the tactic
goes, at its indentation, the request stops at the first blank line, and the suggestion is the
continuation up to the next blank line or dedent (:func:`continuation_block`), or its first
tactic (:func:`first_tactic`). Every suggestion is still verified before it is shown.
"""

from __future__ import annotations

import re

from lean_sidecar.prover.endpoint import GenerationRequest
from lean_sidecar.prover.presets import HOVER_MAX_TOKENS, HOVER_STOP
from lean_sidecar.prover.prompts import COMPLETION_PROMPT, formal_statement
from lean_sidecar.prover.task import ProofTask

INDENT = "  "


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


_LEADING_BLOCK_COMMENT = re.compile(r"\A\s*/-.*?-/", re.S)


def continuation_block(text: str, indent: int = len(INDENT)) -> str | None:
    """The tactic lines a completion continues with, dedented to column 0: from the start of
    ``text`` (whose first line sits at column ``indent``, the prompt having written the
    indentation) up to the first blank line, a line indented less than ``indent``, or a fence.
    Leading comments (the plan some models write first) are skipped. None when nothing is left."""
    text = " " * indent + text.split("```", 1)[0]
    while True:
        m = _LEADING_BLOCK_COMMENT.match(text)
        lines = text[m.end() :].split("\n") if m else text.split("\n")
        while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
            lines.pop(0)
        text = "\n".join(lines)
        if not _LEADING_BLOCK_COMMENT.match(text):
            break
    out: list[str] = []
    for line in lines:
        if not line.strip() or _indent(line) < indent:
            break
        out.append(line[indent:].rstrip())
    return "\n".join(out) if out else None


def first_tactic(block: str) -> str:
    """The first tactic of a block: its first line and the lines indented under it (a ``have …
    := by`` with its proof, a ``calc`` with its steps); ``<;>`` lines are part of it."""
    lines = block.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        if _indent(line) == 0 and not line.startswith("<;>"):
            break
        out.append(line)
    return "\n".join(out)


def hover_prompt(task: ProofTask) -> str:
    """The raw-completion prompt that ends where the tactic goes: the statement's ``:= by``, a
    newline and the indentation."""
    formal = formal_statement(task.header, task.context, task.statement, "deepseek-v2")
    return COMPLETION_PROMPT.format(statement=formal) + "\n" + INDENT


def hover_request(
    task: ProofTask, model: str | None, n: int, temperature: float, top_p: float
) -> GenerationRequest:
    """A short completion: it stops at the first blank line (or a fence, should one come)."""
    return GenerationRequest(
        "completion",
        model,
        n,
        temperature,
        top_p,
        HOVER_MAX_TOKENS,
        prompt=hover_prompt(task),
        stop=list(HOVER_STOP),
    )


def suggestions_from_completion(text: str) -> list[str]:
    """Candidate replacements from one completion, most specific first: the first tactic, then
    the whole block when it is longer. The caller verifies each."""
    block = continuation_block(text)
    if block is None:
        return []
    first = first_tactic(block)
    return [first] if first == block else [first, block]
