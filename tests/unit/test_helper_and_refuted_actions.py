"""Fills that need helper lemmas, and holes whose goal is false, as the editor sees them."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types

from lean_sidecar.lsp.features import code_actions as ca
from lean_sidecar.lsp.features.progress import final_message
from lean_sidecar.lsp.features.proof_search import ProofSearch
from lean_sidecar.lsp.merged_methods import CODE_ACTION
from lean_sidecar.lsp.tasks import TaskRegistry
from lean_sidecar.search.engine import Found, HoleResult
from lean_sidecar.search.trace import Refuted
from tests.unit.test_features import (
    TEXT,
    URI,
    FakeEditor,
    FakeEngine,
    FakeEngines,
    code_action_params,
    snapshot_store,
)

HELPER = "lemma sidecar_aux_h (n : Nat) : n + 0 = n := by\n  simp"
NEGATION = Refuted("theorem sidecar_negation : ¬(∀ (n : Nat), n + 0 = n) := by", "omega")


def edits_of(action: types.CodeAction) -> tuple[int, list[Any]]:
    assert action.edit is not None and action.edit.document_changes is not None
    (change,) = action.edit.document_changes  # ONE edit, for one document version
    assert isinstance(change, types.TextDocumentEdit)
    return change.text_document.version or -1, list(change.edits)


def apply(text: str, edits: list[Any]) -> str:
    lines = text.split("\n")
    offsets = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]

    def at(p: types.Position) -> int:
        return offsets[p.line] + p.character

    for e in sorted(edits, key=lambda e: at(e.range.start), reverse=True):
        text = text[: at(e.range.start)] + e.new_text + text[at(e.range.end) :]
    return text


async def test_a_fill_with_a_helper_inserts_it_above_the_declaration_in_one_edit() -> None:
    snap = (await snapshot_store()).get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    action = ca.fill_action(
        URI,
        snap,
        snap.holes[0],
        Found("simpa using sidecar_aux_h n", "model", 1.0, helpers=HELPER),
        True,
    )
    version, edits = edits_of(action)
    assert version == 1 and len(edits) == 2
    assert apply(TEXT, edits) == (
        f"{HELPER}\n\ntheorem t (n : Nat) : n + 0 = n := by\n  simpa using sidecar_aux_h n\n\n"
        "theorem u : True := by\n  sorry\n"
    )
    assert action.title == "Fill sorry: simpa using sidecar_aux_h n (+1 helper lemma above)"
    # the editor shows the whole insertion, helper included, before applying it
    annotation = action.edit.change_annotations["leanSidecar.insert"]  # type: ignore[union-attr,index]
    assert annotation.needs_confirmation and HELPER in (annotation.description or "")


async def test_helpers_that_are_more_than_declarations_are_never_offered() -> None:
    snap = (await snapshot_store()).get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    hole = snap.holes[0]
    for helpers in (f"{HELPER}\n\n#eval 1", f"open Nat\n\n{HELPER}"):
        with pytest.raises(ca.RefusedEdit):
            ca.fill_action(URI, snap, hole, Found("simp", "model", 1.0, helpers=helpers), True)
    # without helpers, a declaration-shaped script is refused as before
    with pytest.raises(ca.RefusedEdit):
        ca.fill_action(URI, snap, hole, Found("simp\n\n" + HELPER, "model", 1.0), True)


class RecordingEditor(FakeEditor):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[types.MessageType, str]] = []

    def show_message(self, kind: types.MessageType, message: str) -> None:
        self.messages.append((kind, message))


class RefutingEngine(FakeEngine):
    async def search(
        self, site: Any, goal: Any, task: Any, on_found: Any, progress: Any, max_found: int = 3
    ) -> Any:
        self.searched.append(goal)
        return HoleResult(status="refuted", refuted=NEGATION)


async def test_a_refuted_hole_is_told_once_and_offers_the_counterexample_as_a_comment() -> None:
    store = await snapshot_store()
    editor = RecordingEditor()
    feature = ProofSearch(store, FakeEngines(RefutingEngine()), editor, TaskRegistry())  # type: ignore[arg-type]
    args = {"uri": URI, "version": 1, "position": {"line": 1, "character": 2}}
    result = await feature.cmd_search(args)
    assert result["status"] == "refuted"
    assert result["error"] == "this goal is false: Lean proved its negation"
    assert result["found"] == [] and result["refuted"] == NEGATION.text()
    assert final_message(result) == "this goal is false: Lean proved its negation"
    assert editor.messages == [
        (
            types.MessageType.Info,
            "lean-sidecar: this goal is false: Lean proved its negation: "
            "theorem sidecar_negation : ¬(∀ (n : Nat), n + 0 = n) := by omega",
        )
    ]
    await feature.cmd_search(args)  # searched again: not told twice
    assert len(editor.messages) == 1
    actions = await feature.answer(CODE_ACTION, code_action_params(1)) or []
    (why,) = [a for a in actions if a.title == "Show why this goal is false"]
    version, edits = edits_of(why)
    assert version == 1
    assert apply(TEXT, edits) == (
        "/- lean-sidecar: Lean proved the negation of this goal:\n"
        "theorem sidecar_negation : ¬(∀ (n : Nat), n + 0 = n) := by\n  omega\n-/\n" + TEXT
    )
    # the other hole is not concerned
    others = await feature.answer(CODE_ACTION, code_action_params(4)) or []
    assert "Show why this goal is false" not in [a.title for a in others]


async def test_a_refuted_result_is_kept_for_its_version_only() -> None:
    store = await snapshot_store()
    feature = ProofSearch(store, FakeEngines(RefutingEngine()), RecordingEditor(), TaskRegistry())  # type: ignore[arg-type]
    await feature.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})
    assert feature.results.refuted
    feature._forget(URI, 2)
    assert not feature.results.refuted


class HelperEngine(FakeEngine):
    async def search(
        self, site: Any, goal: Any, task: Any, on_found: Any, progress: Any, max_found: int = 3
    ) -> Any:
        self.searched.append(goal)
        if goal and "n + 0" in goal:
            found = Found("simpa using sidecar_aux_h n", "model", 0.1, helpers=HELPER)
        else:
            found = Found("trivial", "tactic", 0.1)
        return HoleResult(found=[found], status="solved")


async def test_fill_all_inserts_helpers_above_their_declaration_in_the_one_edit() -> None:
    store = await snapshot_store()
    editor = RecordingEditor()
    feature = ProofSearch(store, FakeEngines(HelperEngine()), editor, TaskRegistry())  # type: ignore[arg-type]
    result = await feature.cmd_fill_all({"uri": URI})
    assert result["applied"] and result["filled"] == 2
    (params,) = editor.applied
    (change,) = params.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 1
    assert apply(TEXT, list(change.edits)) == (
        f"{HELPER}\n\ntheorem t (n : Nat) : n + 0 = n := by\n  simpa using sidecar_aux_h n\n\n"
        "theorem u : True := by\n  trivial\n"
    )
