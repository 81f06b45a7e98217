"""The code-action builders and answer merging as pure functions."""

from __future__ import annotations

from lsprotocol import types

from lean_sidecar.lsp.features import code_actions as ca
from lean_sidecar.lsp.merged_methods import (
    CODE_ACTION,
    HOVER,
    combine_own,
    merge_answer,
    owns_action,
)
from lean_sidecar.search.engine import Partial
from tests.unit.test_features import TEXT, URI, snapshot_store


async def test_search_action_turns_into_cancel_while_running() -> None:
    snap = (await snapshot_store()).get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    hole = snap.holes[0]
    idle = ca.search_action(URI, 1, hole, running=False)
    busy = ca.search_action(URI, 1, hole, running=True)
    assert (idle.title, idle.command.command) == ("Search proof for this sorry", ca.SEARCH)  # type: ignore[union-attr]
    assert (busy.title, busy.command.command) == ("Searching a proof… (cancel)", ca.CANCEL)  # type: ignore[union-attr]
    assert busy.data == {"leanSidecar": {"command": ca.CANCEL}}


async def test_partial_sketch_action_counts_what_is_left() -> None:
    snap = (await snapshot_store()).get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    one = ca.partial_action(URI, snap, snap.holes[0], Partial("have h : n = n := sorry\n  simp", 1))
    assert one.title == "Insert proof sketch (1 sorry left) — partial"
    assert one.kind == types.CodeActionKind.RefactorRewrite
    two = ca.partial_action(URI, snap, snap.holes[0], Partial("sorry", 2))
    assert two.title.startswith("Insert proof sketch (2 sorries left)")


async def test_multi_line_replacement_is_indented_under_the_tactic() -> None:
    snap = (await snapshot_store()).get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    hole = snap.holes[0]  # at column 2
    action = ca.replace_tactic_action(URI, snap, hole, "constructor\nrfl", False, True)
    assert action.title == "Replace with: constructor (+1 line) (progress)"  # never only line 1
    assert action.is_preferred is False  # progress only: never the preferred fix
    change = action.edit.document_changes[0]  # type: ignore[union-attr,index]
    assert isinstance(change, types.TextDocumentEdit)
    assert change.edits[0].new_text == "constructor\n  rfl"
    assert change.text_document.version == 1
    # the whole inserted text, shown by the editor before it applies the edit
    annotation = action.edit.change_annotations[change.edits[0].annotation_id]  # type: ignore[index,union-attr]
    assert annotation.needs_confirmation and annotation.description == "constructor\n  rfl"


async def test_a_sites_declaration_is_the_one_around_its_hole() -> None:
    snap = (await snapshot_store()).get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    assert ca.site_of(snap, snap.holes[1]).decl.start == TEXT.index("theorem u")


def test_merging_appends_actions_and_hover_text() -> None:
    lean_actions = [{"title": "Lean's"}]
    assert merge_answer(CODE_ACTION, lean_actions, [{"title": "ours"}]) == [
        {"title": "Lean's"},
        {"title": "ours"},
    ]
    assert merge_answer(CODE_ACTION, None, None) is None
    assert merge_answer(HOVER, None, "ours") == {"contents": {"kind": "markdown", "value": "ours"}}
    lean_hover = {"contents": [{"language": "lean", "value": "x"}, "plain"], "range": 1}
    merged = merge_answer(HOVER, lean_hover, "ours")
    assert merged["range"] == 1
    assert merged["contents"]["value"].startswith("ours\n\n---\n\n")  # ours first, then Lean's
    assert combine_own(HOVER, ["a", None, "b"]) == "a\n\n---\n\nb"
    assert combine_own(CODE_ACTION, [[1], None, [2, 3]]) == [1, 2, 3]
    assert combine_own(CODE_ACTION, [None, []]) is None


def test_only_the_sidecars_actions_are_resolved_by_it() -> None:
    assert owns_action({"title": "x", "data": {"leanSidecar": {"how": "tactic"}}})
    assert not owns_action({"title": "x", "data": {"lean": 1}})
    assert not owns_action(None)
