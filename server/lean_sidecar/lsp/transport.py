"""Serving over stdio or TCP with asyncio streams (no thread hop per line, unlike pygls'
default stdin reader), so the proxy adds as little latency as it can."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from pygls.io_ import StdinAsyncReader, StdoutWriter

from lean_bridge.compat import replace_stop_event, stop_event
from lean_bridge.framing import (
    CoalescingWriter,
    FrameBuffer,
    FrameReader,
    FramingError,
    read_frame,
    read_frames,
)
from lean_sidecar.lsp.app import SidecarServer

if TYPE_CHECKING:
    from pygls.io_ import Writer  # a Protocol pygls defines for type checkers only

log = logging.getLogger(__name__)
T = TypeVar("T")


class _PipeWriter:
    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport
        self._out = CoalescingWriter(transport.write, transport.is_closing)

    def write(self, data: bytes) -> None:
        self._out.write(data)

    def close(self) -> None:
        self._out.flush()
        self._transport.close()


async def read_loop(server: SidecarServer, reader: FrameReader) -> int:
    """Read the editor's frames until the stream ends; return how many arrived. Unlike pygls'
    loop, header names are case-insensitive (``content-length`` loses nothing) and each body is
    parsed once, by ``SidecarProtocol.receive_body``, which answers parse errors and batches."""
    stop = stop_event(server)
    frames = FrameBuffer()
    received = 0
    while stop is None or not stop.is_set():
        try:
            bodies = await _next_frames(reader, frames)
        except FramingError as exc:
            log.error("unreadable frame from the editor: %s", exc)
            continue
        except asyncio.IncompleteReadError:
            break
        if bodies is None:
            break
        for error in frames.errors:
            log.error("unreadable frame from the editor: %s", error)
        frames.errors.clear()
        received += len(bodies)
        for body in bodies:
            try:
                server.protocol.receive_body(body)
            except Exception as exc:
                log.exception("unable to handle a message")
                server.report_server_error(exc, type(exc))
    return received


async def _next_frames(reader: FrameReader, frames: FrameBuffer) -> list[bytes] | None:
    """asyncio streams are read in chunks; pygls' threaded stdin reader frame by frame."""
    if isinstance(reader, asyncio.StreamReader):
        return await read_frames(reader, frames)
    body = await read_frame(reader)
    return None if body is None else [body]


async def serve_streams(server: SidecarServer, reader: FrameReader, writer: Writer) -> int:
    """Serve one editor connection until its reader ends, then stop Lean's server; return how
    many frames the editor sent."""
    replace_stop_event(server)
    server.protocol.set_writer(writer)
    try:
        return await read_loop(server, reader)
    finally:
        await server.lean.stop()


def _pollable(stream: BinaryIO) -> bool:
    """Whether the event loop can watch ``stream``: a pipe, a socket or a terminal. Other
    character devices cannot be polled (epoll refuses /dev/null: asyncio then raises, and
    uvloop aborts the whole process with SIGABRT), nor can regular files."""
    mode = os.fstat(stream.fileno()).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stream.isatty()


async def _stdio(server: SidecarServer) -> int:
    loop = asyncio.get_running_loop()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    if _pollable(stdin):
        stream = asyncio.StreamReader(limit=256 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
        reader: FrameReader = stream
    else:  # a file or /dev/null (a service manager, nohup, CI): pygls' threaded reader
        reader = StdinAsyncReader(stdin, server.thread_pool)
    if _pollable(stdout):
        transport, _ = await loop.connect_write_pipe(asyncio.Protocol, stdout)
        writer: Writer = _PipeWriter(transport)  # type: ignore[arg-type]
    else:
        writer = StdoutWriter(stdout)
    return await serve_streams(server, reader, writer)


def _run(main: Coroutine[object, None, T]) -> T:
    """Run on uvloop where it is installed (about half the event loop's cost per message on
    the forwarding path), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def serve_stdio(server: SidecarServer) -> int | None:
    """Serve the editor on stdin/stdout until stdin ends; return how many frames it sent (None
    when interrupted). The end of stdin is the editor gone: the process then ends with 0. The
    `exit` notification ends it too, with 1 when no `shutdown` came first (LSP's rule): that
    SystemExit is not suppressed here."""
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        return _run(_stdio(server))
    return None


def serve_tcp(server: SidecarServer, host: str, port: int) -> None:
    async def main() -> None:
        done = asyncio.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await serve_streams(server, reader, _PipeWriter(writer.transport))  # type: ignore[arg-type]
            done.set()

        srv = await asyncio.start_server(connection, host, port, limit=256 * 1024 * 1024)
        log.info("listening on %s:%s", host, port)
        async with srv:
            await done.wait()

    with contextlib.suppress(KeyboardInterrupt):
        _run(main())
