"""The search for one hole: cache → symbolic cascade → model samples with error-fix rounds →
decomposition into sub-lemmas (sketches), recursively, every candidate checked by Lean.

One budget (samples, wall time, depth) serves a request and is split across sub-goals; a
sub-goal that recurs is solved once; a sketch whose lemma is refutable (its negation is proved)
is dropped before any sample is spent on that lemma. The first verified proof is reported at
once; at the top level, others keep coming until the budget or a cancel.

The stages live in their own modules (cascade, sampling, decompose); this one runs them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from lean_bridge.candidate_filter import check_candidate
from lean_bridge.hole_site import HoleSite
from lean_bridge.repl_pool import REPL_TIMED_OUT, REPL_TIMEOUT_SETTING, ReplUnavailable
from lean_sidecar.prover.cascade_plan import CascadeStep, imports_mathlib, plan_for_project
from lean_sidecar.prover.endpoint import EndpointError
from lean_sidecar.prover.families import guess_family
from lean_sidecar.prover.task import ProofTask
from lean_sidecar.search.budget import Budget, SolveContext
from lean_sidecar.search.cache import ProofCache, normalize_goal
from lean_sidecar.search.cascade import Cascade, Checker, steps_from_tactics
from lean_sidecar.search.decompose import Decomposer, refute_goal, script_from_region
from lean_sidecar.search.protocols import LeanVerifier, ModelEndpoint
from lean_sidecar.search.sampling import Sampler, SamplingParams
from lean_sidecar.search.trace import (
    Attempt,
    Found,
    HoleResult,
    HoleStatus,
    How,
    OnFound,
    Partial,
    Progress,
    Refuted,
)
from lean_sidecar.settings import DEFAULT_TACTICS, Settings

__all__ = [
    "Attempt",
    "Found",
    "HoleResult",
    "How",
    "OnFound",
    "Partial",
    "Progress",
    "Refuted",
    "SearchEngine",
    "script_from_region",
]
log = logging.getLogger(__name__)


class SearchEngine:
    def __init__(
        self,
        settings: Settings,
        verifier: LeanVerifier | None,
        endpoint: ModelEndpoint | None = None,
        cache: ProofCache | None = None,
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self.endpoint = endpoint
        self.cache = cache
        self.model_name = settings.model or ""
        self._cascade: Cascade | None = None
        self._sampler: Sampler | None = None
        self._decomposer: Decomposer | None = None
        if verifier is not None:
            checker = Checker(verifier, settings.max_proof_chars)
            self._cascade = Cascade(
                checker, cascade_steps(settings, verifier), settings.repl_pool_size
            )
            if endpoint is not None:
                self._sampler = Sampler(settings, endpoint, checker, self.family())
                self._decomposer = Decomposer(
                    settings,
                    endpoint,
                    verifier,
                    self._cascade,
                    self._sampler,
                    self.family(),
                    self._solve,
                )

    def family(self) -> str:
        """The prompt dialect: the configured one, or guessed from the model's name."""
        fam = self.settings.model_family
        return guess_family(self.settings.model) if fam == "auto" else fam

    # ---- the request --------------------------------------------------------------------------
    async def search(
        self,
        site: HoleSite,
        goal: str | None,
        task: ProofTask | None,
        on_found: OnFound | None = None,
        progress: Progress | None = None,
        max_found: int = 3,
    ) -> HoleResult:
        result = HoleResult()
        t0 = time.perf_counter()
        req = Budget(self.settings.budget_samples)

        async def found(script: str, how: How, helpers: str = "") -> None:
            item = Found(script, how, time.perf_counter() - t0, req.spent, helpers)
            result.found.append(item)
            # The cache stores scripts only: a proof that needs helpers is not cached.
            if len(result.found) == 1 and self.cache is not None and how != "cache" and not helpers:
                self.cache.store(site, goal, self.model_name, script, how)
            if on_found is not None:
                maybe = on_found(item)
                if asyncio.iscoroutine(maybe):
                    await maybe

        ctx = SolveContext(req, progress or (lambda _m: None), found, max_found, result)
        try:
            if self.cache is not None and await self._from_cache(site, goal, result, found):
                return result
            if self.verifier is None:
                result.status, result.error = (
                    HoleStatus.ERROR,
                    "no Lean REPL: nothing can be verified",
                )
                return result
            await asyncio.wait_for(
                self._solve(site, goal, task, 0, result.attempts, ctx, top=True),
                self.settings.budget_seconds,
            )
        except asyncio.TimeoutError:
            log.info("search budget of %.0f s spent", self.settings.budget_seconds)
        except asyncio.CancelledError:
            result.status = HoleStatus.CANCELLED
            raise
        except EndpointError as exc:
            result.error, result.cause = str(exc), exc.cause
        except ReplUnavailable as exc:  # Lean cannot check anything here: say why, once
            result.error, result.cause = str(exc), ("repl", "")
        finally:
            result.seconds = time.perf_counter() - t0
            result.samples = req.spent
            result.tokens, result.gpu_seconds = req.tokens, req.gpu_seconds
        if result.found:
            result.status = HoleStatus.SOLVED
        elif result.refuted is not None:
            result.status = HoleStatus.REFUTED
        else:
            result.status = HoleStatus.ERROR if result.error else HoleStatus.UNSOLVED
            if not result.error:
                result.error = timed_out(result, self.settings.repl_timeout)
        return result

    # ---- one goal, recursively ------------------------------------------------------------------
    async def _from_cache(
        self,
        site: HoleSite,
        goal: str | None,
        result: HoleResult,
        found: Callable[[str, How], Awaitable[None]],
    ) -> bool:
        """Answer from the cache. The cache file is outside the search's control, so a hit
        passes the same gate as a fresh proof, and Lean checks it again when the file above the
        declaration changed since it was stored; one that fails either is searched anew."""
        assert self.cache is not None
        hit = self.cache.lookup(site, goal, self.model_name)
        if hit is None:
            return False
        gate = await asyncio.to_thread(
            check_candidate,
            hit.script,
            allow_native_decide=self.settings.allow_native_decide,
            max_chars=self.settings.max_proof_chars,
        )
        if not gate.ok:
            result.attempts.append(Attempt("cache", hit.script, "refused", gate.reason))
            return False
        if hit.recheck:
            verdict = await self.verifier.check(site, hit.script) if self.verifier else None
            if verdict is None or not verdict.ok:
                why = verdict.reason if verdict is not None else "no Lean REPL"
                result.attempts.append(Attempt("cache", hit.script, "rejected", why))
                return False
        result.attempts.append(Attempt("cache", hit.script, "verified", f"cached ({hit.how})"))
        await found(hit.script, "cache")
        result.status = HoleStatus.SOLVED
        return True

    async def _solve(
        self,
        site: HoleSite,
        goal: str | None,
        task: ProofTask | None,
        depth: int,
        attempts: list[Attempt],
        ctx: SolveContext,
        top: bool = False,
    ) -> str | None:
        req = ctx.budget
        key = normalize_goal(goal) if goal else None
        if not top and key is not None and key in req.memo:
            script = req.memo[key]
            outcome = "verified" if script else "failed"
            attempts.append(Attempt("memo", script, outcome, "this sub-goal was already searched"))
            return script
        solution: list[str] = []

        async def keep(script: str, how: How, helpers: str = "") -> None:
            solution.append(script)
            if top:
                await ctx.found(script, how, helpers)

        assert self._cascade is not None
        ctx.report(
            "trying symbolic tactics" if depth == 0 else f"sub-goal at depth {depth}: tactics"
        )
        if await self._cascade.run(site, attempts, keep):
            return _remember(req, key, solution[0])
        will_sample = self._sampler is not None and task is not None and req.samples_left > 0
        if top and goal and ctx.result is not None and will_sample:
            # "This statement is false" before any GPU time: the cascade alone, no samples.
            # (Only where samples would follow: a search without a model stays as it was.)
            refuted = await refute_goal(self._cascade, site, goal, attempts)
            if refuted is not None:
                ctx.result.refuted = refuted
                return None
        if self._sampler is not None and self._decomposer is not None and task is not None:
            # Whole-proof sampling gets half of what is left when a sketch may follow.
            can_decompose = depth < self.settings.decompose_depth
            limit = max(1, req.samples_left // 2) if can_decompose else req.samples_left
            max_found = ctx.max_found if top else 1
            await self._sampler.sample(
                SamplingParams(
                    site, task, attempts, req, keep, ctx.report, max_found, limit, helpers=top
                )
            )
            if solution:
                return _remember(req, key, solution[0])
            if can_decompose and req.samples_left > 0:
                script = await self._decomposer.decompose(site, task, depth, attempts, ctx)
                if script is not None:
                    await keep(script, "sketch")
                    return _remember(req, key, script)
        return _remember(req, key, None)


def timed_out(result: HoleResult, seconds: float) -> str | None:
    """Why an unsolved search may have missed a proof: checks that Lean did not finish within
    ``repl_timeout`` (a hung or very slow elaboration), said rather than a bare "unsolved"."""
    slow = sum(
        1
        for a in result.walk()
        if a.detail and REPL_TIMED_OUT in a.detail and REPL_TIMEOUT_SETTING in a.detail
    )
    if not slow:
        return None
    checks = "check" if slow == 1 else "checks"
    return (
        f"{slow} Lean {checks} did not finish within {REPL_TIMEOUT_SETTING} ({seconds:g} s); "
        f"raise it if a proof needs longer"
    )


def cascade_steps(
    settings: Settings, verifier: LeanVerifier
) -> list[CascadeStep] | Callable[[str], list[CascadeStep]]:
    """The user's ``tactics`` when set; else the plan for the project's Lean and Mathlib (a
    file that imports Mathlib has Mathlib's tactics, whatever the manifest says)."""
    project = verifier.project_dir
    if settings.tactics != DEFAULT_TACTICS or project is None:
        return steps_from_tactics(settings.tactics, settings.repl_timeout)
    plans = {
        False: plan_for_project(Path(project)),
        True: plan_for_project(Path(project), "import Mathlib"),
    }
    return lambda text: plans[imports_mathlib(text)]


def _remember(req: Budget, key: str | None, script: str | None) -> str | None:
    if key is not None:
        req.memo[key] = script
    return script
