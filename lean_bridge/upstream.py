"""The Lean language server as a child process, spoken to in raw JSON-RPC."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from lean_bridge.framing import (
    CoalescingWriter,
    FrameBuffer,
    FramingError,
    Message,
    encode_message,
    loads,
    read_frames,
)
from lean_bridge.json_types import Json, as_object

log = logging.getLogger(__name__)


class UpstreamError(Exception):
    """Lean answered a request with an error, or is not running."""

    def __init__(self, message: str, code: Json = -32603, data: Json = None) -> None:
        # ``code`` and ``data`` as Lean sent them (JSON-RPC says an integer and any value)
        super().__init__(message)
        self.code = code
        self.data = data


def default_upstream_command(root: Path | None) -> list[str]:
    """``lake serve --`` in a Lake project, ``lean --server`` elsewhere (as vscode-lean4 does)."""
    if root is not None and any((root / f).exists() for f in ("lakefile.lean", "lakefile.toml")):
        return ["lake", "serve", "--"]
    return ["lean", "--server"]


class LeanUpstream:
    """One running Lean server. Messages that are not answers to our own requests go to
    ``on_message``; ``on_exit`` is called once when the process ends."""

    def __init__(
        self,
        command: list[str],
        cwd: str | None,
        on_message: Callable[[Message], None],
        on_exit: Callable[[int | None], None],
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = command
        self.cwd = cwd
        self.env = env
        self._on_message = on_message
        self._on_exit = on_exit
        self._proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Json]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._out: CoalescingWriter | None = None
        self.exited = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and not self.exited

    def next_id(self) -> int:
        return next(self._ids)

    async def start(self) -> None:
        exe = shutil.which(self.command[0]) or self.command[0]
        try:
            self._proc = await asyncio.create_subprocess_exec(
                exe,
                *self.command[1:],
                cwd=self.cwd,
                env={**os.environ, **(self.env or {})},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=64 * 1024 * 1024,
            )
        except OSError as exc:
            raise UpstreamError(f"cannot start Lean server {self.command!r}: {exc}") from exc
        log.info("started Lean server pid=%s: %s", self._proc.pid, " ".join(self.command))
        stdin = self._proc.stdin
        assert stdin is not None
        self._out = CoalescingWriter(stdin.write, stdin.is_closing)
        self._tasks = [
            asyncio.create_task(self._read_loop()),
            asyncio.create_task(self._stderr_loop()),
        ]

    def send(self, message: Message) -> None:
        if not self.alive or self._out is None:
            raise UpstreamError("Lean server is not running", code=-32803)
        self._out.write(encode_message(message))

    def notify(self, method: str, params: Json) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Json, timeout: float | None = None) -> Json:
        """Send a request of the sidecar's own; its id can never collide with forwarded ones
        because every upstream id comes from the same counter."""
        msg_id = self.next_id()
        fut: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        try:
            self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
            return await asyncio.wait_for(fut, timeout)
        except (asyncio.CancelledError, asyncio.TimeoutError):
            if self.alive:
                with contextlib.suppress(UpstreamError):
                    self.notify("$/cancelRequest", {"id": msg_id})
            raise
        finally:
            self._pending.pop(msg_id, None)

    async def _read_loop(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        frames = FrameBuffer()
        try:
            while True:
                bodies = await read_frames(self._proc.stdout, frames)
                if bodies is None:
                    break
                if frames.errors:
                    raise FramingError("; ".join(frames.errors))
                for body in bodies:
                    message = loads(body)
                    if not isinstance(message, dict):
                        raise FramingError("message is not a JSON object")
                    self._dispatch(message)
        except (FramingError, ValueError, ConnectionError) as exc:
            log.error("lost the Lean server's output stream: %s", exc)
        finally:
            await self._finish()

    def _dispatch(self, message: Message) -> None:
        msg_id = message.get("id")
        if "method" not in message and isinstance(msg_id, int) and msg_id in self._pending:
            fut = self._pending.pop(msg_id)
            if fut.done():
                return
            if "error" in message:
                err = as_object(message["error"])  # JSON-RPC: an object
                fut.set_exception(
                    UpstreamError(str(err.get("message")), err.get("code", -32603), err.get("data"))
                )
            else:
                fut.set_result(message.get("result"))
            return
        try:
            self._on_message(message)
        except Exception:
            log.exception("failed to route a message from Lean")

    async def _stderr_loop(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            log.info("lean stderr: %s", line.decode("utf-8", "replace").rstrip())

    async def _finish(self) -> None:
        if self.exited:
            return
        self.exited = True
        code: int | None = None
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                if self._proc.returncode is None and self._proc.stdin is not None:
                    if self._out is not None:
                        self._out.flush()
                    self._proc.stdin.close()
            try:
                code = await asyncio.wait_for(self._proc.wait(), 5)
            except asyncio.TimeoutError:
                self._proc.kill()
                code = await self._proc.wait()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(UpstreamError("Lean server exited", code=-32803))
        self._pending.clear()
        log.warning("Lean server exited with code %s", code)
        self._on_exit(code)

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask Lean to shut down politely, then make sure it is gone."""
        if self._proc is None:
            return
        if self.alive:
            with contextlib.suppress(Exception):
                await self.request("shutdown", None, timeout=timeout)
            with contextlib.suppress(Exception):
                self.notify("exit", None)
        try:
            await asyncio.wait_for(self._proc.wait(), timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        for task in self._tasks:
            task.cancel()
