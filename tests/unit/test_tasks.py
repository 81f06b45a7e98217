"""The task registry: keyed tasks forgotten when done, cancel by predicate, failures logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from lean_sidecar.lsp.errors import RequestFailed
from lean_sidecar.lsp.tasks import (
    HoleTask,
    HoleWork,
    MergeTask,
    RequestTask,
    TaskRegistry,
    is_hole_task,
    is_request_task,
)


async def test_cancel_by_predicate_and_forget_when_done() -> None:
    tasks = TaskRegistry()
    gate = asyncio.Event()
    a = tasks.spawn(gate.wait(), HoleTask(HoleWork.SEARCH, "a", 1, 0))
    b = tasks.spawn(gate.wait(), HoleTask(HoleWork.SEARCH, "b", 1, 0))
    h = tasks.spawn(gate.wait(), HoleTask(HoleWork.HOVER, "a", 1, 0))
    assert tasks.cancel(lambda k: is_hole_task(k, HoleWork.SEARCH, "a")) == 1
    await asyncio.gather(a, return_exceptions=True)
    await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert a.cancelled() and not b.done() and not h.done()
    assert HoleTask(HoleWork.SEARCH, "a", 1, 0) not in tasks and tasks.keys() == [
        HoleTask(HoleWork.SEARCH, "b", 1, 0),
        HoleTask(HoleWork.HOVER, "a", 1, 0),
    ]
    gate.set()
    await asyncio.gather(b, h)
    assert tasks.keys() == []


async def test_a_failing_background_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise ValueError("kaput")

    tasks = TaskRegistry()
    with caplog.at_level(logging.ERROR):
        task = tasks.spawn(boom())
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
    assert any("background task" in r.message and r.exc_info for r in caplog.records)


async def test_an_error_answer_is_logged_as_an_answer_not_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A request that answers the editor with an error (Lean not running, no sorry there) is
    no failure of the server: one INFO line, no traceback at ERROR level."""

    async def refuse() -> None:
        raise RequestFailed("Lean did not start: install elan")

    tasks = TaskRegistry()
    with caplog.at_level(logging.INFO):
        task = tasks.spawn(refuse(), RequestTask(7, 7))
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    (line,) = [r for r in caplog.records if "answered with an error" in r.message]
    assert "Lean did not start" in line.message and not line.exc_info


async def test_close_cancels_everything() -> None:
    tasks = TaskRegistry()
    never = asyncio.Event()
    keyed = tasks.spawn(never.wait(), MergeTask(1))
    anonymous = tasks.spawn(never.wait())
    tasks.close()
    await asyncio.gather(keyed, anonymous, return_exceptions=True)
    assert keyed.cancelled() and anonymous.cancelled()


def test_typed_keys_and_their_predicates() -> None:
    """Keys compare by value; a predicate selects one owner's tasks, by document and version."""
    search = HoleTask(HoleWork.SEARCH, "a", 1, 5)
    assert search == HoleTask(HoleWork.SEARCH, "a", 1, 5) and search.hole == ("a", 1, 5)
    assert search != HoleTask(HoleWork.HOVER, "a", 1, 5)
    assert is_hole_task(search, HoleWork.SEARCH) and not is_hole_task(search, HoleWork.HOVER)
    assert is_hole_task(search, HoleWork.SEARCH, "a")
    assert not is_hole_task(search, HoleWork.SEARCH, "b")
    assert not is_hole_task(search, HoleWork.SEARCH, "a", keep=1)  # the version kept
    assert is_hole_task(search, HoleWork.SEARCH, "a", keep=2)
    assert not is_hole_task(MergeTask(1), HoleWork.SEARCH)
    assert is_request_task(RequestTask(7, 8), 7)  # by the editor's id, whatever the step
    assert not is_request_task(RequestTask(7, 8), 8) and not is_request_task(MergeTask(7), 7)
