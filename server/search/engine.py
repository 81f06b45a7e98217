"""The search for one hole: cache → symbolic cascade → model samples with error-fix rounds →
decomposition into sub-lemmas (sketches), recursively, every candidate checked by Lean.

One budget (samples, wall time, depth) serves a request and is split across sub-goals; a
sub-goal that recurs is solved once; a sketch whose lemma is refutable (its negation is proved)
is dropped before any sample is spent on that lemma. The first verified proof is reported at
once; at the top level, others keep coming until the budget or a cancel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from lean_bridge.hole_fill import checkable, dedent_script, fill
from lean_bridge.holes import TextModel
from lean_bridge.sorry_scan import scan_sorries
from lean_bridge.verifier import HoleSite, Verdict, Verifier

from ..prover.endpoint import EndpointClient, EndpointError, GenerationRequest, Sample
from ..prover.extract import extract_script, final_code_block
from ..prover.families import DIALECTS, build_request, full_statement, guess_family
from ..prover.feedback import fix_request
from ..prover.sketch import check_sketch, negation_statement, sketch_request
from ..prover.task import ProofTask, build_task
from ..settings import Settings
from .cache import ProofCache, context_hash, normalize_goal

log = logging.getLogger(__name__)
How = Literal["cache", "tactic", "model", "sketch"]


@dataclass
class Attempt:
    kind: str  # cache | tactic | sample | fix | sketch | lemma | negation | memo
    candidate: str | None
    outcome: str  # verified | rejected | refused | duplicate | unparsable | error | ...
    detail: str | None = None
    seconds: float = 0.0
    children: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "candidate": self.candidate,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out

    def walk(self) -> Iterator[Attempt]:
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass
class Found:
    script: str
    how: How
    seconds: float


@dataclass
class Partial:
    script: str  # a sketch that Lean accepts, with `sorries_left` holes
    sorries_left: int


@dataclass
class HoleResult:
    found: list[Found] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    samples: int = 0
    seconds: float = 0.0
    status: str = "unsolved"  # solved | unsolved | cancelled | error
    error: str | None = None
    partial: Partial | None = None

    def walk(self) -> Iterator[Attempt]:
        for a in self.attempts:
            yield from a.walk()


OnFound = Callable[[Found], Awaitable[None] | None]
Progress = Callable[[str], None]
FoundHook = Callable[[str, How], Awaitable[None]]


def script_from_region(region: str, mode: str) -> str:
    """The canonical script of a hole's replacement text (the inverse of ``render``)."""
    if mode == "term" and region.startswith("by"):
        region = region[2:].lstrip(" ").lstrip("\n")
    return dedent_script(region)


@dataclass
class _Request:
    """The state of one search request: its budget, memo of sub-goals, and de-duplication."""

    samples_left: int
    memo: dict[str, str | None] = field(default_factory=dict)
    refuted: dict[str, bool] = field(default_factory=dict)  # negation results, per goal
    seen: set[str] = field(default_factory=set)
    spent: int = 0

    def take(self, n: int) -> int:
        granted = max(0, min(n, self.samples_left))
        self.samples_left -= granted
        self.spent += granted
        return granted


class SearchEngine:
    def __init__(
        self,
        settings: Settings,
        verifier: Verifier | None,
        endpoint: EndpointClient | None = None,
        cache: ProofCache | None = None,
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self.endpoint = endpoint
        self.cache = cache
        self.model_name = settings.model or ""

    def _family(self) -> str:
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
        report = progress or (lambda _m: None)
        ctx = context_hash(site.text[: site.decl.start], site.decl.statement(site.text))

        async def found(script: str, how: How) -> None:
            item = Found(script, how, time.perf_counter() - t0)
            result.found.append(item)
            if len(result.found) == 1 and self.cache is not None and how != "cache":
                self.cache.put(goal, ctx, self.model_name, script, how)
            if on_found is not None:
                maybe = on_found(item)
                if asyncio.iscoroutine(maybe):
                    await maybe

        req = _Request(self.settings.budget_samples)
        try:
            if self.cache is not None:
                hit = self.cache.get(goal, ctx, self.model_name)
                if hit is not None:
                    result.attempts.append(
                        Attempt("cache", hit[0], "verified", f"cached ({hit[1]})")
                    )
                    await found(hit[0], "cache")
                    result.status = "solved"
                    return result
            if self.verifier is None:
                result.status, result.error = "error", "no Lean REPL: nothing can be verified"
                return result
            await asyncio.wait_for(
                self._solve(
                    site,
                    goal,
                    task,
                    0,
                    result.attempts,
                    req,
                    found,
                    report,
                    max_found,
                    result,
                    top=True,
                ),
                self.settings.budget_seconds,
            )
        except asyncio.TimeoutError:
            log.info("search budget of %.0f s spent", self.settings.budget_seconds)
        except asyncio.CancelledError:
            result.status = "cancelled"
            raise
        except EndpointError as exc:
            result.error = str(exc)
        finally:
            result.seconds = time.perf_counter() - t0
            result.samples = req.spent
        result.status = "solved" if result.found else ("error" if result.error else "unsolved")
        return result

    # ---- one goal, recursively ------------------------------------------------------------------
    async def _solve(
        self,
        site: HoleSite,
        goal: str | None,
        task: ProofTask | None,
        depth: int,
        attempts: list[Attempt],
        req: _Request,
        found: FoundHook,
        report: Progress,
        max_found: int,
        result: HoleResult | None,
        top: bool = False,
    ) -> str | None:
        key = normalize_goal(goal) if goal else None
        if not top and key is not None and key in req.memo:
            script = req.memo[key]
            attempts.append(
                Attempt(
                    "memo",
                    script,
                    "verified" if script else "failed",
                    "this sub-goal was already searched",
                )
            )
            return script
        solution: list[str] = []

        async def keep(script: str, how: How) -> None:
            solution.append(script)
            if top:
                await found(script, how)

        report("trying symbolic tactics" if depth == 0 else f"sub-goal at depth {depth}: tactics")
        if await self._cascade(site, attempts, keep):
            return self._remember(req, key, solution[0])
        if self.endpoint is not None and task is not None:
            # Whole-proof sampling gets half of what is left when a sketch may follow.
            can_decompose = depth < self.settings.decompose_depth
            limit = max(1, req.samples_left // 2) if can_decompose else req.samples_left
            await self._sample(
                site, task, attempts, req, keep, report, max_found if top else 1, limit
            )
            if solution:
                return self._remember(req, key, solution[0])
            if depth < self.settings.decompose_depth and req.samples_left > 0:
                script = await self._decompose(site, task, depth, attempts, req, report, result)
                if script is not None:
                    await keep(script, "sketch")
                    return self._remember(req, key, script)
        return self._remember(req, key, None)

    @staticmethod
    def _remember(req: _Request, key: str | None, script: str | None) -> str | None:
        if key is not None:
            req.memo[key] = script
        return script

    async def _check(
        self, site: HoleSite, script: str, kind: str, attempts: list[Attempt]
    ) -> tuple[Verdict, Attempt]:
        assert self.verifier is not None
        t = time.perf_counter()
        verdict = await self.verifier.check(site, script)
        outcome = "verified" if verdict.ok else ("refused" if verdict.filtered else "rejected")
        detail = verdict.reason
        if verdict.errors:
            detail = str(verdict.errors[0].get("data", ""))[:500]
        attempt = Attempt(kind, script, outcome, detail, time.perf_counter() - t)
        attempts.append(attempt)
        return verdict, attempt

    async def _cascade(self, site: HoleSite, attempts: list[Attempt], keep: FoundHook) -> bool:
        for tactic in self.settings.tactics:
            scripts = [tactic]
            if tactic.endswith("?"):
                scripts = await self._suggestions(site, tactic, attempts)
            for script in scripts:
                if (await self._check(site, script, "tactic", attempts))[0].ok:
                    await keep(script, "tactic")
                    return True
        return False

    async def _suggestions(self, site: HoleSite, tactic: str, attempts: list[Attempt]) -> list[str]:
        """Run a search tactic such as ``exact?`` (it comes from the user's settings, not from a
        model) and return its "Try this" suggestions; they are verified like any candidate."""
        assert self.verifier is not None
        filled = fill(site.text, site.start, site.end, tactic, site.mode)
        decl_text, _ = checkable(filled, site.decl, len(filled) - len(site.text))
        t = time.perf_counter()
        res = await self.verifier.pool.command(site.text[: site.decl.start], decl_text)
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

    # ---- model samples, with error-fix rounds ---------------------------------------------------
    def _completion_prefix(self, task: ProofTask, family: str) -> str | None:
        dialect = DIALECTS[family]
        return (
            (full_statement(task) + dialect.statement_suffix)
            if dialect.kind == "completion"
            else None
        )

    async def _sample(
        self,
        site: HoleSite,
        task: ProofTask,
        attempts: list[Attempt],
        req: _Request,
        keep: FoundHook,
        report: Progress,
        max_found: int,
        limit: int,
    ) -> None:
        assert self.endpoint is not None
        s = self.settings
        family = self._family()
        prefix = self._completion_prefix(task, family)
        solved: list[str] = []
        checks: list[asyncio.Task[None]] = []
        allowance = min(limit, req.samples_left)

        async def consider(
            request: GenerationRequest,
            sample: Sample,
            parent: list[Attempt],
            kind: str,
            round_no: int,
        ) -> None:
            code = final_code_block(sample, prefix)
            if code is None:
                parent.append(Attempt(kind, None, "unparsable", "no lean4 block"))
                return
            got = extract_script(task, code)
            if got.script is None:
                parent.append(Attempt(kind, None, "refused", got.reason))
                return
            dedup = " ".join(got.script.split())
            if dedup in req.seen:
                parent.append(Attempt(kind, got.script, "duplicate"))
                return
            req.seen.add(dedup)
            verdict, attempt = await self._check(site, got.script, kind, parent)
            if verdict.ok:
                if len(solved) < max_found:
                    solved.append(got.script)
                    await keep(got.script, "model")
                return
            can_fix = (
                verdict.errors
                and round_no < s.fix_rounds
                and DIALECTS[family].kind == "chat"
                and len(solved) < max_found
                and req.take(1)
            )
            if can_fix:
                fix = fix_request(
                    request,
                    sample.text,
                    family,
                    verdict.checked or code,
                    verdict.errors,
                    task.goal,
                    round_no + 1,
                    1,
                )
                try:
                    gen = await self.endpoint.generate(fix)  # type: ignore[union-attr]
                except EndpointError as exc:
                    attempt.children.append(Attempt("fix", None, "error", str(exc)[:300]))
                    return
                for fixed in gen.samples:
                    await consider(fix, fixed, attempt.children, "fix", round_no + 1)

        async def one_request(n: int) -> None:
            request = build_request(task, family, s.model, n, s.temperature, s.top_p, s.max_tokens)
            gen = await self.endpoint.generate(request)  # type: ignore[union-attr]
            for sample in gen.samples:
                checks.append(
                    asyncio.ensure_future(consider(request, sample, attempts, "sample", 0))
                )

        try:
            while allowance > 0 and len(solved) < max_found:
                batch: list[Awaitable[None]] = []
                while allowance > 0 and len(batch) < s.endpoint_concurrency:
                    n = req.take(min(s.samples_per_request, allowance))
                    if n == 0:
                        break
                    allowance -= n
                    batch.append(one_request(n))
                if not batch:
                    break
                report(f"sampling ({req.spent}/{s.budget_samples} samples)")
                outcomes = await asyncio.gather(*batch, return_exceptions=True)
                await asyncio.gather(*checks)
                checks.clear()
                errors = [o for o in outcomes if isinstance(o, BaseException)]
                for err in errors:
                    if isinstance(err, asyncio.CancelledError):
                        raise err
                    attempts.append(Attempt("sample", None, "error", str(err)[:300]))
                if errors and len(errors) == len(outcomes) and isinstance(errors[0], EndpointError):
                    raise errors[0]
        finally:
            for check in checks:
                check.cancel()

    # ---- decomposition ------------------------------------------------------------------------
    async def _decompose(
        self,
        site: HoleSite,
        task: ProofTask,
        depth: int,
        attempts: list[Attempt],
        req: _Request,
        report: Progress,
        result: HoleResult | None,
    ) -> str | None:
        assert self.endpoint is not None and self.verifier is not None
        s = self.settings
        n = req.take(s.sketch_samples)
        if n == 0:
            return None
        report(f"asking for a proof sketch (depth {depth})")
        family = self._family()
        request = sketch_request(task, family, s.model, n, s.temperature, s.top_p, s.max_tokens)
        try:
            gen = await self.endpoint.generate(request)
        except EndpointError as exc:
            attempts.append(Attempt("sketch", None, "error", str(exc)[:300]))
            return None
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
            script = await self._solve_sketch(site, got.script, depth, node, req, report, result)
            node.seconds = time.perf_counter() - t
            if script is not None:
                return script
        return None

    async def _solve_sketch(
        self,
        site: HoleSite,
        sketch: str,
        depth: int,
        node: Attempt,
        req: _Request,
        report: Progress,
        result: HoleResult | None,
    ) -> str | None:
        assert self.verifier is not None
        filled = fill(site.text, site.start, site.end, sketch, site.mode)
        delta = len(filled) - len(site.text)
        decl_text, _ = checkable(filled, site.decl, delta)
        res = await self.verifier.pool.command(filled[: site.decl.start], decl_text)
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
        goals = [
            x.get("goal")
            for x in sorted(
                res.sorries,
                key=lambda x: (
                    (x.get("pos") or {}).get("line", 0),
                    (x.get("pos") or {}).get("column", 0),
                ),
            )
        ]
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
            refuted = await self._refute(site, goal, node, req)
            if refuted:
                node.outcome, node.detail = "dropped", "a lemma is false (its negation was proved)"
                return None
        others_outside = [
            (a if a < site.start else a + delta, b if b < site.start else b + delta)
            for a, b in site.other_holes
        ]
        solved: dict[int, str] = {}
        for tok, goal in zip(holes, in_region, strict=True):
            others = tuple((t.start, t.end) for t in holes if t is not tok) + tuple(others_outside)
            sub_site = HoleSite(filled, decl, tok.start, tok.end, "tactic", others)
            sub_task = build_task(model, decl, tok.start, tok.end, goal)
            lemma = Attempt("lemma", goal, "pending")
            node.children.append(lemma)
            t = time.perf_counter()
            script = await self._solve(
                sub_site,
                goal,
                sub_task,
                depth + 1,
                lemma.children,
                req,
                _noop_found,
                report,
                1,
                None,
            )
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
            if result is not None and (
                result.partial is None or left < result.partial.sorries_left
            ):
                result.partial = Partial(replacement, left)
            node.outcome, node.detail = "partial", f"{left} of {len(holes)} lemma(s) still open"
            return None
        verdict = await self.verifier.check_filled(
            site, fill(site.text, site.start, site.end, replacement, site.mode)
        )
        node.outcome = "verified" if verdict.ok else "rejected"
        node.detail = None if verdict.ok else f"assembled proof: {verdict.reason}"
        return replacement if verdict.ok else None

    async def _refute(self, site: HoleSite, goal: str | None, node: Attempt, req: _Request) -> bool:
        """Try to prove the negation of a lemma, cheaply: the cascade and a few samples."""
        statement = negation_statement(goal or "")
        if statement is None:
            return False
        key = normalize_goal(goal)
        if key in req.refuted:
            node.children.append(
                Attempt(
                    "negation",
                    statement,
                    "memo",
                    "refuted before" if req.refuted[key] else "tried before",
                )
            )
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
        if not await self._cascade(neg_site, check.children, keep) and self.endpoint is not None:
            neg_task = build_task(model, decl, tok.start, tok.end, None)
            budget = _Request(min(self.settings.negation_samples, req.samples_left))
            if neg_task is not None and budget.samples_left > 0:
                await self._sample(
                    neg_site,
                    neg_task,
                    check.children,
                    budget,
                    keep,
                    lambda _m: None,
                    1,
                    budget.samples_left,
                )
                req.take(budget.spent)
        check.seconds = time.perf_counter() - t
        check.outcome = "refuted" if proof else "not refuted"
        req.refuted[key] = bool(proof)
        return bool(proof)


async def _noop_found(_script: str, _how: How) -> None:
    return None
