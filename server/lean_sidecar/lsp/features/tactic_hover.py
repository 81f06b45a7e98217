"""Hover on a failing tactic: the goal before it and up to three replacements that Lean verified
close the goal or make progress, each with a code action that applies it.

Candidates are checked step by step in the REPL's tactic mode (``tactic``/``proofState``) on the
goal before the failing tactic; a replacement said to close the goal is confirmed by checking
the whole declaration too (tactic mode can report false successes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from lsprotocol import types

from lean_bridge.candidate_filter import check_candidate
from lean_bridge.gate_preview import edit_preview
from lean_bridge.hole_fill import checkable, replacement
from lean_bridge.holes import Hole, TextModel
from lean_bridge.repl_pool import ReplUnavailable, session
from lean_bridge.sorry_scan import scan_sorries
from lean_bridge.verifier import HoleSite
from lean_sidecar.lsp.documents import DocState, DocumentStore, HoleSnapshot
from lean_sidecar.lsp.features.base import Editor, Engines, Feature
from lean_sidecar.lsp.features.code_actions import (
    RefusedEdit,
    insertion_column,
    replace_tactic_action,
)
from lean_sidecar.lsp.merged_methods import CODE_ACTION, HOVER
from lean_sidecar.lsp.tasks import HoleTask, HoleWork, TaskRegistry, is_hole_task
from lean_sidecar.prover.endpoint import EndpointError, Sample
from lean_sidecar.prover.extract import extract_script, final_code_block
from lean_sidecar.prover.families import DIALECTS, build_request
from lean_sidecar.prover.prompts_tactic import hover_request, suggestions_from_completion
from lean_sidecar.prover.task import ProofTask, build_task
from lean_sidecar.search.repl_sorries import sorry_at
from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)
MAX_SUGGESTIONS = 3
MAX_TACTICS_PER_VERSION = 8


@dataclass
class Suggestion:
    tactic: str
    closes: bool
    remaining: list[str] = field(default_factory=list)
    confirmed: bool = False  # the whole declaration was checked with it


@dataclass
class HoverState:
    status: str = "searching"  # searching | done | error
    goal: str | None = None
    suggestions: list[Suggestion] = field(default_factory=list)
    error: str | None = None


def _key(uri: str, version: int, hole: Hole) -> tuple[str, int, int]:
    return (uri, version, hole.start)


def _inside(hole: Hole, pos: types.Position) -> bool:
    """On the hole, or on Lean's squiggle for it (an "unsolved goals" hole sits after the
    block, while Lean reports it at the `by`)."""
    p = (pos.line, pos.character)
    spans = [(hole.range.start, hole.range.end)]
    if hole.reported is not None:
        spans.append((hole.reported.start, hole.reported.end))
    return any((a.line, a.character) <= p <= (b.line, b.character) for a, b in spans)


def _suggestions(task: ProofTask, sample: Sample, completion: bool) -> list[str]:
    """Replacement tactics a sample proposes (each still checked by Lean before it is shown)."""
    if completion:
        return suggestions_from_completion(sample.text)
    code = final_code_block(sample)
    got = extract_script(task, code) if code else None
    return [got.script] if got is not None and got.script else []


class TacticHover(Feature):
    methods = (HOVER, CODE_ACTION)

    def __init__(
        self,
        documents: DocumentStore,
        engines: Engines,
        editor: Editor,
        tasks: TaskRegistry,
        settings: Callable[[], Settings],
    ) -> None:
        self.documents = documents
        self.engines = engines
        self.editor = editor
        self.tasks = tasks
        self._settings = settings
        self.states: dict[tuple[str, int, int], HoverState] = {}

    def on_holes(self, doc: DocState) -> None:
        snap = doc.snapshot
        if snap is None or not self._settings().hover_suggestions:
            return
        self.tasks.cancel(lambda k: is_hole_task(k, HoleWork.HOVER, doc.uri, keep=snap.version))
        self.on_close(doc.uri, keep=snap.version)  # states of the current version only
        failing = [h for h in snap.holes if h.kind == "failingTactic"][:MAX_TACTICS_PER_VERSION]
        for hole in failing:
            key = _key(doc.uri, snap.version, hole)
            if key not in self.states:
                self.states[key] = HoverState(goal=hole.goal)
                self.tasks.spawn(
                    self._compute(doc, snap, hole, self.states[key]), HoleTask(HoleWork.HOVER, *key)
                )

    async def close(self) -> None:
        self.tasks.cancel(lambda k: is_hole_task(k, HoleWork.HOVER))

    def on_close(self, uri: str, keep: int | None = None) -> None:
        self.tasks.cancel(lambda k: is_hole_task(k, HoleWork.HOVER, uri, keep))
        for key in [k for k in self.states if k[0] == uri and k[1] != keep]:
            del self.states[key]

    # ---- finding replacements ---------------------------------------------------------------
    async def _candidates(self, snap: HoleSnapshot, hole: Hole, goal: str | None) -> list[str]:
        engine = await self.engines.engine()
        s = self._settings()
        out = [t for t in s.tactics if not t.endswith("?")]
        if engine.endpoint is None or s.hover_samples == 0 or goal is None:
            return out
        decl = snap.model.declaration_at(hole.start)
        task = build_task(snap.model, decl, hole.start, hole.end, goal) if decl else None
        if task is None:
            return out
        family = engine.family()
        completion = DIALECTS[family].kind == "completion"
        request = (
            # a completion-style model continues the proof; it writes no fenced block
            hover_request(task, s.model, s.hover_samples, s.temperature, s.top_p)
            if completion
            else build_request(
                task,
                family,
                s.model,
                s.hover_samples,
                s.temperature,
                s.top_p,
                s.max_tokens,
                use_preset=s.family_sampling,
                context=s.context_tokens,
            )
        )
        try:
            gen = await engine.endpoint.generate(request)
        except EndpointError as exc:
            log.warning("no model suggestions for a failing tactic: %s", exc)
            self.engines.tell_failure(exc.cause, f"lean-sidecar: no model suggestions: {exc}")
            return out
        for sample in gen.samples:
            # model text is hostile and may be large: read it off the event loop
            found = await asyncio.to_thread(_suggestions, task, sample, completion)
            for script in found:
                if script and script.count("\n") < 3 and script not in out:
                    out.insert(0, script)  # the model's answers are tried first
        return out

    async def _compute(
        self, doc: DocState, snap: HoleSnapshot, hole: Hole, state: HoverState
    ) -> None:
        try:
            await self._compute_inner(doc, snap, hole, state)
        except asyncio.CancelledError:
            raise
        except ReplUnavailable as exc:  # Lean cannot check anything in this file: say why
            log.warning("tactic suggestions: %s", exc)
            self.engines.tell_failure(("repl", ""), f"lean-sidecar: {exc}")
            state.status, state.error = "error", str(exc)[:300]
            return
        except Exception as exc:  # a hover must never take the server down
            log.exception("tactic suggestions failed")
            state.status, state.error = "error", str(exc)[:300]
            return
        if state.suggestions:
            await self.editor.refresh_code_actions()

    async def _compute_inner(
        self, doc: DocState, snap: HoleSnapshot, hole: Hole, state: HoverState
    ) -> None:
        engine = await self.engines.engine()
        if engine.verifier is None:
            state.status, state.error = "error", self.engines.setup_error or "no Lean REPL"
            return
        text = snap.model.text
        decl = snap.model.declaration_at(hole.start)
        if decl is None:
            state.status, state.error = "error", "not inside a declaration"
            return
        # The goal before the failing tactic: replace the tactic by `sorry` and ask the REPL (an
        # "unsolved goals" hole gets its `sorry` on a new line of its block, as a fill would).
        a, b, put = replacement(
            text, hole.start, hole.end, "sorry", "tactic", insertion_column(snap, hole)
        )
        probe = text[:a] + put + text[b:]
        at = a + put.index("sorry")
        probe_model = TextModel(probe)
        probe_decl = probe_model.declaration_at(decl.start)
        if probe_decl is None:
            state.status, state.error = "error", "cannot isolate the tactic"
            return
        decl_text, _ = checkable(probe, probe_decl, 0)
        rel = probe[probe_decl.start : at]
        want = (rel.count("\n") + 1, len(rel) - (rel.rfind("\n") + 1))
        candidates = await self._candidates(snap, hole, hole.goal)
        s_ = self._settings()
        closers: list[Suggestion] = []
        progress: list[Suggestion] = []
        async with session(engine.verifier.pool) as repl:
            res = await repl.command(text[: decl.start], decl_text)
            target = sorry_at(res.sorries, *want)
            if target is None or target.get("proofState") is None:
                state.status, state.error = (
                    "error",
                    res.error or "the REPL gave no proof state there",
                )
                return
            state.goal = str(target.get("goal") or hole.goal or "")
            for tactic in candidates:
                if (
                    len(closers) >= MAX_SUGGESTIONS
                    or not check_candidate(
                        tactic,
                        allow_native_decide=s_.allow_native_decide,
                        max_chars=s_.max_proof_chars,
                    ).ok
                ):
                    continue
                step = await repl.tactic(int(target["proofState"]), tactic)
                if step.completed:
                    closers.append(Suggestion(tactic, True))
                elif (
                    step.error is None
                    and step.status.startswith("Incomplete: open goals")
                    and not any(m.get("severity") == "error" for m in step.messages)
                    and step.goals
                    and step.goals != [state.goal]
                ):
                    progress.append(Suggestion(tactic, False, step.goals))
        others = tuple(
            (t.start, t.end)
            for t in scan_sorries(probe, probe_model.masked, probe_model.index)
            if probe_decl.start <= t.start <= probe_decl.end and t.start != at
        )
        site = HoleSite(probe, probe_decl, at, at + 5, "tactic", others)
        confirmed = []
        for s in closers:
            verdict = await engine.verifier.check(site, s.tactic)
            if verdict.ok:
                s.confirmed = True
                confirmed.append(s)
        state.suggestions = (confirmed + progress)[:MAX_SUGGESTIONS]
        state.status = "done"

    # ---- the editor side ----------------------------------------------------------------------
    def _holes_at(self, uri: str) -> tuple[DocState, HoleSnapshot] | None:
        doc = self.documents.get(uri)
        if doc is None or doc.snapshot is None or doc.snapshot.version != doc.version:
            return None
        return doc, doc.snapshot

    def _failing_at(self, uri: str) -> tuple[DocState, HoleSnapshot, list[Hole]] | None:
        found = self._holes_at(uri)
        if found is None:
            return None
        doc, snap = found
        return doc, snap, [h for h in snap.holes if h.kind == "failingTactic"]

    async def answer_hover(self, params: types.HoverParams) -> str | None:
        found = self._failing_at(params.text_document.uri)
        if found is None:
            return None
        doc, snap, failing = found
        for hole in failing:
            if _inside(hole, params.position):
                return self.hover_text(self.states.get(_key(doc.uri, snap.version, hole)), hole)
        return None

    async def answer_code_action(
        self, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        found = self._failing_at(params.text_document.uri)
        if found is None:
            return None
        doc, snap, failing = found
        actions = []
        for hole in failing:
            spans = [hole.range] + ([hole.reported] if hole.reported is not None else [])
            if not any(
                sp.start.line <= params.range.end.line and params.range.start.line <= sp.end.line
                for sp in spans
            ):
                continue
            state = self.states.get(_key(doc.uri, snap.version, hole))
            for i, s in enumerate(state.suggestions if state else []):
                try:
                    actions.append(
                        replace_tactic_action(doc.uri, snap, hole, s.tactic, s.closes, i == 0)
                    )
                except RefusedEdit:
                    continue  # logged with its reason; never offered
        return actions or None

    @staticmethod
    def hover_text(state: HoverState | None, hole: Hole) -> str:
        """The markdown the hover shows for a failing tactic (pure: from its state)."""
        lines = [
            "**lean-sidecar** — goal before this tactic:",
            "```lean",
            (state.goal if state else None) or hole.goal or "(unknown)",
            "```",
        ]
        if state is None or state.status == "searching":
            lines.append("_searching for verified replacements…_")
        elif state.status == "error":
            lines.append(f"_no suggestions: {state.error}_")
        elif not state.suggestions:
            lines.append("_no replacement found that Lean accepts_")
        else:
            lines.append("Replacements checked by Lean:")
            for k, s in enumerate(state.suggestions, 1):
                what = (
                    "closes the goal"
                    if s.closes
                    else "makes progress, leaving "
                    + "; ".join(f"`{g.splitlines()[-1]}`" for g in s.remaining)
                )
                shown = edit_preview(s.tactic)
                if "\n" in shown or "`" in shown:  # the whole replacement, never a first line
                    lines += [f"{k}. {what}:", "```lean", shown, "```"]
                else:
                    lines.append(f"{k}. `{shown}` — {what}")
        return "\n".join(lines)
