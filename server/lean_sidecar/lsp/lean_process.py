"""Lean's language server as a process the sidecar owns: its start, its `initialize`, and its
restarts with exponential back-off after a crash. It knows nothing of the editor's requests:
whoever forwards them is told through ``on_exit`` and ``on_restarted``.

Crash loops are handled calmly: one message per outage (an outage ends only after Lean has run
healthily for ``GOOD_RUN_SECONDS``, which is also when the back-off resets); later crashes and
attempts of the same outage are reported as ``leanSidecar/status`` notifications, never as more
pop-ups; while Lean is down, ``outage`` says why, in one sentence, for every request's error."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from lsprotocol import types

from lean_bridge.framing import Message
from lean_bridge.json_types import Json
from lean_bridge.upstream import LeanUpstream, UpstreamError
from lean_sidecar.lsp.errors import REQUEST_FAILED
from lean_sidecar.lsp.tasks import LeanRestart, TaskRegistry

log = logging.getLogger(__name__)
GOOD_RUN_SECONDS = 30.0  # a process that lived this long resets the back-off
MAX_BACKOFF = 30.0
WAIT_FOR_RESTART = 1.0  # a restart due sooner than this is waited for; a later one is not
HOW_TO_FIX = (
    "Install Lean with elan (https://lean-lang.org/install), so that `lake` and `lean` are on "
    "PATH, or point the sidecar at Lean's server with --upstream (setting leanSidecar.upstream)."
)


def not_started_message(exc: BaseException) -> str:
    """The one sentence a user gets when Lean's server cannot be started at all."""
    return f"Lean's server did not start ({exc}). {HOW_TO_FIX}"


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
        status: Callable[[Message], None] = lambda _s: None,
    ) -> None:
        self._command = command
        self._on_message = on_message
        self._notice = notice
        self._status = status
        self._tasks = tasks
        self.outage: str | None = None  # why Lean is down during a restart loop, if it is
        self._next_attempt = 0.0  # monotonic time of the next restart attempt
        self.upstream: LeanUpstream | None = None
        self.init_params: Message | None = None
        self.ready = asyncio.Event()
        self.start_error: str | None = None  # why Lean's server is not running, if it is not
        self.restart_count = 0
        self.shutting_down = False
        self._restarts = 0
        self._outage_told = False  # the user was shown this outage's one pop-up
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

    async def request(self, method: str, params: Json, timeout: float | None = None) -> Json:
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
        self.ready.clear()
        if not self.shutting_down and self.init_params is not None:
            self._crashed(f"exit code {code}")
        for hook in self.on_exit:
            hook(code)

    def _crashed(self, why: str) -> None:
        """Schedule the next start; tell the user once per outage, then only by status."""
        healthy = self._started_at and time.monotonic() - self._started_at > GOOD_RUN_SECONDS
        if healthy:  # only a healthy run ends an outage: a restart that dies again soon is not
            self._restarts = 0
            self._outage_told = False
        first = not self._outage_told
        self._outage_told = True
        delay = min(MAX_BACKOFF, 0.25 * (2**self._restarts))
        self._restarts += 1
        self._started_at = 0.0
        self._next_attempt = time.monotonic() + delay
        self.outage = f"Lean's server stopped ({why}); restarting it (attempt {self._restarts})"
        if first:
            self._notice(
                types.MessageType.Warning,
                f"lean-sidecar: Lean's server stopped ({why}); restarting it. Further restarts "
                "are shown in the status bar only.",
            )
        self._status(
            {"lean": "restarting", "reason": why, "attempt": self._restarts, "retryIn": delay}
        )
        self._tasks.spawn(self._restart(delay), LeanRestart())

    async def _restart(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.shutting_down:
            return
        try:
            await self.start()
        except (UpstreamError, OSError) as exc:
            log.error("restarting Lean's server failed: %s", exc)
            if self.upstream is None or not self.upstream.exited:
                # No process ran (it could not be spawned, or initialize failed while it
                # lives): no exit callback will come, so schedule the next attempt here.
                if self.upstream is not None:
                    await self.upstream.stop(timeout=1.0)
                if not self.shutting_down and (self.upstream is None or not self.upstream.exited):
                    self._crashed(str(exc))
            return
        self.start_error = None
        assert self.upstream is not None
        self.upstream.notify("initialized", {})
        self.restart_count += 1
        for hook in self.on_restarted:
            hook(self.upstream)
        self.outage = None
        self.ready.set()
        self._status({"lean": "running", "restarts": self.restart_count})
        log.info("Lean's server is back (restart %d)", self.restart_count)

    def down_reason(self) -> str:
        """One clear sentence for a request that arrives while Lean is not running."""
        return self.start_error or self.outage or "Lean's server is not running"

    async def wait_running(self, timeout: float) -> None:
        """Wait for Lean's server to be up; raise UpstreamError rather than wait forever, and at
        once when it cannot start or its next restart is not imminent (a crash loop)."""
        if self.start_error is not None and not self.ready.is_set():
            raise UpstreamError(self.start_error, REQUEST_FAILED)
        soon = self._next_attempt - time.monotonic() < WAIT_FOR_RESTART
        if self.outage is not None and not self.ready.is_set() and not soon:
            raise UpstreamError(self.outage, REQUEST_FAILED)
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
