"""One registry for the server's background tasks: it spawns them, cancels them by predicate,
logs their failures (a background task that raises must never vanish silently) and cancels
what is left at shutdown. A keyed task's key is a :data:`TaskKey`: one small frozen dataclass per
owner, compared by value, with typed predicates to select them."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TypeGuard, TypeVar

from pygls.exceptions import JsonRpcException

from lean_bridge.compat import MsgId
from lean_bridge.json_types import Json

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RequestTask:
    """A request the sidecar answers itself (lean_sidecar.lsp.protocol): ``request_id`` is the
    editor's, ``msg_id`` pygls' id of this step (a command's inner coroutine has its own)."""

    request_id: MsgId
    msg_id: MsgId


@dataclass(frozen=True)
class MergeTask:
    """The sidecar's part of a merged request (lean_sidecar.lsp.forwarder), by the editor's id."""

    editor_id: Json


@dataclass(frozen=True)
class LeanRestart:
    """The pending restart of Lean's server (lean_sidecar.lsp.lean_process)."""


class HoleWork(enum.Enum):
    """What a task on one hole does (each is owned by one feature)."""

    SEARCH = "search"  # a proof search for a sorry (features.proof_search)
    HOVER = "hover"  # verified replacements for a failing tactic (features.tactic_hover)


@dataclass(frozen=True)
class HoleTask:
    """Work on the hole at ``offset`` in version ``version`` of ``uri``."""

    work: HoleWork
    uri: str
    version: int
    offset: int

    @property
    def hole(self) -> tuple[str, int, int]:
        """(uri, version, offset): how the features key what they keep per hole."""
        return (self.uri, self.version, self.offset)


TaskKey = RequestTask | MergeTask | LeanRestart | HoleTask
Predicate = Callable[[TaskKey], bool]


def is_request_task(key: TaskKey, request_id: object) -> TypeGuard[RequestTask]:
    """Whether ``key`` is work of the editor's request ``request_id`` (any of its steps)."""
    return isinstance(key, RequestTask) and key.request_id == request_id


def is_hole_task(
    key: TaskKey, work: HoleWork, uri: str | None = None, keep: int | None = None
) -> TypeGuard[HoleTask]:
    """Whether ``key`` is ``work`` on a hole: of ``uri`` only when given, of any version but
    ``keep`` when given."""
    return (
        isinstance(key, HoleTask)
        and key.work is work
        and (uri is None or key.uri == uri)
        and key.version != keep
    )


class TaskRegistry:
    def __init__(self) -> None:
        self._keyed: dict[TaskKey, asyncio.Task[object]] = {}
        self._anonymous: set[asyncio.Task[object]] = set()

    def spawn(
        self, coro: Coroutine[object, None, T], key: TaskKey | None = None
    ) -> asyncio.Task[T]:
        """Run ``coro`` in the background; a keyed task is forgotten when it ends."""
        task = asyncio.ensure_future(coro)
        if key is None:
            self._anonymous.add(task)
        else:
            self._keyed[key] = task
        task.add_done_callback(lambda t: self._done(key, t))
        return task

    def _done(self, key: TaskKey | None, task: asyncio.Task[object]) -> None:
        if key is None:
            self._anonymous.discard(task)
        elif self._keyed.get(key) is task:
            del self._keyed[key]
        if not task.cancelled() and (exc := task.exception()) is not None:
            if isinstance(exc, JsonRpcException):  # a deliberate error answer the editor gets
                log.info("%s answered with an error: %s", key or "task", exc)
            else:
                log.error("background task %s failed", key or "", exc_info=exc)

    def get(self, key: TaskKey) -> asyncio.Task[object] | None:
        return self._keyed.get(key)

    def __contains__(self, key: TaskKey) -> bool:
        return key in self._keyed

    def keys(self, predicate: Predicate = lambda _k: True) -> list[TaskKey]:
        return [k for k in self._keyed if predicate(k)]

    def cancel(self, predicate: Predicate) -> int:
        """Cancel every keyed task whose key satisfies ``predicate``; returns how many."""
        hits = [t for k, t in list(self._keyed.items()) if predicate(k)]
        for task in hits:
            task.cancel()
        return len(hits)

    async def cancel_and_wait(self, predicate: Predicate, timeout: float) -> int:
        """Cancel like :meth:`cancel`, then give those tasks up to ``timeout`` seconds to unwind
        (close their HTTP streams, end their progress) before the caller tears down what they
        use; returns how many were cancelled."""
        hits = [t for k, t in list(self._keyed.items()) if predicate(k)]
        for task in hits:
            task.cancel()
        if hits:
            await asyncio.wait(hits, timeout=timeout)
        return len(hits)

    def close(self) -> None:
        """Cancel everything still running (at shutdown; nothing waits for them to unwind)."""
        for task in [*self._keyed.values(), *self._anonymous]:
            task.cancel()
