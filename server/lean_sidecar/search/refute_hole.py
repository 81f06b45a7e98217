""" "Is this goal false?" for one hole, asked on its own: the goal's negation tried with the
symbolic cascade alone (no model sample), as the search does before spending GPU time. A front
end that wants only this answer (an agent) calls it without running a whole search."""

from __future__ import annotations

from dataclasses import dataclass, field

from lean_bridge.hole_site import HoleSite
from lean_bridge.repl_pool import ReplUnavailable
from lean_sidecar.search.cascade import Cascade, Checker
from lean_sidecar.search.decompose import refutable, refute_goal
from lean_sidecar.search.engine import SearchEngine, cascade_steps
from lean_sidecar.search.trace import Attempt, Refuted

#: why a goal's negation is not tried (it would not say that the goal is false)
NOT_FAITHFUL = (
    "not tried: the goal has a let-bound hypothesis, an inaccessible name (x✝) or a "
    "metavariable (?m), so its negation would not say that the goal is false"
)


@dataclass
class Refutation:
    """The answer: the negation Lean proved (``refuted``), or why none was tried or found."""

    refuted: Refuted | None
    attempts: list[Attempt] = field(default_factory=list)
    note: str | None = None


async def refute_hole(engine: SearchEngine, site: HoleSite, goal: str) -> Refutation:
    """Try to prove ``¬ (∀ hyps, target)`` for ``site``'s goal with the engine's closers, each
    proof checked by Lean with the axiom audit (raises ReplUnavailable without a REPL)."""
    verifier = engine.verifier
    if verifier is None:
        raise ReplUnavailable("no Lean REPL: nothing can be verified")
    if not refutable(goal):
        return Refutation(None, note=NOT_FAITHFUL)
    s = engine.settings
    cascade = Cascade(
        Checker(verifier, s.max_proof_chars), cascade_steps(s, verifier), s.repl_pool_size
    )
    attempts: list[Attempt] = []
    refuted = await refute_goal(cascade, site, goal, attempts)
    note = None if refuted is not None else "no closer proved the negation (the goal may be true)"
    return Refutation(refuted, attempts, note)
