"""Whole-proof samples from the model, in concurrent batches, each answer gated and checked,
with error-fix rounds for chat provers (Lean's errors go back to the model)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

from lean_bridge.hole_site import HoleSite
from lean_sidecar.prover.endpoint import EndpointError, GenerationRequest, Sample
from lean_sidecar.prover.extract import Extracted, extract_script, final_code_block
from lean_sidecar.prover.families import DIALECTS, full_statement, settings_request
from lean_sidecar.prover.feedback import fix_turn
from lean_sidecar.prover.task import ProofTask
from lean_sidecar.search.budget import Budget
from lean_sidecar.search.cascade import Checker
from lean_sidecar.search.protocols import ModelEndpoint
from lean_sidecar.search.trace import Attempt, AttemptKind, FoundHook, Progress
from lean_sidecar.settings import Settings


@dataclass
class SamplingParams:
    """One round of sampling for one goal."""

    site: HoleSite
    task: ProofTask
    attempts: list[Attempt]  # where the samples' attempts go
    budget: Budget
    keep: FoundHook
    report: Progress
    max_found: int
    limit: int  # at most this many samples
    helpers: bool = True  # carry helper declarations (top-level goals only)


def read_answer(
    sample: Sample, prefix: str | None, task: ProofTask, taken: str
) -> Extracted | None:
    """Extraction of one answer (run off the event loop: it is linear, but answers are long):
    None when it has no lean4 block."""
    code = final_code_block(sample, prefix)
    if code is None:
        return None
    return extract_script(task, code, taken)


def completion_prefix(task: ProofTask, family: str) -> str | None:
    """For completion-style provers, the text their answer continues (the statement)."""
    dialect = DIALECTS[family]
    if dialect.kind != "completion":
        return None
    return full_statement(task) + dialect.statement_suffix


class Sampler:
    def __init__(
        self, settings: Settings, endpoint: ModelEndpoint, checker: Checker, family: str
    ) -> None:
        self._s = settings
        self._endpoint = endpoint
        self._checker = checker
        self._family = family

    async def sample(self, p: SamplingParams) -> None:
        s, family, req = self._s, self._family, p.budget
        prefix = completion_prefix(p.task, family)
        solved: list[str] = []
        checks: list[asyncio.Task[None]] = []
        allowance = min(p.limit, req.samples_left)

        async def consider(
            request: GenerationRequest,
            sample: Sample,
            parent: list[Attempt],
            kind: AttemptKind,
            round_no: int,
        ) -> None:
            got = await asyncio.to_thread(read_answer, sample, prefix, p.task, p.site.text)
            if got is None:
                parent.append(Attempt(kind, None, "unparsable", "no lean4 block"))
                return
            if got.script is None:
                parent.append(Attempt(kind, None, "refused", got.reason))
                return
            helpers = got.helpers if p.helpers else None
            if got.helpers is not None and not p.helpers:
                parent.append(Attempt(kind, got.script, "refused", "helpers only at the top"))
                return
            script = helpers.script if helpers is not None else got.script
            dedup = " ".join(script.split()) + (helpers.text if helpers else "")
            if dedup in req.seen:
                parent.append(Attempt(kind, script, "duplicate"))
                return
            req.seen.add(dedup)
            verdict, attempt = await self._checker.check(
                p.site, script, kind, parent, helpers, got.script
            )
            if verdict.ok:
                if len(solved) < p.max_found and attempt.candidate is not None:
                    solved.append(attempt.candidate)
                    await p.keep(attempt.candidate, "model", attempt.helpers)
                return
            can_fix = (
                verdict.errors
                and round_no < s.fix_rounds
                and DIALECTS[family].kind == "chat"
                and len(solved) < p.max_found
            )
            if can_fix:
                # The verifier does not return Lean's infotree yet: goals at the error are not
                # shown (the trained Kimina format omits the line when there is none).
                fix = fix_turn(
                    request,
                    sample.text,
                    family,
                    verdict.checked or "",
                    verdict.errors,
                    round_no + 1,
                    1,
                    reasoning=sample.reasoning,
                    infotree=None,
                    secrets=[s.api_key.get_secret_value()] if s.api_key else [],
                )
                if fix is None:
                    attempt.children.append(
                        Attempt(
                            "fix", None, "skipped", "the family's trained format has no such turn"
                        )
                    )
                    return
                if not req.take(1):
                    return
                try:
                    gen = await self._endpoint.generate(fix)
                except EndpointError as exc:
                    attempt.children.append(Attempt("fix", None, "error", str(exc)[:300]))
                    return
                req.account(gen)
                for fixed in gen.samples:
                    await consider(fix, fixed, attempt.children, "fix", round_no + 1)

        async def one_request(n: int) -> None:
            request = settings_request(p.task, family, s, n)
            gen = await self._endpoint.generate(request)
            req.account(gen)
            if gen.shortfall is not None:  # fewer samples than asked: say why
                p.attempts.append(Attempt("sample", None, "error", str(gen.shortfall)[:300]))
            for sample in gen.samples:
                checks.append(
                    asyncio.ensure_future(consider(request, sample, p.attempts, "sample", 0))
                )

        try:
            while allowance > 0 and len(solved) < p.max_found:
                batch: list[Awaitable[None]] = []
                while allowance > 0 and len(batch) < s.endpoint_concurrency:
                    n = req.take(min(s.samples_per_request, allowance))
                    if n == 0:
                        break
                    allowance -= n
                    batch.append(one_request(n))
                if not batch:
                    break
                p.report(f"sampling ({req.spent}/{s.budget_samples} samples)")
                outcomes = await asyncio.gather(*batch, return_exceptions=True)
                await asyncio.gather(*checks)
                checks.clear()
                errors = [o for o in outcomes if isinstance(o, BaseException)]
                for err in errors:
                    if isinstance(err, asyncio.CancelledError):
                        raise err
                    p.attempts.append(Attempt("sample", None, "error", str(err)[:300]))
                if errors and len(errors) == len(outcomes) and isinstance(errors[0], EndpointError):
                    raise errors[0]
        finally:
            for check in checks:
                check.cancel()
