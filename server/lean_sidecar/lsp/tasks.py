"""One registry for the server's background tasks: it spawns them, cancels them by predicate,
logs their failures (a background task that raises must never vanish silently) and cancels
what is left at shutdown. Keys are tuples whose first item names the owner, e.g.
``("merge", editor_id)`` or ``("search", uri, version, offset)``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pygls.exceptions import JsonRpcException

log = logging.getLogger(__name__)
T = TypeVar("T")
Key = tuple[Any, ...]


class TaskRegistry:
    def __init__(self) -> None:
        self._keyed: dict[Key, asyncio.Task[Any]] = {}
        self._anonymous: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], key: Key | None = None) -> asyncio.Task[T]:
        """Run ``coro`` in the background; a keyed task is forgotten when it ends."""
        task = asyncio.ensure_future(coro)
        if key is None:
            self._anonymous.add(task)
        else:
            self._keyed[key] = task
        task.add_done_callback(lambda t: self._done(key, t))
        return task

    def _done(self, key: Key | None, task: asyncio.Task[Any]) -> None:
        if key is None:
            self._anonymous.discard(task)
        elif self._keyed.get(key) is task:
            del self._keyed[key]
        if not task.cancelled() and (exc := task.exception()) is not None:
            if isinstance(exc, JsonRpcException):  # a deliberate error answer the editor gets
                log.info("%s answered with an error: %s", key or "task", exc)
            else:
                log.error("background task %s failed", key or "", exc_info=exc)

    def get(self, key: Key) -> asyncio.Task[Any] | None:
        return self._keyed.get(key)

    def __contains__(self, key: Key) -> bool:
        return key in self._keyed

    def keys(self, predicate: Callable[[Key], bool] = lambda _k: True) -> list[Key]:
        return [k for k in self._keyed if predicate(k)]

    def cancel(self, predicate: Callable[[Key], bool]) -> int:
        """Cancel every keyed task whose key satisfies ``predicate``; returns how many."""
        hits = [t for k, t in list(self._keyed.items()) if predicate(k)]
        for task in hits:
            task.cancel()
        return len(hits)

    async def cancel_and_wait(self, predicate: Callable[[Key], bool], timeout: float) -> int:
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
