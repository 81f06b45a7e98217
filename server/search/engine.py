"""The search for one hole: cache → symbolic cascade → model samples, every candidate checked
by Lean; the first verified proof is reported at once, others until the budget or a cancel."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from lean_bridge.hole_fill import checkable, fill
from lean_bridge.verifier import HoleSite, Verdict, Verifier

from ..prover.endpoint import EndpointClient, EndpointError
from ..prover.extract import extract_script, final_code_block
from ..prover.families import DIALECTS, build_request, full_statement, guess_family
from ..prover.task import ProofTask
from ..settings import Settings
from .cache import ProofCache, context_hash

log = logging.getLogger(__name__)
How = Literal["cache", "tactic", "model"]


@dataclass
class Attempt:
    kind: str  # cache | tactic | sample
    candidate: str | None
    outcome: str  # verified | rejected | refused | duplicate | unparsable | error
    detail: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "candidate": self.candidate,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Found:
    script: str
    how: How
    seconds: float


@dataclass
class HoleResult:
    found: list[Found] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    samples: int = 0
    seconds: float = 0.0
    status: str = "unsolved"  # solved | unsolved | cancelled | error
    error: str | None = None


OnFound = Callable[[Found], Awaitable[None] | None]
Progress = Callable[[str], None]


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

        async def found(script: str, how: How) -> None:
            item = Found(script, how, time.perf_counter() - t0)
            result.found.append(item)
            if len(result.found) == 1 and self.cache is not None and how != "cache":
                self.cache.put(goal, ctx, self.model_name, script, how)
            if on_found is not None:
                maybe = on_found(item)
                if asyncio.iscoroutine(maybe):
                    await maybe

        ctx = context_hash(site.text[: site.decl.start], site.decl.statement(site.text))
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
                self._run(site, task, result, found, report, max_found),
                self.settings.budget_seconds,
            )
        except asyncio.TimeoutError:
            log.info("search budget of %.0f s spent", self.settings.budget_seconds)
        except asyncio.CancelledError:
            result.status = "cancelled"
            result.seconds = time.perf_counter() - t0
            raise
        except EndpointError as exc:
            result.error = str(exc)
        finally:
            result.seconds = time.perf_counter() - t0
        result.status = "solved" if result.found else ("error" if result.error else "unsolved")
        return result

    async def _run(
        self,
        site: HoleSite,
        task: ProofTask | None,
        result: HoleResult,
        found: Callable[[str, How], Awaitable[None]],
        report: Progress,
        max_found: int,
    ) -> None:
        report("trying symbolic tactics")
        if await self._cascade(site, result, found):
            return
        if self.endpoint is not None and task is not None and self.settings.budget_samples > 0:
            await self._sample(site, task, result, found, report, max_found)

    async def _check(self, site: HoleSite, script: str, kind: str, result: HoleResult) -> Verdict:
        assert self.verifier is not None
        t = time.perf_counter()
        verdict = await self.verifier.check(site, script)
        outcome = "verified" if verdict.ok else ("refused" if verdict.filtered else "rejected")
        detail = verdict.reason
        if verdict.errors:
            detail = str(verdict.errors[0].get("data", ""))[:500]
        result.attempts.append(Attempt(kind, script, outcome, detail, time.perf_counter() - t))
        return verdict

    async def _cascade(
        self, site: HoleSite, result: HoleResult, found: Callable[[str, How], Awaitable[None]]
    ) -> bool:
        for tactic in self.settings.tactics:
            scripts = [tactic]
            if tactic.endswith("?"):
                scripts = await self._suggestions(site, tactic, result)
            for script in scripts:
                if (await self._check(site, script, "tactic", result)).ok:
                    await found(script, "tactic")
                    return True
        return False

    async def _suggestions(self, site: HoleSite, tactic: str, result: HoleResult) -> list[str]:
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
                suggestion = data[len("Try this:") :].strip()
                suggestion = suggestion.removeprefix("[apply]").strip()
                out.append(suggestion)
        result.attempts.append(
            Attempt(
                "tactic",
                tactic,
                "search",
                f"{len(out)} suggestion(s)" if out else "no suggestion",
                time.perf_counter() - t,
            )
        )
        return out

    async def _sample(
        self,
        site: HoleSite,
        task: ProofTask,
        result: HoleResult,
        found: Callable[[str, How], Awaitable[None]],
        report: Progress,
        max_found: int,
    ) -> None:
        assert self.endpoint is not None
        s = self.settings
        family = self._family()
        dialect = DIALECTS[family]
        prefix = (
            (full_statement(task) + dialect.statement_suffix)
            if dialect.kind == "completion"
            else None
        )
        seen: set[str] = set()
        checks: list[asyncio.Task[None]] = []
        budget = s.budget_samples

        async def verify(script: str) -> None:
            if (await self._check(site, script, "sample", result)).ok and len(
                result.found
            ) < max_found:
                await found(script, "model")

        async def one_request(n: int) -> None:
            req = build_request(task, family, s.model, n, s.temperature, s.top_p, s.max_tokens)
            gen = await self.endpoint.generate(req)  # type: ignore[union-attr]
            for sample in gen.samples:
                code = final_code_block(sample, prefix)
                if code is None:
                    result.attempts.append(Attempt("sample", None, "unparsable", "no lean4 block"))
                    continue
                got = extract_script(task, code)
                if got.script is None:
                    result.attempts.append(Attempt("sample", None, "refused", got.reason))
                    continue
                key = " ".join(got.script.split())
                if key in seen:
                    result.attempts.append(Attempt("sample", got.script, "duplicate"))
                    continue
                seen.add(key)
                checks.append(asyncio.ensure_future(verify(got.script)))

        try:
            while budget > 0 and len(result.found) < max_found:
                batch: list[Awaitable[None]] = []
                while budget > 0 and len(batch) < s.endpoint_concurrency:
                    n = min(s.samples_per_request, budget)
                    budget -= n
                    result.samples += n
                    batch.append(one_request(n))
                report(f"sampling {result.samples}/{s.budget_samples}")
                outcomes = await asyncio.gather(*batch, return_exceptions=True)
                await asyncio.gather(*checks)
                errors = [o for o in outcomes if isinstance(o, BaseException)]
                for err in errors:
                    if isinstance(err, asyncio.CancelledError):
                        raise err
                    result.attempts.append(Attempt("sample", None, "error", str(err)[:300]))
                if errors and len(errors) == len(outcomes) and isinstance(errors[0], EndpointError):
                    raise errors[0]
        finally:
            for task_ in checks:
                task_.cancel()
