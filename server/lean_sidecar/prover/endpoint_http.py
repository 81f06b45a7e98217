"""HTTP-level failures of an endpoint, mapped to a `FailureKind` and a short safe detail.

Kept apart from the client so that the mapping (which status means what, which transport error
is a stall) reads as one table. An error body is read only up to `ERROR_BODY_BYTES`, quoted
after redaction and cutting, and then dropped: raw bodies are never stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from lean_sidecar.prover.endpoint_errors import FailureKind, Redactor, cut

ERROR_BODY_BYTES = 8192  # read at most this much of an error answer, to quote a line of it


def transport_failure(exc: httpx.HTTPError, stall_timeout: float) -> tuple[FailureKind, str]:
    """The kind and detail of a failure below HTTP (connection, timeouts, early close)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.UnsupportedProtocol):
        return FailureKind.UNREACHABLE, f"cannot connect ({name})"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return FailureKind.STALLED, f"sent nothing for {stall_timeout:g} s"
    if isinstance(exc, httpx.PoolTimeout):
        return FailureKind.TIMEOUT, "no free connection in time"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return FailureKind.TRUNCATED, f"connection closed early ({name})"
    return FailureKind.UNREACHABLE, f"HTTP failure ({name})"


async def status_failure(
    r: httpx.Response, what: str, redact: Redactor
) -> tuple[FailureKind, str, float | None]:
    """Kind, detail (quoting a cut, redacted line of the body) and Retry-After of a non-200."""
    try:
        raw, over = await read_capped(r.aiter_bytes(), ERROR_BODY_BYTES)
    except httpx.HTTPError:
        raw, over = b"", False
    text = raw.decode("utf-8", "replace")
    if over:  # the cut may split the key: drop what could hold a part of it
        text = text[: max(0, len(text) - redact.longest)]
    status = r.status_code
    detail = f"{what} answered HTTP {status}"
    quoted = cut(error_message(text), redact)
    if quoted:
        detail += f": {quoted}"
    after = retry_after(r.headers.get("retry-after"))
    if status in (401, 403):
        return FailureKind.UNAUTHORIZED, detail, None
    if status == 429:
        return FailureKind.RATE_LIMITED, detail, after
    if status >= 500:
        return FailureKind.SERVER_ERROR, detail, after
    return FailureKind.REJECTED, detail, None


def error_message(text: str) -> str:
    """The ``message`` of an OpenAI/vLLM error object, or the text itself."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    return text


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without ``user:password@`` and those credentials (sent as basic auth instead),
    so that no log line (ours or httpx's, which prints request URLs whole) can show them."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


async def read_capped(chunks: AsyncIterator[bytes], cap: int) -> tuple[bytes, bool]:
    """At most ``cap`` bytes of a body, and whether there was more (the rest is not read)."""
    got = bytearray()
    async for data in chunks:
        got += data
        if len(got) > cap:
            return bytes(got[:cap]), True
    return bytes(got), False
