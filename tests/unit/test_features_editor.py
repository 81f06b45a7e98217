"""Fill sorry in-process with fakes: commands wait for Lean's version instead of failing, every
edit is re-lexed before it is offered, and a failed search is told once per cause."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from lsprotocol import types

from lean_bridge.holes import TextModel, collect_holes
from lean_bridge.positions import Pos
from lean_bridge.upstream import UpstreamError
from lean_sidecar.lsp.documents import DocumentStore, HoleSnapshot
from lean_sidecar.lsp.engine_service import EngineService
from lean_sidecar.lsp.errors import ContentModified, RequestFailed
from lean_sidecar.lsp.features import code_actions as ca
from lean_sidecar.lsp.features import proof_search as ps
from lean_sidecar.lsp.features.progress import final_message
from lean_sidecar.lsp.features.proof_search import ProofSearch
from lean_sidecar.lsp.merged_methods import CODE_ACTION
from lean_sidecar.lsp.tasks import TaskRegistry
from lean_sidecar.search.engine import Found, HoleResult
from lean_sidecar.search.trace import Partial
from lean_sidecar.settings import Settings
from tests.unit.test_features import (
    GOAL,
    TEXT,
    URI,
    FakeEditor,
    FakeEngine,
    FakeEngines,
    code_action_params,
    snapshot_store,
)

HOSTILE = 'simp\n#eval! IO.Process.run {cmd := "sh"}'


class TellingEditor(FakeEditor):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def show_message(self, kind: types.MessageType, message: str) -> None:
        self.messages.append(message)


class FailingEngine(FakeEngine):
    """Every search ends with the same endpoint failure."""

    async def search(
        self, site: Any, goal: Any, task: Any, on_found: Any, progress: Any, max_found: int = 3
    ) -> Any:
        self.searched.append(goal)
        return HoleResult(
            status="error",
            error="http://gpu:8000: cannot connect. Check that the server is running.",
            cause=("unreachable", "http://gpu:8000"),
        )


class Lean:
    def __init__(self, error: str | None = None) -> None:
        self.error = error

    async def wait_running(self, timeout: float) -> None:
        if self.error is not None:
            raise UpstreamError(self.error, -32803)


class SharedEngines(FakeEngines):
    """The fake engine, with the real service's one-message-per-cause bookkeeping."""

    def __init__(self, engine: FakeEngine, editor: TellingEditor) -> None:
        super().__init__(engine)
        self.service = EngineService(Settings, lambda: None, editor.show_message)

    def tell_failure(self, cause: tuple[str, str], message: str) -> None:
        self.service.tell_failure(cause, message)

    def failures_cleared(self) -> None:
        self.service.failures_cleared()

    async def reset(self) -> None:
        await self.service.reset()


def feature(
    store: DocumentStore, engine: FakeEngine, lean: Lean | None = None
) -> tuple[ProofSearch, TellingEditor]:
    editor = TellingEditor()
    engines = SharedEngines(engine, editor)
    return ProofSearch(store, engines, editor, TaskRegistry(), lean), editor  # type: ignore[arg-type]


async def snapshot(text: str, version: int) -> HoleSnapshot:
    async def goal(pos: Pos) -> str | None:
        return GOAL

    model = TextModel(text)
    return HoleSnapshot(version, model, await collect_holes(model, [], goal, goal))


async def test_a_command_for_an_unfinished_version_waits_for_it() -> None:
    store = await snapshot_store()
    doc = store.get(URI)
    assert doc is not None
    doc.version = 2  # the editor sent version 2; Lean has not finished it
    search, _ = feature(store, FakeEngine("simp"), Lean())
    running = asyncio.ensure_future(
        search.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})
    )
    await asyncio.sleep(0.1)
    assert not running.done()  # waiting, not failing with "try again"
    doc.publish(await snapshot(TEXT, 2))
    result = await asyncio.wait_for(running, 5)
    assert result["status"] == "solved"


async def test_the_wait_is_bounded_and_cancellable(monkeypatch: pytest.MonkeyPatch) -> None:
    store = await snapshot_store()
    doc = store.get(URI)
    assert doc is not None
    doc.version = 2
    search, _ = feature(store, FakeEngine("simp"), Lean())
    monkeypatch.setattr(ps, "COMMAND_WAIT", 0.2)
    with pytest.raises(ContentModified, match=r"did not finish version 2 .* within 0\.2 s"):
        await search.cmd_fill_all({"uri": URI})
    running = asyncio.ensure_future(search.cmd_fill_all({"uri": URI}))
    await asyncio.sleep(0.05)
    running.cancel()  # the editor's $/cancelRequest cancels the handler
    with pytest.raises(asyncio.CancelledError):
        await running
    assert not doc.waiters or all(w.done() for w in doc.waiters)


async def test_when_lean_cannot_start_commands_say_why() -> None:
    store = await snapshot_store()
    doc = store.get(URI)
    assert doc is not None
    doc.version = 2
    why = "Lean's server did not start: lake not found. Install elan, or pass --upstream"
    search, _ = feature(store, FakeEngine("simp"), Lean(why))
    with pytest.raises(RequestFailed, match="Install elan"):
        await search.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})


async def test_an_edit_with_an_extra_command_is_never_offered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = await snapshot_store()
    search, _ = feature(store, FakeEngine(HOSTILE))
    await search.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})
    with caplog.at_level(logging.WARNING):
        actions = await search.answer(CODE_ACTION, code_action_params(1))
    assert not [a for a in actions or [] if a.title.startswith("Fill sorry")]
    assert "edit refused for t" in caplog.text and "#eval!" in caplog.text
    snap = store.get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    with pytest.raises(ca.RefusedEdit):
        ca.replace_tactic_action(URI, snap, snap.holes[0], HOSTILE, True, True)


async def test_fill_all_writes_nothing_that_fails_the_final_check() -> None:
    store = await snapshot_store()
    search, editor = feature(store, FakeEngine(HOSTILE))
    result = await search.cmd_fill_all({"uri": URI})
    assert result["filled"] == 0 and editor.applied == []
    assert {r["status"] for r in result["holes"]} == {"refused"}
    assert "edit refused: extra command" in result["holes"][0]["error"]


async def test_a_multi_line_fill_shows_the_whole_text() -> None:
    store = await snapshot_store()
    snap = store.get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    action = ca.fill_action(
        URI, snap, snap.holes[0], Found("induction n\nsimp\nsimp", "model", 1), True
    )
    assert action.title == "Fill sorry: induction n (+2 lines)"
    assert action.edit is not None and action.edit.change_annotations is not None
    (note,) = action.edit.change_annotations.values()
    assert note.description == "induction n\n  simp\n  simp" and note.needs_confirmation
    assert action.data["leanSidecar"]["inserted"] == note.description  # type: ignore[index]


async def test_one_message_per_cause_and_the_reason_in_the_progress() -> None:
    store = await snapshot_store()
    search, editor = feature(store, FailingEngine())
    result = await search.cmd_fill_all({"uri": URI})  # two holes, one cause
    assert len(editor.messages) == 1
    assert editor.messages[0].startswith("lean-sidecar: proof search stopped: http://gpu:8000")
    assert final_message(result) == (
        "filled 0 of 2 holes; http://gpu:8000: cannot connect. Check that the server is running."
    )
    one = await search.cmd_search({"uri": URI, "position": {"line": 4, "character": 2}})
    assert final_message(one).startswith("no proof: http://gpu:8000: cannot connect")
    assert len(editor.messages) == 1  # same cause again: not shown again
    await search.settings_changed()
    await search.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})
    assert len(editor.messages) == 2  # new settings: a failure is news again


async def test_a_hover_whose_endpoint_fails_says_so_once_per_cause() -> None:
    from lean_sidecar.lsp.features.tactic_hover import TacticHover
    from lean_sidecar.prover.endpoint_errors import EndpointError, FailureKind

    class DeadEndpoint:
        async def generate(self, request: Any) -> Any:
            raise EndpointError(
                "cannot connect", kind=FailureKind.UNREACHABLE, endpoint="http://gpu:8000"
            )

    from lean_sidecar.search.tactic_replacement import model_candidates

    engine = FakeEngine()
    engine.endpoint = DeadEndpoint()  # type: ignore[assignment]
    engine.family = lambda: "kimina"  # type: ignore[attr-defined]
    engine.settings = Settings()  # type: ignore[attr-defined]
    engines = FakeEngines(engine)
    store = await snapshot_store()
    snap = store.get(URI).snapshot  # type: ignore[union-attr]
    assert snap is not None
    hover = TacticHover(store, engines, FakeEditor(), TaskRegistry(), Settings)  # type: ignore[arg-type]
    hole = snap.holes[0]
    tactics = await model_candidates(engine, snap.model, hole, GOAL, hover.endpoint_failed)  # type: ignore[arg-type]
    assert tactics == [t for t in Settings().tactics if not t.endswith("?")]  # Lean's own still
    ((cause, message),) = engines.told
    assert cause == ("unreachable", "http://gpu:8000")
    assert message.startswith("lean-sidecar: no model suggestions: http://gpu:8000: cannot connect")


class UnsolvingEngine(FakeEngine):
    """Every search ends without a proof (``partial``: with a sketch left over)."""

    def __init__(self, partial: bool = False) -> None:
        super().__init__()
        self.partial = partial

    async def search(
        self, site: Any, goal: Any, task: Any, on_found: Any, progress: Any, max_found: int = 3
    ) -> Any:
        self.searched.append(goal)
        sketch = Partial("have h : True := by sorry\nsorry", 2) if self.partial else None
        return HoleResult(status="unsolved", samples=0, seconds=1.25, partial=sketch)


async def test_a_search_without_a_proof_says_so_once_naming_the_hole_and_why() -> None:
    store = await snapshot_store()
    search, editor = feature(store, UnsolvingEngine())
    result = await search.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})
    assert result["status"] == "unsolved" and result["found"] == []
    assert editor.messages == [
        "lean-sidecar: no proof of the sorry at T.lean:2:3: no tactic closed it, and no prover "
        "endpoint is set (setting `endpoints`)"
    ]
    with_model, editor = feature(store, UnsolvingEngine(partial=True))
    with_model.engines.current().endpoint = object()  # type: ignore[attr-defined]
    await with_model.cmd_search({"uri": URI, "position": {"line": 4, "character": 2}})
    (told,) = editor.messages
    assert told == (
        "lean-sidecar: no proof of the sorry at T.lean:5:3: not solved within the search budget "
        "(0 model samples, 1.2 s); a proof sketch with 2 sorries left is offered"
    )


async def test_a_proof_a_refutation_or_a_cancel_adds_no_no_proof_message() -> None:
    store = await snapshot_store()
    solved, editor = feature(store, FakeEngine("simp"))
    await solved.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})
    assert editor.messages == []  # the light bulb offers the fill
    failing, editor = feature(store, FailingEngine())
    await failing.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})
    assert len(editor.messages) == 1 and "proof search stopped" in editor.messages[0]
    gate = asyncio.Event()
    waiting, editor = feature(store, FakeEngine("simp", gate))
    running = asyncio.ensure_future(
        waiting.cmd_search({"uri": URI, "position": {"line": 1, "character": 2}})
    )
    await asyncio.sleep(0.05)
    waiting.cmd_cancel({"uri": URI})
    assert (await asyncio.wait_for(running, 5))["status"] == "cancelled"
    assert editor.messages == []


async def test_the_search_action_runs_the_editors_own_command_when_it_has_one() -> None:
    """Editors that show a search under their own progress UI (the VS Code extension: a
    cancellable notification) name their command in `editorSearchCommand`; others get
    leanSidecar.searchProof, as before."""
    store = await snapshot_store()
    own: list[str | None] = [None]
    search = ProofSearch(
        store,
        FakeEngines(FakeEngine()),  # type: ignore[arg-type]
        FakeEditor(),  # type: ignore[arg-type]
        TaskRegistry(),
        search_command=lambda: own[0],
    )
    actions = await search.answer(CODE_ACTION, code_action_params(1)) or []
    assert actions[0].command is not None
    assert actions[0].command.command == "leanSidecar.searchProof"
    own[0] = "leanSidecar.searchProofWithNotification"
    actions = await search.answer(CODE_ACTION, code_action_params(1)) or []
    assert actions[0].title == "Search proof for this sorry"
    assert actions[0].command is not None
    assert actions[0].command.command == "leanSidecar.searchProofWithNotification"
    assert actions[0].command.arguments == [
        {"uri": URI, "version": 1, "position": {"line": 1, "character": 2}}
    ]
    assert Settings(editor_search_command="leanSidecar.x").editor_search_command == "leanSidecar.x"
    with pytest.raises(ValueError):  # only a command of ours: never any command of the editor
        Settings(editor_search_command="workbench.action.terminal.sendSequence")
