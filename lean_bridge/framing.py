"""Content-Length framed JSON messages over asyncio streams, kept as raw dicts.

Lean's messages carry extension fields (``fullRange``, ``leanTags``, ``isIncremental``…) that
lsprotocol's converters drop, so the bridge never structures them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

Message = dict[str, Any]


class FramingError(Exception):
    """The peer sent bytes that are not a valid frame; the stream cannot be trusted further."""


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """Read one framed message; ``None`` at end of stream."""
    length: int | None = None
    while True:
        line = await reader.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            if length is None:
                continue  # stray blank line between frames
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            try:
                length = int(value.strip())
            except ValueError as exc:
                raise FramingError(f"bad Content-Length header: {line!r}") from exc
    body = await reader.readexactly(length)
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise FramingError(f"invalid JSON body ({len(body)} bytes)") from exc
    if not isinstance(message, dict):
        raise FramingError("message is not a JSON object")
    return message


def encode_message(message: Message) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
