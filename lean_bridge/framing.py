"""Content-Length framed JSON messages over asyncio streams, kept as raw dicts.

Lean's messages carry extension fields (``fullRange``, ``leanTags``, ``isIncremental``…) that
lsprotocol's converters drop, so the bridge never structures them. Encoding and decoding go
through orjson (several times faster than the standard library on the proxy's hot path); the
standard library remains the fallback for what orjson refuses (integers beyond 64 bits)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Protocol

import orjson

from lean_bridge.json_types import Json, JsonObject

Message = JsonObject
JSONDecodeError = orjson.JSONDecodeError


class FramingError(Exception):
    """The peer sent bytes that are not a valid frame; the stream cannot be trusted further."""


def loads(body: bytes) -> Json:
    """Parse one JSON body; raises ``JSONDecodeError`` (a ValueError) on invalid JSON or UTF-8."""
    value: Json
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits, which are valid JSON; anything else is bad.
        try:
            value = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            text = body.decode("utf-8", "replace")
            raise orjson.JSONDecodeError("invalid JSON", text, 0) from None
    return value


def dumps(message: Json) -> bytes:
    """One JSON body, UTF-8, compact."""
    try:
        return orjson.dumps(message)
    except TypeError:  # integers beyond 64 bits, non-string keys
        return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class FrameReader(Protocol):
    """What :func:`read_frame` reads from: an asyncio stream, or pygls' threaded stdin reader."""

    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int) -> Awaitable[bytes]: ...


async def read_frame(reader: FrameReader) -> bytes | None:
    """Read one frame's body; ``None`` at end of stream. Header names are case-insensitive."""
    length: int | None = None
    while True:
        line = await reader.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            if length is None:
                continue  # stray blank line, or a header block without a length: skip it
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError as exc:
                raise FramingError(f"bad Content-Length header: {line!r}") from exc
            if length < 0:
                raise FramingError(f"bad Content-Length header: {line!r}")
    return await reader.readexactly(length)


def encode_message(message: Message) -> bytes:
    return frame(dumps(message))


class CoalescingWriter:
    """Frames written during one turn of the event loop go out in one ``write`` call.

    On a loaded machine each pipe write costs a system call and wakes the reader; when many
    messages are in flight (an editor's burst of requests, Lean's burst of answers) joining them
    cuts both, and adds no latency: the flush runs at the end of the current loop turn."""

    def __init__(
        self, write: Callable[[bytes], object], is_closing: Callable[[], bool] = lambda: False
    ) -> None:
        self._write = write
        self._is_closing = is_closing
        self._chunks: list[bytes] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def write(self, data: bytes) -> None:
        if not self._chunks:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self.flush)
        self._chunks.append(data)

    def flush(self) -> None:
        if not self._chunks:
            return
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        if not self._is_closing():
            self._write(data)


def _content_length(header: bytes) -> int | None:
    for line in header.split(b"\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise FramingError(f"bad Content-Length header: {line!r}") from None
            if length < 0:
                raise FramingError(f"bad Content-Length header: {line!r}")
            return length
    return None


class FrameBuffer:
    """Splits a byte stream into frame bodies without a coroutine switch per header line: one
    ``read`` of the pipe often holds many messages (a burst of answers), all split at once.
    Header names are case-insensitive; a header block without a length is skipped; a bad
    length is skipped and reported in ``errors``."""

    def __init__(self) -> None:
        self._buf = b""
        self.errors: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the bodies of every frame now complete."""
        buf = self._buf + data if self._buf else data
        pos, bodies = 0, []
        while True:
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            try:
                length = _content_length(buf[pos:end])
            except FramingError as exc:
                self.errors.append(str(exc))
                length = None
            if length is None:
                pos = end + 4
                continue
            if len(buf) < end + 4 + length:
                break
            bodies.append(buf[end + 4 : end + 4 + length])
            pos = end + 4 + length
        self._buf = buf[pos:]
        return bodies


async def read_frames(
    reader: asyncio.StreamReader, frames: FrameBuffer, chunk: int = 1 << 16
) -> list[bytes] | None:
    """The complete frames available next (waiting for at least one); ``None`` at the end."""
    while True:
        data = await reader.read(chunk)
        if not data:
            return None
        bodies = frames.feed(data)
        if bodies or frames.errors:
            return bodies
