"""Decomposition: ask for a proof sketch whose sub-lemmas are `sorry`, check it, drop it if a
lemma is refutable (its negation is proved), then solve each lemma as a goal of its own."""

from __future__ import annotations

import time
from typing import Protocol

from lean_bridge.hole_fill import checkable, dedent_script, fill
from lean_bridge.holes import TextModel
from lean_bridge.sorry_scan import scan_sorries
from lean_bridge.verifier import HoleSite, Verifier
from lean_sidecar.prover.endpoint import EndpointClient, EndpointError
from lean_sidecar.prover.extract import extract_script, final_code_block
from lean_sidecar.prover.sketch import check_sketch, negation_statement, sketch_request
from lean_sidecar.prover.task import ProofTask, build_task
from lean_sidecar.search.budget import Budget, SolveContext
from lean_sidecar.search.cache import normalize_goal
from lean_sidecar.search.cascade import Cascade
from lean_sidecar.search.repl_sorries import goals_in_source_order
from lean_sidecar.search.sampling import Sampler, SamplingParams
from lean_sidecar.search.trace import Attempt, How, Partial
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


def script_from_region(region: str, mode: str) -> str:
    """The canonical script of a hole's replacement text (the inverse of ``render``)."""
    if mode == "term" and region.startswith("by"):
        region = region[2:].lstrip(" ").lstrip("\n")
    return dedent_script(region)


class Decomposer:
    def __init__(
        self,
        settings: Settings,
        endpoint: EndpointClient,
        verifier: Verifier,
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
        request = sketch_request(
            task, self._family, s.model, n, s.temperature, s.top_p, s.max_tokens
        )
        try:
            gen = await self._endpoint.generate(request)
        except EndpointError as exc:
            attempts.append(Attempt("sketch", None, "error", str(exc)[:300]))
            return None
        req.account(gen)
        for sample in gen.samples:
            code = final_code_block(sample)
            got = extract_script(task, code) if code else None
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
            gate = check_sketch(got.script, s.allow_native_decide)
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
        res = await self._verifier.pool.command(filled[: site.decl.start], decl_text)
        if res.error or res.errors():
            node.outcome = "rejected"
            node.detail = res.error or str(res.errors()[0].get("data", ""))[:300]
            return None
        model = TextModel(filled)
        decl = model.declaration_at(site.decl.start)
        region = (site.start, site.end + delta)
        holes = [
            t
            for t in scan_sorries(filled, model.masked, model.index)
            if region[0] <= t.start < region[1]
        ]
        goals = goals_in_source_order(res.sorries)
        # REPL sorries cover the whole declaration: keep those inside the sketch's region.
        in_region = [
            g for g, tok in zip(goals[-len(holes) :] if holes else [], holes, strict=False)
        ]
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
        others_outside = [
            (a if a < site.start else a + delta, b if b < site.start else b + delta)
            for a, b in site.other_holes
        ]
        solved: dict[int, str] = {}
        sub_ctx = ctx.for_subgoal()
        for tok, goal in zip(holes, in_region, strict=True):
            others = tuple((t.start, t.end) for t in holes if t is not tok) + tuple(others_outside)
            sub_site = HoleSite(filled, decl, tok.start, tok.end, "tactic", others)
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
        statement = negation_statement(goal or "")
        if statement is None:
            return False
        key = normalize_goal(goal)
        if key in req.refuted:
            detail = "refuted before" if req.refuted[key] else "tried before"
            node.children.append(Attempt("negation", statement, "memo", detail))
            return req.refuted[key]
        text = site.text[: site.decl.start] + statement + "\n  sorry\n"
        model = TextModel(text)
        decl = model.declaration_at(len(site.text[: site.decl.start]))
        tok = scan_sorries(text, model.masked, model.index)[-1]
        if decl is None:
            return False
        neg_site = HoleSite(text, decl, tok.start, tok.end, "tactic")
        check = Attempt("negation", statement, "pending")
        node.children.append(check)
        proof: list[str] = []

        async def keep(script: str, how: How) -> None:
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
                    )
                )
                req.absorb(budget)
        check.seconds = time.perf_counter() - t
        check.outcome = "refuted" if proof else "not refuted"
        req.refuted[key] = bool(proof)
        return bool(proof)
