"""Serving over stdio or TCP with asyncio streams (no thread hop per line, unlike pygls'
default stdin reader), so the proxy adds as little latency as it can."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
import threading
from typing import Any

from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async

from lean_sidecar.lsp.app import SidecarServer

log = logging.getLogger(__name__)


class _PipeWriter:
    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._transport.close()


async def serve_streams(server: SidecarServer, reader: Any, writer: Any) -> None:
    """Serve one editor connection until its reader ends, then stop Lean's server."""
    server._stop_event = threading.Event()
    server.protocol.set_writer(writer)
    try:
        await run_async(
            stop_event=server._stop_event,
            reader=reader,
            protocol=server.protocol,
            logger=log,
            error_handler=server.report_server_error,
        )
    finally:
        if server.lean is not None:
            await server.lean.stop()


def _pipe_like(stream: Any) -> bool:
    mode = os.fstat(stream.fileno()).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


async def _stdio(server: SidecarServer) -> None:
    loop = asyncio.get_running_loop()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    if _pipe_like(stdin):
        reader: Any = asyncio.StreamReader(limit=256 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    else:  # a regular file (asyncio's pipe transports refuse those): pygls' threaded reader
        reader = StdinAsyncReader(stdin, server.thread_pool)
    if _pipe_like(stdout):
        transport, _ = await loop.connect_write_pipe(asyncio.Protocol, stdout)
        writer: Any = _PipeWriter(transport)  # type: ignore[arg-type]
    else:
        writer = StdoutWriter(stdout)
    await serve_streams(server, reader, writer)


def serve_stdio(server: SidecarServer) -> None:
    with contextlib.suppress(KeyboardInterrupt, SystemExit, BrokenPipeError):
        asyncio.run(_stdio(server))


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

    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        asyncio.run(main())
