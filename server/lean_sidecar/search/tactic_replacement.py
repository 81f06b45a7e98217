"""Replacements for a failing tactic: the goal before it and up to three tactics that Lean
verified close that goal or make progress on it.

Candidates are the user's closers and, when a model is configured, a few samples asked under the
same rules as every other model request: samples counted against a budget of their own
(``hoverSamples``), the search's wall-time budget, the gate before Lean sees anything. They are
tried step by step in the REPL's tactic mode on the goal before the failing tactic; a
replacement said to close the goal is confirmed by checking the whole declaration (tactic mode
can report false successes). Front ends (the hover, soon agents) only present the result."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from lean_bridge.candidate_filter import check_candidate
from lean_bridge.hole_fill import checkable, replacement
from lean_bridge.hole_site import HoleSite
from lean_bridge.holes import Hole, TextModel, insertion_column
from lean_bridge.repl_results import repl_position
from lean_sidecar.prover.endpoint import EndpointError, Sample
from lean_sidecar.prover.extract import extract_script, final_code_block
from lean_sidecar.prover.families import DIALECTS, settings_request
from lean_sidecar.prover.prompts_tactic import hover_request, suggestions_from_completion
from lean_sidecar.prover.task import ProofTask, build_task
from lean_sidecar.search.budget import Budget
from lean_sidecar.search.engine import SearchEngine

log = logging.getLogger(__name__)
MAX_SUGGESTIONS = 3


class ReplacementStatus(str, Enum):
    SEARCHING = "searching"
    DONE = "done"
    ERROR = "error"


@dataclass
class Suggestion:
    tactic: str
    closes: bool
    remaining: list[str] = field(default_factory=list)
    confirmed: bool = False  # the whole declaration was checked with it


@dataclass
class Replacements:
    """What is known about one failing tactic's replacements (updated as they are found)."""

    status: ReplacementStatus = ReplacementStatus.SEARCHING
    goal: str | None = None
    suggestions: list[Suggestion] = field(default_factory=list)
    error: str | None = None


def sample_suggestions(task: ProofTask, sample: Sample, completion: bool) -> list[str]:
    """Replacement tactics a sample proposes (each still checked by Lean before it is shown)."""
    if completion:
        return suggestions_from_completion(sample.text)
    code = final_code_block(sample)
    got = extract_script(task, code) if code else None
    return [got.script] if got is not None and got.script else []


#: told when the model could not be asked (the user's tactics are still tried)
EndpointFailed = Callable[[EndpointError], None]


async def model_candidates(
    engine: SearchEngine,
    model: TextModel,
    hole: Hole,
    goal: str | None,
    endpoint_failed: EndpointFailed,
) -> list[str]:
    """The user's closers, after what a model proposes (tried first)."""
    s = engine.settings
    out = [t for t in s.tactics if not t.endswith("?")]
    if engine.endpoint is None or s.hover_samples == 0 or goal is None:
        return out
    decl = model.declaration_at(hole.start)
    task = build_task(model, decl, hole.start, hole.end, goal) if decl else None
    if task is None:
        return out
    budget = Budget(s.hover_samples)
    n = budget.take(s.hover_samples)
    family = engine.family()
    completion = DIALECTS[family].kind == "completion"
    request = (
        # a completion-style model continues the proof; it writes no fenced block
        hover_request(task, s.model, n, s.temperature, s.top_p)
        if completion
        else settings_request(task, family, s, n)
    )
    try:
        gen = await asyncio.wait_for(engine.endpoint.generate(request), s.budget_seconds)
    except EndpointError as exc:
        log.warning("no model suggestions for a failing tactic: %s", exc)
        endpoint_failed(exc)
        return out
    except asyncio.TimeoutError:
        log.info("no model suggestions within the budget of %.0f s", s.budget_seconds)
        return out
    budget.account(gen)
    for sample in gen.samples:
        # model text is hostile and may be large: read it off the event loop
        found = await asyncio.to_thread(sample_suggestions, task, sample, completion)
        for script in found:
            if script and script.count("\n") < 3 and script not in out:
                out.insert(0, script)  # the model's answers are tried first
    return out


async def replace_tactic(
    engine: SearchEngine,
    model: TextModel,
    hole: Hole,
    state: Replacements,
    endpoint_failed: EndpointFailed,
) -> None:
    """Fill ``state`` with the failing tactic ``hole``'s verified replacements (raises
    ReplUnavailable when Lean cannot check anything in this file)."""
    if engine.verifier is None:
        state.status, state.error = ReplacementStatus.ERROR, "no Lean REPL"
        return
    text = model.text
    decl = model.declaration_at(hole.start)
    if decl is None:
        state.status, state.error = ReplacementStatus.ERROR, "not inside a declaration"
        return
    # The goal before the failing tactic: replace the tactic by `sorry` and ask the REPL (an
    # "unsolved goals" hole gets its `sorry` on a new line of its block, as a fill would).
    a, b, put = replacement(
        text, hole.start, hole.end, "sorry", "tactic", insertion_column(model, hole)
    )
    probe = text[:a] + put + text[b:]
    at = a + put.index("sorry")
    site = HoleSite.at(probe, at, mode="tactic")
    if site is None or site.decl.start != decl.start:
        state.status, state.error = ReplacementStatus.ERROR, "cannot isolate the tactic"
        return
    decl_text, _ = checkable(probe, site.decl, 0)
    candidates = await model_candidates(engine, model, hole, hole.goal, endpoint_failed)
    s = engine.settings
    closers: list[Suggestion] = []
    progress: list[Suggestion] = []
    async with engine.verifier.session() as repl:
        res = await repl.command(text[: decl.start], decl_text)
        target = res.sorry_at(*repl_position(decl_text, at - site.decl.start))
        if target is None or target.proof_state is None:
            state.status = ReplacementStatus.ERROR
            state.error = res.error or "the REPL gave no proof state there"
            return
        state.goal = target.goal or hole.goal or ""
        for tactic in candidates:
            if (
                len(closers) >= MAX_SUGGESTIONS
                or not check_candidate(
                    tactic, allow_native_decide=s.allow_native_decide, max_chars=s.max_proof_chars
                ).ok
            ):
                continue
            step = await repl.tactic(target.proof_state, tactic)
            if step.completed:
                closers.append(Suggestion(tactic, True))
            elif (
                step.error is None
                and step.status.startswith("Incomplete: open goals")
                and not step.lean_errors()
                and step.goals
                and step.goals != [state.goal]
            ):
                progress.append(Suggestion(tactic, False, step.goals))
    confirmed = []
    for suggestion in closers:
        verdict = await engine.verifier.check(site, suggestion.tactic)
        if verdict.ok:
            suggestion.confirmed = True
            confirmed.append(suggestion)
    state.suggestions = (confirmed + progress)[:MAX_SUGGESTIONS]
    state.status = ReplacementStatus.DONE
