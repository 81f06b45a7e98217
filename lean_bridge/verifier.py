"""Lean's verdict on one candidate: the declaration with the hole filled, elaborated in the
environment of everything above it, then audited for axioms. Nothing else counts as verified
(the REPL's tactic mode can report false successes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lean_bridge.axiom_audit import disallowed_axioms, parse_print_axioms
from lean_bridge.candidate_filter import check_candidate
from lean_bridge.declarations import Declaration
from lean_bridge.hole_fill import HoleMode, checkable, fill
from lean_bridge.repl_pool import ReplPool


@dataclass(frozen=True)
class HoleSite:
    """Where a hole is in one version of a file."""

    text: str
    decl: Declaration
    start: int
    end: int
    mode: HoleMode
    other_holes: tuple[tuple[int, int], ...] = ()  # other sorries of the same declaration


@dataclass
class Verdict:
    ok: bool
    reason: str | None = None
    filtered: bool = False  # refused before reaching Lean
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    filled_text: str | None = None
    checked: str | None = None  # the declaration as Lean saw it (error positions refer to it)


def _inside(pos: dict[str, Any] | None, text: str, span: tuple[int, int]) -> bool:
    if not pos:
        return True
    lines = text.split("\n")
    line = int(pos.get("line", 1)) - 1
    offset = sum(len(x) + 1 for x in lines[:line]) + int(pos.get("column", 0))
    return span[0] <= offset < span[1]


class Verifier:
    def __init__(self, pool: ReplPool, allow_native_decide: bool = False) -> None:
        self.pool = pool
        self.allow_native_decide = allow_native_decide

    async def check(self, site: HoleSite, script: str) -> Verdict:
        gate = check_candidate(script, allow_native_decide=self.allow_native_decide)
        if not gate.ok:
            return Verdict(False, f"refused before Lean: {gate.reason}", filtered=True)
        filled = fill(site.text, site.start, site.end, script, site.mode)
        return await self.check_filled(site, filled)

    async def check_filled(self, site: HoleSite, filled: str) -> Verdict:
        """Check ``filled``: the site's text with the hole's region replaced (and nothing else)."""
        delta = len(filled) - len(site.text)
        decl_text, name = checkable(filled, site.decl, delta)
        prefix = site.text[: site.decl.start]
        result = await self.pool.command(prefix, f"{decl_text}\n\n#print axioms {name}\n")
        if result.error is not None:
            return Verdict(False, result.error, seconds=result.seconds)
        errors = result.errors()
        if errors:
            return Verdict(
                False,
                "Lean reports errors",
                errors=errors,
                seconds=result.seconds,
                checked=decl_text,
            )
        # Sorries may remain only at the declaration's *other* holes, never in the candidate.

        def shift(a: int) -> int:
            return (a if a < site.start else a + delta) - site.decl.start

        others = [(shift(a), shift(b)) for a, b in site.other_holes]
        for s in result.sorries:
            if not any(_inside(s.get("pos"), decl_text, span) for span in others):
                return Verdict(
                    False, "Lean reports a sorry in the candidate", seconds=result.seconds
                )
        if not others and any("declaration uses" in str(m.get("data")) for m in result.messages):
            return Verdict(False, "Lean reports the declaration uses sorry", seconds=result.seconds)
        reports = [
            r
            for m in result.messages
            if m.get("severity") == "info"
            if (r := parse_print_axioms(str(m.get("data")))) is not None
        ]
        if not reports:
            return Verdict(False, "no axiom report from Lean", seconds=result.seconds)
        bad = disallowed_axioms(reports[0], allow_native_decide=self.allow_native_decide)
        if others:
            bad -= {"sorryAx"}  # from the other holes: the candidate itself passed the filter
        if bad:
            return Verdict(
                False,
                f"depends on disallowed axioms: {', '.join(sorted(bad))}",
                seconds=result.seconds,
            )
        return Verdict(True, seconds=result.seconds, filled_text=filled)
