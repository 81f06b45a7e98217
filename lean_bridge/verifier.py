"""Lean's verdict on one candidate: the declaration with the hole filled, elaborated in the
environment of everything above it, then audited for axioms. Nothing else counts as verified
(the REPL's tactic mode can report false successes).

The audit is a REPL command of its own (``#print axioms <fully-qualified name>``) run in the
environment the declaration left, and only its single report naming that declaration counts:
what the candidate prints, or a namespace it opens, cannot stand in for it. The declaration's
other holes are replaced by an axiom of the verifier's own, so ``sorryAx`` from anywhere (an
unproved lemma the candidate uses, say) is refused."""

from __future__ import annotations

import re
import secrets
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lean_interact.interface import Message

from lean_bridge.axiom_audit import (
    audit_prefix,
    audit_report,
    disallowed_axioms,
    qualified_name,
)
from lean_bridge.candidate_filter import check_candidate
from lean_bridge.declarations import Declaration
from lean_bridge.diagnostics import uses_sorry
from lean_bridge.hole_fill import checkable, fill, hole_mode
from lean_bridge.hole_site import HoleSite
from lean_bridge.lean_lexer import mask_non_code
from lean_bridge.lean_repl import LeanRepl, TacticRepl
from lean_bridge.lean_versions import Version, native_axioms
from lean_bridge.parse_record import check_parse, expected_commands
from lean_bridge.repl_results import CommandResult

#: Which link of the trust chain refused (docs/security.md): the text gate before Lean, the
#: REPL itself (no answer, a lost environment), the parse of record, Lean's verdict (errors, a
#: sorry), the axiom audit. A front end that must say exactly why (agents) reads it.
Stage = Literal["gate", "repl", "parse", "lean", "audit"]


@dataclass
class Verdict:
    ok: bool
    reason: str | None = None
    filtered: bool = False  # refused before reaching Lean
    errors: list[Message] = field(default_factory=list)  # Lean's errors about the candidate
    seconds: float = 0.0
    filled_text: str | None = None
    checked: str | None = None  # the declaration as Lean saw it (error positions refer to it)
    stage: Stage | None = None  # where a refusal happened (None when ok)


HOLE_AXIOM = "sidecarHole"  # the verifier's own stand-in for a declaration's other holes
_PRIVATE = re.compile(r"\bprivate\b")


def mark_other_holes(site: HoleSite, filled: str, marker: str) -> str:
    """``filled`` with the declaration's *other* holes replaced by ``marker``, an axiom of the
    verifier's own (declared under a fresh random name the candidate cannot know): the audit then
    tells them apart from any ``sorryAx``, which is refused wherever it comes from."""
    delta = len(filled) - len(site.text)
    spans = sorted(
        ((a, b) if a < site.start else (a + delta, b + delta) for a, b in site.other_holes),
        reverse=True,
    )
    masked = mask_non_code(filled)
    out = filled
    for a, b in spans:
        mode = hole_mode(masked, a)
        out = out[:a] + (f"exact {marker}" if mode == "tactic" else marker) + out[b:]
    return out


class Verifier:
    def __init__(
        self,
        pool: LeanRepl,
        allow_native_decide: bool = False,
        lean_version: Version | None = None,
    ) -> None:
        self.pool = pool
        self.allow_native_decide = allow_native_decide
        self.native_axioms = native_axioms(lean_version)  # the allow-list is per Lean version

    @property
    def project_dir(self) -> Path | None:
        return self.pool.settings.project_dir

    async def command(self, prefix: str, cmd: str, timeout: float | None = None) -> CommandResult:
        """One REPL command in the environment of ``prefix`` (no verdict: the caller reads it)."""
        return await self.pool.command(prefix, cmd, timeout)

    def session(self) -> AbstractAsyncContextManager[TacticRepl]:
        """One REPL of the pool held for a sequence of requests (tactic-mode steps)."""
        return self.pool.session()

    async def check(self, site: HoleSite, script: str) -> Verdict:
        gate = check_candidate(script, allow_native_decide=self.allow_native_decide)
        if not gate.ok:
            return Verdict(
                False, f"refused before Lean: {gate.reason}", filtered=True, stage="gate"
            )
        filled = fill(site.text, site.start, site.end, script, site.mode)
        return await self.check_filled(site, filled)

    async def check_filled(self, site: HoleSite, filled: str) -> Verdict:
        """Check ``filled``: the site's text with the hole's region replaced (and nothing else)."""
        marker = f"{HOLE_AXIOM}_{secrets.token_hex(8)}" if site.other_holes else None
        text = mark_other_holes(site, filled, marker) if marker else filled
        decl_text, name = checkable(text, site.decl, len(text) - len(site.text))
        verdict = await self._check(
            site.text[: site.decl.start], site.decl, decl_text, name, marker, site.helpers
        )
        if verdict.ok:
            verdict.filled_text = filled
        return verdict

    async def check_declaration(self, text: str, decl: Declaration, helpers: int = 0) -> Verdict:
        """The whole declaration of ``text`` as it stands (every hole filled, ``helpers`` carried
        theorems at its start): it parses as exactly those commands, elaborates without error or
        sorry and passes the axiom audit. ``fill``'s final re-check."""
        decl_text, name = checkable(text, decl, 0)
        verdict = await self._check(text[: decl.start], decl, decl_text, name, None, helpers)
        if verdict.ok:
            verdict.filled_text = text
        return verdict

    async def _check(
        self,
        prefix: str,
        decl: Declaration,
        decl_text: str,
        name: str,
        marker: str | None,
        helpers: int,
    ) -> Verdict:
        expected = expected_commands(decl_text, helpers)
        if isinstance(expected, str):
            return Verdict(False, f"refused before Lean: {expected}", filtered=True, stage="gate")
        prefix = audit_prefix(prefix)
        fqn = qualified_name(prefix, name)
        private = bool(_PRIVATE.search(decl_text[: decl.keyword_start - decl.start]))
        # `_root_`: the prefix may leave a namespace open, and the report must name the marker.
        cmds = [f"axiom _root_.{marker}.{{u}} {{α : Sort u}} : α"] if marker else []
        cmds += [decl_text, f"#print axioms {fqn}"]
        results = await self.pool.commands(prefix, cmds, infotree=frozenset({len(cmds) - 2}))
        seconds = sum(r.seconds for r in results)
        failed = next((r for r in results if r.error is not None), None)
        if failed is not None:
            return Verdict(False, failed.error, seconds=seconds, stage="repl")
        if marker and (len(results) < 1 or results[0].lean_errors()):
            return Verdict(
                False, "the hole marker could not be declared", seconds=seconds, stage="lean"
            )
        if len(results) != len(cmds):
            return Verdict(
                False, "the Lean REPL lost the environment", seconds=seconds, stage="repl"
            )
        decl_res, audit = results[-2], results[-1]
        # The parse of record comes first: only once Lean showed that the text is exactly the
        # expected declarations (no command, elaborator, notation or axiom added) are its
        # messages and the audit's report worth reading.
        why = check_parse(decl_text, decl_res.infotree, expected)
        if why:
            return Verdict(False, why, seconds=seconds, checked=decl_text, stage="parse")
        errors = decl_res.lean_errors()
        if errors:
            return Verdict(
                False,
                "Lean reports errors",
                errors=errors,
                seconds=seconds,
                checked=decl_text,
                stage="lean",
            )
        if decl_res.lean_sorries or any(
            m.severity == "warning" and uses_sorry(m.data) for m in decl_res.lean_messages
        ):
            return Verdict(
                False, "Lean reports a sorry in the candidate", seconds=seconds, stage="lean"
            )
        report, why = audit_report(
            [(m.severity, m.data) for m in audit.lean_messages], fqn, private=private
        )
        if report is None:
            return Verdict(False, why, seconds=seconds, stage="audit")
        bad = disallowed_axioms(
            report,
            allow_native_decide=self.allow_native_decide,
            hole_marker=marker,
            native_axioms=self.native_axioms,
        )
        if bad:
            return Verdict(
                False,
                f"depends on disallowed axioms: {', '.join(sorted(bad))}",
                seconds=seconds,
                stage="audit",
            )
        return Verdict(True, seconds=seconds, checked=decl_text)
