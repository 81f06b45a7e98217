"""Lean's own automation first: the configured tactics (``exact?``-style ones expanded into
their suggestions), each checked by the verifier, before any model sample is spent."""

from __future__ import annotations

import time

from lean_bridge.hole_fill import checkable, fill
from lean_bridge.verifier import HoleSite, Verdict, Verifier
from lean_sidecar.search.trace import Attempt, FoundHook


class Checker:
    """Every candidate goes through here: one verifier call, one attempt in the trace."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    async def check(
        self, site: HoleSite, script: str, kind: str, attempts: list[Attempt]
    ) -> tuple[Verdict, Attempt]:
        t = time.perf_counter()
        verdict = await self.verifier.check(site, script)
        outcome = "verified" if verdict.ok else ("refused" if verdict.filtered else "rejected")
        detail = verdict.reason
        if verdict.errors:
            detail = str(verdict.errors[0].get("data", ""))[:500]
        attempt = Attempt(kind, script, outcome, detail, time.perf_counter() - t)
        attempts.append(attempt)
        return verdict, attempt


class Cascade:
    def __init__(self, checker: Checker, tactics: list[str]) -> None:
        self._checker = checker
        self._tactics = tactics

    async def run(self, site: HoleSite, attempts: list[Attempt], keep: FoundHook) -> bool:
        """Try each tactic in order; the first Lean accepts is kept. Returns whether one was."""
        for tactic in self._tactics:
            scripts = [tactic]
            if tactic.endswith("?"):
                scripts = await self._suggestions(site, tactic, attempts)
            for script in scripts:
                if (await self._checker.check(site, script, "tactic", attempts))[0].ok:
                    await keep(script, "tactic")
                    return True
        return False

    async def _suggestions(self, site: HoleSite, tactic: str, attempts: list[Attempt]) -> list[str]:
        """Run a search tactic such as ``exact?`` (it comes from the user's settings, not from a
        model) and return its "Try this" suggestions; they are verified like any candidate."""
        filled = fill(site.text, site.start, site.end, tactic, site.mode)
        decl_text, _ = checkable(filled, site.decl, len(filled) - len(site.text))
        t = time.perf_counter()
        res = await self._checker.verifier.pool.command(site.text[: site.decl.start], decl_text)
        out = []
        for m in res.messages:
            data = str(m.get("data", ""))
            if data.startswith("Try this:"):
                out.append(data[len("Try this:") :].strip().removeprefix("[apply]").strip())
        attempts.append(
            Attempt(
                "tactic",
                tactic,
                "search",
                f"{len(out)} suggestion(s)" if out else "no suggestion",
                time.perf_counter() - t,
            )
        )
        return out
