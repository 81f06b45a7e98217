"""Checking text an agent wrote: a whole declaration of a file, a proof of one hole, or a
declaration (a snippet) in the environment of a file.

An agent's text is as untrusted as a model's, so it passes the same gates as a model's helper
lemma before Lean sees any of it: the final-text gate (exactly one declaration, no other
command) and the proof whitelist over everything after the declaration's name (binders,
statement, proof). Only then does the verifier run it (parse of record, Lean, axiom audit).
Every refusal says its stage (``Verdict.stage``), so a front end can say exactly why."""

from __future__ import annotations

from lean_bridge.candidate_filter import check_candidate, check_declaration_text
from lean_bridge.declarations import Declaration, find_declarations
from lean_bridge.lean_lexer import mask_non_code
from lean_bridge.verifier import Verdict
from lean_sidecar.prover.helpers import helper_signature

SNIPPET_SEPARATOR = "\n\n"


def _refused(reason: str | None) -> Verdict:
    return Verdict(False, f"refused before Lean: {reason}", filtered=True, stage="gate")


def gate_declaration(
    text: str, decl: Declaration, *, allow_native_decide: bool, max_chars: int
) -> Verdict | None:
    """None when ``decl`` (a declaration of ``text``) may be sent to Lean; else the refusal."""
    final = check_declaration_text(text[decl.start : decl.end], max_declarations=1)
    if not final.ok:
        return _refused(final.reason)
    tail = check_candidate(
        helper_signature(text, decl),
        allow_native_decide=allow_native_decide,
        max_chars=max_chars,
        declaration_tail=True,
    )
    return None if tail.ok else _refused(tail.reason)


def gate_proof(script: str, *, allow_native_decide: bool, max_chars: int) -> Verdict | None:
    """None when ``script`` (a proof of one hole) may be sent to Lean; else the refusal (the
    verifier gates it again: this answers without starting a REPL)."""
    verdict = check_candidate(script, allow_native_decide=allow_native_decide, max_chars=max_chars)
    return None if verdict.ok else _refused(verdict.reason)


def with_snippet(text: str, snippet: str) -> tuple[str, Declaration] | str:
    """``text`` with ``snippet`` appended after a blank line (so it is checked in the
    environment of the whole file), and the snippet's declaration; a reason when the snippet is
    not exactly one declaration."""
    head = text.rstrip() + SNIPPET_SEPARATOR if text.strip() else ""
    joined = head + snippet.strip() + "\n"
    ours = [d for d in find_declarations(joined) if d.start >= len(head)]
    if len(ours) != 1:
        return "the snippet must be exactly one declaration" + (
            f" (it holds {len(ours)})" if ours else " (it holds none)"
        )
    decl = ours[0]
    masked = mask_non_code(joined)
    if masked[len(head) : decl.start].strip() or masked[decl.end :].strip():
        # a command after the declaration is no part of it: it would never be checked, and an
        # edit must not carry it either
        return "the snippet holds text outside its one declaration"
    return joined, decl
