"""Each feature in-process with fake collaborators (no pygls server, no Lean, no REPL)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types

from lean_bridge.holes import TextModel, collect_holes
from lean_bridge.positions import Pos
from lean_bridge.upstream import UpstreamError
from lean_sidecar.lsp.documents import DocumentStore, HoleSnapshot
from lean_sidecar.lsp.errors import CONTENT_MODIFIED, ContentModified, RequestFailed
from lean_sidecar.lsp.features.holes_request import HolesRequest
from lean_sidecar.lsp.features.proof_search import ProofSearch
from lean_sidecar.lsp.features.tactic_hover import TacticHover
from lean_sidecar.lsp.merged_methods import CODE_ACTION
from lean_sidecar.lsp.tasks import TaskRegistry
from lean_sidecar.search.engine import Found, HoleResult
from lean_sidecar.search.tactic_replacement import Replacements, ReplacementStatus, Suggestion
from tests.unit.fakes import Harness

URI = "file:///T.lean"
TEXT = "theorem t (n : Nat) : n + 0 = n := by\n  sorry\n\ntheorem u : True := by\n  sorry\n"
GOAL = "n : Nat\n⊢ n + 0 = n"


async def snapshot_store(text: str = TEXT, version: int = 1) -> DocumentStore:
    model = TextModel(text)

    async def plain_goal(pos: Pos) -> str | None:
        return GOAL if pos.line == 1 else "⊢ True"

    async def no_goal(pos: Pos) -> str | None:
        return None

    holes = await collect_holes(model, [], plain_goal, no_goal)
    store = DocumentStore()
    store.open(URI, version).publish(HoleSnapshot(version, model, holes))
    return store


class FakeProgress:
    def __init__(self) -> None:
        self.tokens: dict[int | str, Any] = {}
        self.reports: list[str] = []

    async def create_async(self, token: int | str) -> None:
        raise RuntimeError("this editor has no work-done progress")

    def begin(self, token: Any, value: Any) -> None: ...

    def report(self, token: Any, value: Any) -> None:
        self.reports.append(value.message)

    def end(self, token: Any, value: Any) -> None: ...


class FakeEditor:
    def __init__(self) -> None:
        self.progress = FakeProgress()
        self.refreshes = 0
        self.applied: list[types.ApplyWorkspaceEditParams] = []

    def show_message(self, kind: types.MessageType, message: str) -> None: ...

    async def refresh_code_actions(self) -> None:
        self.refreshes += 1

    async def apply_edit(self, params: types.ApplyWorkspaceEditParams) -> bool:
        self.applied.append(params)
        return True


class FakeEngine:
    """Finds ``script`` for every hole, after ``gate`` opens (to test cancellation)."""

    def __init__(self, script: str = "simp", gate: asyncio.Event | None = None) -> None:
        self.script, self.gate = script, gate
        self.endpoint = None
        self.cache = None
        self.searched: list[str | None] = []

    async def search(
        self, site: Any, goal: Any, task: Any, on_found: Any, progress: Any, max_found: int = 3
    ) -> Any:
        self.searched.append(goal)
        if self.gate is not None:
            await self.gate.wait()
        found = Found(self.script, "tactic", 0.01)
        await on_found(found)
        return HoleResult(found=[found], status="solved")


class FakeEngines:
    def __init__(self, engine: FakeEngine) -> None:
        self._engine = engine
        self.setup_error: str | None = None
        self.told: list[tuple[tuple[str, str], str]] = []  # what tell_failure was asked

    def tell_failure(self, cause: tuple[str, str], message: str) -> None:
        self.told.append((cause, message))

    def failures_cleared(self) -> None: ...

    def current(self) -> Any:
        return self._engine

    async def engine(self) -> Any:
        return self._engine

    async def reset(self) -> None: ...

    async def close(self) -> None: ...


def code_action_params(line: int) -> Any:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        range=types.Range(types.Position(line, 2), types.Position(line, 2)),
        context=types.CodeActionContext(diagnostics=[]),
    )


def proof_search(store: DocumentStore, engine: FakeEngine) -> tuple[ProofSearch, FakeEditor]:
    editor = FakeEditor()
    feature = ProofSearch(store, FakeEngines(engine), editor, TaskRegistry())  # type: ignore[arg-type]
    return feature, editor


async def test_a_sorry_offers_search_and_fill_all() -> None:
    feature, _ = proof_search(await snapshot_store(), FakeEngine())
    actions = await feature.answer(CODE_ACTION, code_action_params(1))
    assert [a.title for a in actions or []] == [
        "Search proof for this sorry",
        "Fill every sorry in this file (lean-sidecar)",
    ]
    search = (actions or [])[0]
    assert search.command is not None and search.command.arguments == [
        {"uri": URI, "version": 1, "position": {"line": 1, "character": 2}}
    ]


async def test_search_then_the_fill_action_is_pinned_to_the_version() -> None:
    engine = FakeEngine("simp")
    feature, editor = proof_search(await snapshot_store(), engine)
    result = await feature.cmd_search(
        {"uri": URI, "version": 1, "position": {"line": 1, "character": 2}}
    )
    assert result["status"] == "solved" and result["found"][0]["proof"] == "simp"
    assert engine.searched == [GOAL]
    assert editor.refreshes == 1
    actions = await feature.answer(CODE_ACTION, code_action_params(1))
    fill = (actions or [])[0]
    assert fill.title == "Fill sorry: simp" and fill.is_preferred
    assert fill.edit is not None and fill.edit.document_changes is not None
    change = fill.edit.document_changes[0]
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.version == 1
    assert change.edits[0].new_text == "simp"
    assert change.edits[0].range == types.Range(types.Position(1, 2), types.Position(1, 7))


async def test_a_stale_version_is_content_modified() -> None:
    feature, _ = proof_search(await snapshot_store(), FakeEngine())
    with pytest.raises(ContentModified) as err:
        await feature.cmd_search({"uri": URI, "version": 0, "position": {"line": 1}})
    assert err.value.code == CONTENT_MODIFIED
    with pytest.raises(RequestFailed):
        await feature.cmd_search({"uri": URI, "position": {"line": 2, "character": 0}})


async def test_an_edit_above_a_declaration_cancels_its_search_one_below_does_not() -> None:
    gate = asyncio.Event()
    feature, _ = proof_search(await snapshot_store(), FakeEngine(gate=gate))
    args = {"uri": URI, "position": {"line": 1, "character": 2}}
    running = asyncio.ensure_future(feature.cmd_search(args))
    await asyncio.sleep(0.01)
    assert feature.running((URI, 1, TEXT.index("sorry")))
    feature.on_change(URI, 3)  # below the declaration (lines 0-1): the search goes on
    await asyncio.sleep(0.01)
    assert not running.done()
    feature.on_change(URI, 1)
    assert (await running) == {"status": "cancelled"}


async def test_fill_all_applies_one_versioned_edit() -> None:
    feature, editor = proof_search(await snapshot_store(), FakeEngine("trivial"))
    result = await feature.cmd_fill_all({"uri": URI})
    assert result["applied"] is True and result["filled"] == 2
    (params,) = editor.applied
    change = (params.edit.document_changes or [])[0]
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 1
    assert [e.new_text for e in change.edits] == ["trivial", "trivial"]


async def test_cancel_command_cancels_by_uri() -> None:
    gate = asyncio.Event()
    feature, _ = proof_search(await snapshot_store(), FakeEngine(gate=gate))
    running = asyncio.ensure_future(
        feature.cmd_search({"uri": URI, "position": {"line": 4, "character": 2}})
    )
    await asyncio.sleep(0.01)
    assert feature.cmd_cancel({"uri": "file:///other.lean"}) == {"cancelled": 0}
    assert feature.cmd_cancel({"uri": URI}) == {"cancelled": 1}
    assert (await running) == {"status": "cancelled"}


class FakeLean:
    def __init__(self, error: str | None = None) -> None:
        self.error = error

    async def wait_running(self, timeout: float) -> None:
        if self.error:
            raise UpstreamError(self.error, -32803)


async def test_holes_request_answers_the_current_version() -> None:
    feature = HolesRequest(await snapshot_store(), FakeLean())
    answer = await feature.holes({"textDocument": {"uri": URI}})
    assert answer["version"] == 1
    assert [h["goal"] for h in answer["holes"]] == [GOAL, "⊢ True"]


async def test_holes_request_errors_carry_their_codes() -> None:
    with pytest.raises(ContentModified):
        await HolesRequest(DocumentStore(), FakeLean()).holes({"textDocument": {"uri": URI}})
    with pytest.raises(RequestFailed, match="Lean is down"):
        await HolesRequest(await snapshot_store(), FakeLean("Lean is down")).holes(
            {"textDocument": {"uri": URI}}
        )


async def test_error_codes_reach_the_wire() -> None:
    """pygls reads ``CODE``: a document that is not open is ContentModified, not -32603."""
    h = Harness()
    await h.initialize()
    h.send({"id": 30, "method": "leanSidecar/holes", "params": {"textDocument": {"uri": URI}}})
    for _ in range(50):
        await asyncio.sleep(0.01)
        answers = [m for m in h.out() if m.get("id") == 30]
        if answers:
            break
    assert answers[0]["error"]["code"] == CONTENT_MODIFIED


def test_hover_text_says_what_lean_checked() -> None:
    hole = type("H", (), {"goal": "⊢ p"})()
    assert "_searching for verified replacements…_" in TacticHover.hover_text(None, hole)  # type: ignore[arg-type]
    done = Replacements(
        status=ReplacementStatus.DONE,
        goal="⊢ p",
        suggestions=[Suggestion("exact h", True), Suggestion("intro x", False, ["x : A\n⊢ q"])],
    )
    text = TacticHover.hover_text(done, hole)  # type: ignore[arg-type]
    assert "1. `exact h` — closes the goal" in text
    assert "2. `intro x` — makes progress, leaving `⊢ q`" in text
    error = TacticHover.hover_text(
        Replacements(status=ReplacementStatus.ERROR, error="no REPL"), hole
    )  # type: ignore[arg-type]
    assert "_no suggestions: no REPL_" in error


async def test_a_second_search_for_a_hole_joins_the_first() -> None:
    """Two requests for one hole (a double click, the action and the palette): one search, one
    fill offered. The engine service yields while it builds the engine, as the real one does
    (it takes a lock), which is where a second request used to slip in and search again."""
    gate = asyncio.Event()
    engine = FakeEngine("simp", gate)

    class SlowEngines(FakeEngines):
        async def engine(self) -> Any:
            await asyncio.sleep(0)
            return await super().engine()

    editor = FakeEditor()
    store = await snapshot_store()
    feature = ProofSearch(store, SlowEngines(engine), editor, TaskRegistry())  # type: ignore[arg-type]
    args = {"uri": URI, "version": 1, "position": {"line": 1, "character": 2}}
    first = asyncio.ensure_future(feature.cmd_search(args))
    second = asyncio.ensure_future(feature.cmd_search(args))
    for _ in range(5):
        await asyncio.sleep(0)
    gate.set()
    one, two = await asyncio.gather(first, second)
    assert engine.searched == [GOAL]  # searched once
    assert one["found"] == two["found"] and one["found"][0]["proof"] == "simp"
    actions = await feature.answer(CODE_ACTION, code_action_params(1))
    assert [a.title for a in actions or []].count("Fill sorry: simp") == 1
