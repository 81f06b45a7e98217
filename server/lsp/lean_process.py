"""Lean's language server as a process the sidecar owns: its start, its `initialize`, and its
restarts with exponential back-off after a crash. It knows nothing of the editor's requests:
whoever forwards them is told through ``on_exit`` and ``on_restarted``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from lsprotocol import types

from lean_bridge.framing import Message
from lean_bridge.upstream import LeanUpstream, UpstreamError
from lean_sidecar.lsp.errors import REQUEST_FAILED
from lean_sidecar.lsp.tasks import TaskRegistry

log = logging.getLogger(__name__)
GOOD_RUN_SECONDS = 30.0  # a process that lived this long resets the back-off
MAX_BACKOFF = 30.0


class UserNotice(Protocol):
    def __call__(self, kind: types.MessageType, message: str) -> None: ...


class LeanProcess:
    """Starts, restarts and stops Lean's server; ``ready`` is set while it is up."""

    def __init__(
        self,
        command: Callable[[], tuple[list[str], str | None]],
        on_message: Callable[[Message], None],
        notice: UserNotice,
        tasks: TaskRegistry,
    ) -> None:
        self._command = command
        self._on_message = on_message
        self._notice = notice
        self._tasks = tasks
        self.upstream: LeanUpstream | None = None
        self.init_params: Message | None = None
        self.ready = asyncio.Event()
        self.start_error: str | None = None  # why Lean's server is not running, if it is not
        self.restart_count = 0
        self.shutting_down = False
        self._restarts = 0
        self._started_at = 0.0
        self.on_exit: list[Callable[[int | None], None]] = []  # pending requests fail here
        self.on_restarted: list[Callable[[LeanUpstream], None]] = []  # documents reopen here

    @property
    def alive(self) -> bool:
        return self.upstream is not None and self.upstream.alive

    def next_id(self) -> int:
        assert self.upstream is not None
        return self.upstream.next_id()

    def send(self, message: Message) -> None:
        """Send a message to Lean if it is running (dropped, with a log line, if not)."""
        if self.upstream is None or not self.upstream.alive:
            log.debug("Lean not running; dropped %s", message.get("method"))
            return
        try:
            self.upstream.send(message)
        except UpstreamError as exc:
            log.warning("could not send %s to Lean: %s", message.get("method"), exc)

    async def request(self, method: str, params: Any, timeout: float | None = None) -> Any:
        if self.upstream is None:
            raise UpstreamError("Lean's server is not running", REQUEST_FAILED)
        return await self.upstream.request(method, params, timeout)

    async def start(self) -> Message:
        """Start the process and run Lean's `initialize`; returns Lean's result."""
        assert self.init_params is not None
        command, cwd = self._command()
        self.upstream = LeanUpstream(command, cwd, self._on_message, self._exited)
        await self.upstream.start()
        self._started_at = time.monotonic()
        result = await self.upstream.request("initialize", self.init_params)
        return result if isinstance(result, dict) else {}

    def _exited(self, code: int | None) -> None:
        for hook in self.on_exit:
            hook(code)
        if self.shutting_down or self.init_params is None:
            return
        self.ready.clear()
        if time.monotonic() - self._started_at > GOOD_RUN_SECONDS:
            self._restarts = 0
        delay = min(MAX_BACKOFF, 0.25 * (2**self._restarts))
        self._restarts += 1
        self._notice(
            types.MessageType.Warning,
            f"lean-sidecar: Lean's server stopped (exit code {code}); "
            f"restarting it in {delay:.1f} s.",
        )
        self._tasks.spawn(self._restart(delay))

    async def _restart(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.shutting_down:
            return
        try:
            await self.start()
        except (UpstreamError, OSError) as exc:
            log.error("restarting Lean's server failed: %s", exc)
            self.start_error = f"Lean's server keeps failing to start: {exc}"
            return  # its exit callback schedules the next attempt
        self.start_error = None
        assert self.upstream is not None
        self.upstream.notify("initialized", {})
        self.restart_count += 1
        for hook in self.on_restarted:
            hook(self.upstream)
        self.ready.set()
        log.info("Lean's server is back (restart %d)", self.restart_count)

    async def wait_running(self, timeout: float) -> None:
        """Wait for Lean's server to be up; raise UpstreamError rather than wait forever."""
        if self.start_error is not None and not self.ready.is_set():
            raise UpstreamError(self.start_error, REQUEST_FAILED)
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except asyncio.TimeoutError:
            raise UpstreamError(
                self.start_error or "Lean's server is not running", REQUEST_FAILED
            ) from None
        if not self.alive:
            raise UpstreamError(self.start_error or "Lean's server is not running", REQUEST_FAILED)

    async def stop(self) -> None:
        self.shutting_down = True
        if self.upstream is not None:
            await self.upstream.stop()
