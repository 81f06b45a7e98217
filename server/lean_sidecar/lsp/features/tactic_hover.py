"""Hover on a failing tactic: up to three replacements that Lean verified close the goal or make
progress, each with a code action that applies it, and the goal before the tactic.

The replacements are found by the domain (``lean_sidecar.search.tactic_replacement``) when Lean
finishes a version; this feature only starts that work per failing tactic, keeps its state for
the current version, and turns it into hover markdown and code actions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lsprotocol import types

from lean_bridge.gate_preview import edit_preview
from lean_bridge.holes import Hole
from lean_bridge.repl_pool import ReplUnavailable
from lean_sidecar.lsp.documents import DocState, DocumentStore, HoleSnapshot
from lean_sidecar.lsp.features.base import Editor, Engines, Feature
from lean_sidecar.lsp.features.code_actions import RefusedEdit, replace_tactic_action
from lean_sidecar.lsp.merged_methods import CODE_ACTION, HOVER
from lean_sidecar.lsp.tasks import HoleTask, HoleWork, TaskRegistry, is_hole_task
from lean_sidecar.prover.endpoint import EndpointError
from lean_sidecar.search.tactic_replacement import (
    Replacements,
    ReplacementStatus,
    replace_tactic,
)
from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)
MAX_TACTICS_PER_VERSION = 8


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
        self.states: dict[tuple[str, int, int], Replacements] = {}

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
                self.states[key] = Replacements(goal=hole.goal)
                self.tasks.spawn(
                    self._compute(doc, snap, hole, self.states[key]), HoleTask(HoleWork.HOVER, *key)
                )

    async def close(self) -> None:
        self.tasks.cancel(lambda k: is_hole_task(k, HoleWork.HOVER))

    def on_close(self, uri: str, keep: int | None = None) -> None:
        self.tasks.cancel(lambda k: is_hole_task(k, HoleWork.HOVER, uri, keep))
        for key in [k for k in self.states if k[0] == uri and k[1] != keep]:
            del self.states[key]

    def endpoint_failed(self, exc: EndpointError) -> None:
        """The model could not be asked: said once per cause (searches and hovers share it)."""
        self.engines.tell_failure(exc.cause, f"lean-sidecar: no model suggestions: {exc}")

    async def _compute(
        self, doc: DocState, snap: HoleSnapshot, hole: Hole, state: Replacements
    ) -> None:
        try:
            engine = await self.engines.engine()
            if engine.verifier is None:
                state.status = ReplacementStatus.ERROR
                state.error = self.engines.setup_error or "no Lean REPL"
                return
            await replace_tactic(engine, snap.model, hole, state, self.endpoint_failed)
        except asyncio.CancelledError:
            raise
        except ReplUnavailable as exc:  # Lean cannot check anything in this file: say why
            log.warning("tactic suggestions: %s", exc)
            self.engines.tell_failure(("repl", ""), f"lean-sidecar: {exc}")
            state.status, state.error = ReplacementStatus.ERROR, str(exc)[:300]
            return
        except Exception as exc:  # a hover must never take the server down
            log.exception("tactic suggestions failed")
            state.status, state.error = ReplacementStatus.ERROR, str(exc)[:300]
            return
        if state.suggestions:
            await self.editor.refresh_code_actions()

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
    def hover_text(state: Replacements | None, hole: Hole) -> str:
        """The markdown the hover shows for a failing tactic (pure: from its state). It is shown
        above Lean's hover (lean_sidecar.lsp.merged_methods: HOVER), so it opens with what the
        sidecar adds, the replacements Lean checked, compactly; the goal before the tactic,
        which Lean's message may repeat, comes last."""
        if state is None or state.status == ReplacementStatus.SEARCHING:
            lines = ["**lean-sidecar** — _searching for verified replacements…_"]
        elif state.status == ReplacementStatus.ERROR:
            lines = [f"**lean-sidecar** — _no suggestions: {state.error}_"]
        elif not state.suggestions:
            lines = ["**lean-sidecar** — _no replacement found that Lean accepts_"]
        else:
            lines = ["**lean-sidecar** — replacements checked by Lean (quick fix applies them):"]
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
        goal = (state.goal if state else None) or hole.goal or "(unknown)"
        lines += ["", "goal before this tactic:", "```lean", goal, "```"]
        return "\n".join(lines)
