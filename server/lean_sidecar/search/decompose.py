"""Decomposition: ask for a proof sketch whose sub-lemmas are `sorry`, check it, drop it if a
lemma is refutable (its negation is proved), then solve each lemma as a goal of its own."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from lean_bridge.hole_fill import checkable, dedent_script, fill
from lean_bridge.hole_site import HoleSite
from lean_bridge.holes import TextModel
from lean_bridge.sorry_scan import scan_sorries
from lean_sidecar.prover.endpoint import EndpointError
from lean_sidecar.prover.sketch import check_sketch, negation_statement, sketch_request
from lean_sidecar.prover.task import ProofTask, build_task
from lean_sidecar.search.budget import Budget, SolveContext
from lean_sidecar.search.cache import normalize_goal
from lean_sidecar.search.cascade import Cascade
from lean_sidecar.search.protocols import LeanVerifier, ModelEndpoint
from lean_sidecar.search.sampling import Sampler, SamplingParams, read_answer
from lean_sidecar.search.trace import Attempt, How, Partial, Refuted
from lean_sidecar.settings import Settings


class SolveGoal(Protocol):
    """The engine's recursion: solve one (sub-)goal, returning its script or None."""

    async def __call__(
        self,
        site: HoleSite,
        goal: str | None,
        task: ProofTask | None,
        depth: int,
        attempts: list[Attempt],
        ctx: SolveContext,
    ) -> str | None: ...


def negation_site(site: HoleSite, goal: str) -> tuple[HoleSite, str] | None:
    """A file with the negation of ``goal`` (under its hypotheses) as a theorem in place of
    the hole's declaration, and its one ``sorry`` as the hole; and that statement."""
    statement = negation_statement(goal)
    if statement is None:
        return None
    text = site.text[: site.decl.start] + statement + "\n  sorry\n"
    model = TextModel(text)
    tokens = scan_sorries(text, model.masked, model.index)
    if not tokens:
        return None
    neg = HoleSite.at(text, tokens[-1].start, mode="tactic", model=model)
    return (neg, statement) if neg is not None else None


async def refute_goal(
    cascade: Cascade, site: HoleSite, goal: str, attempts: list[Attempt]
) -> Refuted | None:
    """The negation of the hole's own goal, by the cascade alone (no sample is spent). Goals
    whose negation would not be faithful are not tried: a let-bound hypothesis (its value
    would be dropped), an inaccessible name (``x✝``) or a metavariable (``?m``)."""
    if not refutable(goal):
        return None
    neg = negation_site(site, goal)
    if neg is None:
        return None
    neg_site, statement = neg
    check = Attempt("negation", statement, "pending")
    attempts.append(check)
    proof: list[str] = []

    async def keep(script: str, how: How, helpers: str = "") -> None:
        proof.append(script)

    t = time.perf_counter()
    # Closers only: a search tactic on a statement that is most likely true costs seconds.
    await cascade.run(neg_site, check.children, keep, generators=False)
    check.seconds = time.perf_counter() - t
    check.outcome = "refuted" if proof else "not refuted"
    if not proof:
        return None
    return Refuted(statement, proof[0])


def refutable(goal: str) -> bool:
    """Whether ``¬ (∀ hyps, target)`` says exactly that the goal is false."""
    hyps = goal.split("⊢", 1)[0]
    return " := " not in hyps and "✝" not in goal and "?" not in goal


def script_from_region(region: str, mode: str) -> str:
    """The canonical script of a hole's replacement text (the inverse of ``render``)."""
    if mode == "term" and region.startswith("by"):
        region = region[2:].lstrip(" ").lstrip("\n")
    return dedent_script(region)


class Decomposer:
    def __init__(
        self,
        settings: Settings,
        endpoint: ModelEndpoint,
        verifier: LeanVerifier,
        cascade: Cascade,
        sampler: Sampler,
        family: str,
        solve: SolveGoal,
    ) -> None:
        self._s = settings
        self._endpoint = endpoint
        self._verifier = verifier
        self._cascade = cascade
        self._sampler = sampler
        self._family = family
        self._solve = solve

    async def decompose(
        self,
        site: HoleSite,
        task: ProofTask,
        depth: int,
        attempts: list[Attempt],
        ctx: SolveContext,
    ) -> str | None:
        s, req = self._s, ctx.budget
        n = req.take(s.sketch_samples)
        if n == 0:
            return None
        ctx.report(f"asking for a proof sketch (depth {depth})")
        request = sketch_request(task, self._family, s, n)
        try:
            gen = await self._endpoint.generate(request)
        except EndpointError as exc:
            attempts.append(Attempt("sketch", None, "error", str(exc)[:300]))
            return None
        req.account(gen)
        for sample in gen.samples:
            got = await asyncio.to_thread(read_answer, sample, None, task, site.text)
            if got is not None and got.helpers is not None:
                attempts.append(Attempt("sketch", got.script, "refused", "sketch with helpers"))
                continue
            if got is None or got.script is None:
                attempts.append(
                    Attempt(
                        "sketch",
                        None,
                        "refused" if got else "unparsable",
                        got.reason if got else "no lean4 block",
                    )
                )
                continue
            gate = await asyncio.to_thread(check_sketch, got.script, s.allow_native_decide)
            if not gate.ok:
                attempts.append(Attempt("sketch", got.script, "refused", gate.reason))
                continue
            node = Attempt("sketch", got.script, "pending")
            attempts.append(node)
            t = time.perf_counter()
            script = await self._solve_sketch(site, got.script, depth, node, ctx)
            node.seconds = time.perf_counter() - t
            if script is not None:
                return script
        return None

    async def _solve_sketch(
        self, site: HoleSite, sketch: str, depth: int, node: Attempt, ctx: SolveContext
    ) -> str | None:
        filled = fill(site.text, site.start, site.end, sketch, site.mode)
        delta = len(filled) - len(site.text)
        decl_text, _ = checkable(filled, site.decl, delta)
        res = await self._verifier.command(filled[: site.decl.start], decl_text)
        errors = res.lean_errors()
        if res.error or errors:
            node.outcome = "rejected"
            node.detail = res.error or errors[0].data[:300]
            return None
        model = TextModel(filled)
        decl = model.declaration_at(site.decl.start)
        region = (site.start, site.end + delta)
        holes = [
            t
            for t in scan_sorries(filled, model.masked, model.index)
            if region[0] <= t.start < region[1]
        ]
        # REPL sorries cover the whole declaration: each of the sketch's holes gets the goal
        # of the sorry at its own position (other holes of the declaration may follow it).
        at_holes = res.goals_at(decl_text, site.decl, [t.start for t in holes], delta)
        in_region = [g for g in at_holes if g is not None]
        if decl is None or not holes or len(in_region) != len(holes):
            node.outcome, node.detail = (
                "rejected",
                "the sketch's holes could not be matched to Lean's",
            )
            return None
        node.outcome, node.detail = "accepted", f"{len(holes)} lemma(s)"
        # The negation filter runs on every lemma before any is searched.
        for goal in in_region:
            if await self._refute(site, goal, node, ctx.budget):
                node.outcome, node.detail = "dropped", "a lemma is false (its negation was proved)"
                return None
        solved: dict[int, str] = {}
        sub_ctx = ctx.for_subgoal()
        for tok, goal in zip(holes, in_region, strict=True):
            # the declaration's other holes: the sketch's other lemmas and the user's sorries
            sub_site = HoleSite.at(
                filled, tok.start, mode="tactic", model=model, helpers=site.helpers
            )
            if sub_site is None:
                continue
            sub_task = build_task(model, decl, tok.start, tok.end, goal)
            lemma = Attempt("lemma", goal, "pending")
            node.children.append(lemma)
            t = time.perf_counter()
            script = await self._solve(sub_site, goal, sub_task, depth + 1, lemma.children, sub_ctx)
            lemma.seconds = time.perf_counter() - t
            lemma.outcome = "verified" if script else "open"
            if script is not None:
                solved[tok.start] = script
        assembled = filled
        for tok in sorted(holes, key=lambda x: x.start, reverse=True):
            if tok.start in solved:
                assembled = fill(assembled, tok.start, tok.end, solved[tok.start], "tactic")
        end = site.end + len(assembled) - len(site.text)
        replacement = script_from_region(assembled[site.start : end], site.mode)
        if len(solved) < len(holes):
            left = len(holes) - len(solved)
            result = ctx.result
            if result is not None and (
                result.partial is None or left < result.partial.sorries_left
            ):
                result.partial = Partial(replacement, left)
            node.outcome, node.detail = "partial", f"{left} of {len(holes)} lemma(s) still open"
            return None
        verdict = await self._verifier.check_filled(
            site, fill(site.text, site.start, site.end, replacement, site.mode)
        )
        node.outcome = "verified" if verdict.ok else "rejected"
        node.detail = None if verdict.ok else f"assembled proof: {verdict.reason}"
        return replacement if verdict.ok else None

    async def _refute(self, site: HoleSite, goal: str | None, node: Attempt, req: Budget) -> bool:
        """Try to prove the negation of a lemma, cheaply: the cascade and a few samples."""
        neg = negation_site(site, goal or "")
        if neg is None:
            return False
        neg_site, statement = neg
        key = normalize_goal(goal)
        if key in req.refuted:
            detail = "refuted before" if req.refuted[key] else "tried before"
            node.children.append(Attempt("negation", statement, "memo", detail))
            return req.refuted[key]
        model = TextModel(neg_site.text)
        decl, tok = neg_site.decl, neg_site
        check = Attempt("negation", statement, "pending")
        node.children.append(check)
        proof: list[str] = []

        async def keep(script: str, how: How, helpers: str = "") -> None:
            proof.append(script)

        t = time.perf_counter()
        if not await self._cascade.run(neg_site, check.children, keep):
            neg_task = build_task(model, decl, tok.start, tok.end, None)
            budget = Budget(min(self._s.negation_samples, req.samples_left))
            if neg_task is not None and budget.samples_left > 0:
                await self._sampler.sample(
                    SamplingParams(
                        neg_site,
                        neg_task,
                        check.children,
                        budget,
                        keep,
                        lambda _m: None,
                        1,
                        budget.samples_left,
                        helpers=False,
                    )
                )
                req.absorb(budget)
        check.seconds = time.perf_counter() - t
        check.outcome = "refuted" if proof else "not refuted"
        req.refuted[key] = bool(proof)
        return bool(proof)
