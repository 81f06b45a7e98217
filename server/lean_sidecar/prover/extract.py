"""From a model's answer to a tactic script for the hole, refusing answers that changed the
statement (a model must not weaken what it proves).

An answer is hostile input: it is capped in size before anything looks at it, and every step
here is linear in its length (fences are found in one pass, the lexer never rescans), so a
megabyte of nested comments or unclosed fences costs milliseconds, not minutes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lean_bridge.declarations import find_declarations
from lean_bridge.hole_fill import dedent_script
from lean_bridge.lean_lexer import mask_non_code, span_starts
from lean_sidecar.prover.endpoint import Sample
from lean_sidecar.prover.helpers import Helpers, collect_helpers
from lean_sidecar.prover.task import ProofTask

_FENCE = re.compile(r"```")
_OPENER = re.compile(r"lean4?[ \t]*\n")
# Answers longer than this are refused before extraction (real ones stay under 80,000).
MAX_ANSWER_CHARS = 400_000
# Code with more comment/literal openers than this is refused before it is lexed (real answers
# have a few hundred), so adversarial nesting costs no more than plain text.
MAX_CODE_SPANS = 20_000


@dataclass(frozen=True)
class Extracted:
    """The proof of the hole as the answer wrote it (``script``), and the helper declarations
    it uses, if any (see ``helpers.py``): ``helpers.script`` is the same proof calling their
    fresh names. A caller that does not carry helpers uses ``script`` alone."""

    script: str | None
    reason: str | None = None
    helpers: Helpers | None = None


def final_code_block(sample: Sample, completion_prefix: str | None = None) -> str | None:
    """The last ``lean4`` block of the answer (after any thinking); for a raw completion, the
    prompt's open block plus the text up to the closing fence."""
    if len(sample.text) + len(sample.reasoning) > MAX_ANSWER_CHARS:
        return None
    if completion_prefix is not None:
        return completion_prefix + sample.text.split("```", 1)[0]
    for source in (sample.text, sample.reasoning):
        blocks = lean_blocks(source)
        if blocks:
            return blocks[-1]
    return None


def lean_blocks(source: str) -> list[str]:
    """The bodies of the ```lean4 blocks of ``source``, in one pass over its fences."""
    blocks: list[str] = []
    fences = [m.start() for m in _FENCE.finditer(source)]
    i = 0
    while i < len(fences):
        opener = _OPENER.match(source, fences[i] + 3)
        if opener is None:
            i += 1
            continue
        if i + 1 >= len(fences):
            break
        blocks.append(source[opener.end() : fences[i + 1]])
        i += 2
    return blocks


def _signature(code: str) -> str:
    """A statement compared without comments, whitespace, or the declaration's name."""
    code = mask_non_code(code)
    m = re.search(r"(?<![\w.])(?:(?:theorem|lemma)\s+[^\s:(\[{]+|example)\s*(.*)", code, re.S)
    body = m.group(1) if m else code
    return " ".join(body.split())


def extract_script(task: ProofTask, code: str, taken: str = "") -> Extracted:
    """The script for the hole from ``code``, whose declaration must state ``task.statement``.
    ``taken`` is the user's file: fresh helper names never occur in it."""
    if len(code) > MAX_ANSWER_CHARS:
        return Extracted(None, f"answer longer than {MAX_ANSWER_CHARS} characters")
    if span_starts(code) > MAX_CODE_SPANS:
        return Extracted(None, f"answer has more than {MAX_CODE_SPANS} comments or literals")
    every = find_declarations(code)
    decls = [d for d in every if d.kind in ("theorem", "lemma", "example")]
    want = _signature(task.statement.rsplit(":=", 1)[0])
    for d in reversed(decls):
        if d.assign is None:
            continue
        if _signature(code[d.keyword_start : d.assign]) != want:
            continue
        body = code[d.assign + 2 : d.end].strip()
        if not body:
            return Extracted(None, "empty proof")
        if body.startswith("by"):
            script = dedent_script(body[2:].lstrip(" \t").lstrip("\n") or "skip")
        else:
            script = "exact " + " ".join(body.split())
        helpers = collect_helpers(code, every, d, script, taken or task.context + task.statement)
        if isinstance(helpers, str):
            return Extracted(None, helpers)
        return Extracted(script, helpers=helpers)
    if decls:
        return Extracted(None, "the answer changes the statement")
    return Extracted(None, "no theorem in the answer")
