"""Serving over stdio or TCP with asyncio streams (no thread hop per line, unlike pygls'
default stdin reader), so the proxy adds as little latency as it can."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from typing import TYPE_CHECKING

from pygls.io_ import run_async

if TYPE_CHECKING:
    from .app import SidecarServer

log = logging.getLogger(__name__)


class _PipeWriter:
    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._transport.close()


async def _serve(
    server: SidecarServer, reader: asyncio.StreamReader, writer: asyncio.WriteTransport
) -> None:
    server._stop_event = threading.Event()
    server.protocol.set_writer(_PipeWriter(writer))
    try:
        await run_async(
            stop_event=server._stop_event,
            reader=reader,
            protocol=server.protocol,
            logger=log,
            error_handler=server.report_server_error,
        )
    finally:
        await server.proxy.stop()


async def _stdio(server: SidecarServer) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=256 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout.buffer)
    await _serve(server, reader, transport)


def serve_stdio(server: SidecarServer) -> None:
    with contextlib.suppress(KeyboardInterrupt, SystemExit, BrokenPipeError):
        asyncio.run(_stdio(server))


def serve_tcp(server: SidecarServer, host: str, port: int) -> None:
    async def main() -> None:
        done = asyncio.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _serve(server, reader, writer.transport)  # type: ignore[arg-type]
            done.set()

        srv = await asyncio.start_server(connection, host, port, limit=256 * 1024 * 1024)
        log.info("listening on %s:%s", host, port)
        async with srv:
            await done.wait()

    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        asyncio.run(main())
