"""Lean's own automation first: the project's cascade (``prover/cascade_plan.py``, read from its
``lean-toolchain`` and Mathlib) or the user's ``tactics``, before any model sample is spent.

Closers run concurrently on the REPL pool, each under its step's heartbeat cap and wall-time
cap; the first whose check leaves no error is confirmed by the verifier (the one gate, the
whole declaration, the axiom audit) and wins, and the others are cancelled. Generators
(``exact?``, ``apply?``, ``try?``, ``hint``) are never accepted themselves: their "Try this"
suggestions are re-checked like any candidate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from lean_interact.interface import Message

from lean_bridge.candidate_filter import DEFAULT_MAX_CHARS, check_candidate
from lean_bridge.hole_fill import checkable, fill
from lean_bridge.hole_site import HoleSite
from lean_bridge.verifier import Verdict
from lean_sidecar.prover.cascade_plan import CascadeStep
from lean_sidecar.prover.helpers import Helpers
from lean_sidecar.search.helper_site import gate_helpers, with_helpers
from lean_sidecar.search.protocols import LeanVerifier
from lean_sidecar.search.trace import Attempt, AttemptKind, FoundHook

LEAN_DEFAULT_HEARTBEATS = 200_000


class Checker:
    """Every candidate goes through here: the gate (off the event loop), one verifier call,
    one attempt in the trace."""

    def __init__(self, verifier: LeanVerifier, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.verifier = verifier
        self.max_chars = max_chars

    async def verdict(self, site: HoleSite, script: str, helpers: Helpers | None = None) -> Verdict:
        native = self.verifier.allow_native_decide
        gate = await asyncio.to_thread(
            check_candidate, script, allow_native_decide=native, max_chars=self.max_chars
        )
        if gate.ok and helpers is not None:
            gate = await asyncio.to_thread(
                gate_helpers, site, helpers, script, native, self.max_chars
            )
        if not gate.ok:
            return Verdict(False, f"refused before Lean: {gate.reason}", filtered=True)
        return await self.verifier.check(
            with_helpers(site, helpers) if helpers is not None else site, script
        )

    async def check(
        self,
        site: HoleSite,
        script: str,
        kind: AttemptKind,
        attempts: list[Attempt],
        helpers: Helpers | None = None,
        plain: str | None = None,
    ) -> tuple[Verdict, Attempt]:
        """With ``helpers``, the proof is checked with them; when it verifies, the answer's own
        ``plain`` script is tried without them, and kept instead if Lean accepts it too (a
        helper that only restated a library lemma is not inserted)."""
        t = time.perf_counter()
        verdict = await self.verdict(site, script, helpers)
        used = helpers.text if helpers is not None else ""
        if verdict.ok and helpers is not None and plain is not None:
            alone = await self.verdict(site, plain)
            if alone.ok:
                verdict, script, used = alone, plain, ""
        outcome = "verified" if verdict.ok else ("refused" if verdict.filtered else "rejected")
        detail = verdict.reason
        if verdict.errors:
            detail = verdict.errors[0].data[:500]
        attempt = Attempt(kind, script, outcome, detail, time.perf_counter() - t, helpers=used)
        attempts.append(attempt)
        return verdict, attempt


def steps_from_tactics(tactics: list[str], seconds: float) -> list[CascadeStep]:
    """The user's own ``tactics`` as cascade steps (Lean's default heartbeats)."""
    return [
        CascadeStep(
            t, LEAN_DEFAULT_HEARTBEATS, seconds, "generator" if t.endswith("?") else "closer"
        )
        for t in tactics
    ]


class Cascade:
    def __init__(
        self,
        checker: Checker,
        steps: list[CascadeStep] | Callable[[str], list[CascadeStep]],
        concurrency: int = 2,
    ) -> None:
        """``steps``: a fixed list (the user's ``tactics``), or the plan for a file's text."""
        self._checker = checker
        self._steps = steps
        self._concurrency = max(1, concurrency)
        self._background: set[asyncio.Future[str | None]] = set()  # losers still running

    def steps_for(self, text: str) -> list[CascadeStep]:
        return self._steps(text) if callable(self._steps) else self._steps

    async def run(
        self, site: HoleSite, attempts: list[Attempt], keep: FoundHook, generators: bool = True
    ) -> bool:
        """The closers concurrently (first confirmed wins), then the generators in order."""
        steps = self.steps_for(site.text)
        closers = [s for s in steps if s.role == "closer"]
        won = await self._race(site, closers, attempts) if closers else None
        if won is not None:
            await keep(won, "tactic")
            return True
        for step in (s for s in steps if s.role == "generator" and generators):
            script = await self._generate(site, step, attempts)
            if script is not None:
                await keep(script, "tactic")
                return True
        return False

    async def _screen(
        self, site: HoleSite, step: CascadeStep, script: str
    ) -> tuple[str | None, list[Message]]:
        """One capped check of ``script`` in the hole: (None when it closes the goal, else why
        not; Lean's messages)."""
        if step.role == "closer":
            # A generator (`exact?`) is refused by the gate, rightly: it comes from the plan
            # or the user's settings, is run only here, and is never accepted itself.
            native = self._checker.verifier.allow_native_decide
            gate = check_candidate(script, allow_native_decide=native)
            if not gate.ok:
                return f"refused before Lean: {gate.reason}", []
        filled = fill(site.text, site.start, site.end, script, site.mode)
        decl_text, _ = checkable(filled, site.decl, len(filled) - len(site.text))
        res = await self._checker.verifier.command(
            site.text[: site.decl.start], step.wrap(decl_text), timeout=step.seconds
        )
        if res.error is not None:
            return res.error, res.lean_messages
        errors = res.lean_errors()
        if errors:
            return errors[0].data[:300], res.lean_messages
        return None, res.lean_messages

    async def _race(
        self, site: HoleSite, steps: list[CascadeStep], attempts: list[Attempt]
    ) -> str | None:
        """Closers on the pool, at most ``concurrency`` at once; the first confirmed wins.
        A check already running in a REPL is never cancelled (that would kill the REPL and
        lose its elaborated imports): it ends within its own wall-time cap, its result unused;
        those not started yet are skipped."""
        limit = asyncio.Semaphore(self._concurrency)
        closed = asyncio.Event()
        nodes = [Attempt("tactic", s.tactic, "pending") for s in steps]
        attempts.extend(nodes)

        async def one(step: CascadeStep, node: Attempt) -> str | None:
            async with limit:
                if closed.is_set():
                    node.outcome, node.detail = "cancelled", "another tactic closed the goal first"
                    return None
                t = time.perf_counter()
                try:
                    why, _ = await self._screen(site, step, step.tactic)
                    if why is None and not closed.is_set():
                        verdict = await self._checker.verdict(site, step.tactic)
                        why = None if verdict.ok else (verdict.reason or "rejected")
                finally:
                    node.seconds = time.perf_counter() - t
                if node.outcome != "pending":  # the search moved on: its result is unused
                    return None
                node.outcome = "verified" if why is None else "rejected"
                node.detail = why
                return step.tactic if why is None else None

        tasks = [asyncio.ensure_future(one(s, n)) for s, n in zip(steps, nodes, strict=True)]
        winner: str | None = None
        try:
            for done in asyncio.as_completed(tasks):
                script = await done
                if script is not None:
                    winner = script
                    break
        finally:
            closed.set()
            for node in nodes:
                if node.outcome == "pending":  # still running in a REPL, or never started
                    node.outcome, node.detail = "cancelled", "another tactic closed the goal first"
            for task in tasks:
                if not task.done():
                    self._background.add(task)
                    task.add_done_callback(self._settled)
        return winner

    def _settled(self, task: asyncio.Future[str | None]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a late failure is not logged as unhandled

    async def _generate(
        self, site: HoleSite, step: CascadeStep, attempts: list[Attempt]
    ) -> str | None:
        """Run a search tactic and re-check each "Try this" suggestion as a candidate."""
        node = Attempt("tactic", step.tactic, "search")
        attempts.append(node)
        t = time.perf_counter()
        why, messages = await self._screen(site, step, step.tactic)
        suggestions = []
        for m in messages:
            data = m.data
            if data.startswith("Try this:"):
                suggestions.append(data[len("Try this:") :].strip().removeprefix("[apply]").strip())
        node.detail = f"{len(suggestions)} suggestion(s)" if suggestions else (why or "none")
        for script in suggestions:
            verdict, _ = await self._checker.check(site, script, "suggestion", node.children)
            if verdict.ok:
                node.outcome, node.detail = "verified", f"suggestion: {script[:200]}"
                node.seconds = time.perf_counter() - t
                return script
        node.outcome = "no suggestion" if not suggestions else "rejected"
        node.seconds = time.perf_counter() - t
        return None
