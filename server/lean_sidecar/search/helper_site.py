"""Checking a proof together with the helper declarations it needs: the helpers are inserted
just before the target declaration (after a blank line), so they are elaborated in the same
command as the declaration, in the environment of the user's unchanged prefix, and the
declaration's ``#print axioms`` audit covers them (an axiom or `sorry` in a helper the proof
uses shows in the declaration's axioms).

Before Lean, the helpers and the declaration are gated as the text an edit would insert:
``check_declaration_text`` with one declaration per helper plus the target (helpers of kind
`theorem`/`lemma` only), and each helper's binders, statement and proof through the proof
whitelist (``check_candidate``), as a model's proof is.
"""

from __future__ import annotations

from lean_bridge.candidate_filter import Verdict, check_candidate, check_declaration_text
from lean_bridge.declarations import Declaration, find_declarations
from lean_bridge.hole_fill import fill
from lean_bridge.hole_site import HoleSite
from lean_bridge.lean_lexer import mask_non_code
from lean_sidecar.prover.helpers import Helpers, helper_signature

SEPARATOR = "\n\n"


def with_helpers(site: HoleSite, helpers: Helpers) -> HoleSite:
    """The site with ``helpers`` inserted before its declaration; the declaration's start stays
    where it was, so the REPL prefix (everything above it) is the user's, unchanged."""
    return site.with_inserted(site.decl.start, helpers.text + SEPARATOR, helpers.count)


def _only_declarations(text: str, decls: list[Declaration]) -> bool:
    """Nothing outside the declarations but whitespace and comments: an attribute, modifier or
    `… in` after the last helper would attach itself to the user's declaration."""
    masked = mask_non_code(text)
    last = 0
    for d in decls:
        if masked[last : d.start].strip():
            return False
        last = d.end
    return not masked[last:].strip()


def gate_helpers(
    site: HoleSite, helpers: Helpers, script: str, allow_native_decide: bool, max_chars: int
) -> Verdict:
    """The gate for a proof with helpers (``site`` is the original site)."""
    decls = find_declarations(helpers.text)
    if len(decls) != helpers.count or not _only_declarations(helpers.text, decls):
        return Verdict(False, "the helpers' text holds more than their declarations")
    for d in decls:
        why = check_candidate(
            helper_signature(helpers.text, d),
            allow_native_decide=allow_native_decide,
            max_chars=max_chars,
            declaration_tail=True,
        )
        if not why.ok:
            return Verdict(False, f"helper `{d.name}`: {why.reason}")
    site2 = with_helpers(site, helpers)
    filled = fill(site2.text, site2.start, site2.end, script, site2.mode)
    delta = len(filled) - len(site2.text)
    final = check_declaration_text(
        filled[site2.decl.start : site2.decl.end + delta],
        max_declarations=helpers.count + 1,
    )
    return final
