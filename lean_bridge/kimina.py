"""One Kimina Lean Server, over its documented REST API (httpx, no SDK).

Kimina Lean Server (github.com/project-numina/kimina-lean-server) runs pools of Lean REPLs
behind FastAPI. What this client uses of it, from its source:

- ``POST /api/check`` (``server/routers/check.py``) with a ``CheckRequest``
  (``client/kimina_client/models.py``): ``{"snippets": [{"id", "code"}], "timeout": <int s>,
  "debug": false, "reuse": true, "infotree": "full" | null}``; the answer ``{"results":
  [{"id", "time", "error"?, "response"?}]}``, where ``response`` is the REPL's own answer
  (``messages``, ``sorries``, ``infotree``) or its error ``{"message"}``, and ``error`` a server
  error such as ``"Lean REPL command timed out in 60.0 seconds"``; 429 "No available REPLs"
  when every REPL stayed busy for its ``max_wait``; 500 when a REPL failed.
- ``GET /health`` (``server/routers/health.py``): ``{"status": "ok"}``.
- the key (``server/auth.py``): ``Authorization: Bearer <key>`` (with ``LEAN_SERVER_API_KEY``
  set on the server; 401 otherwise).

The ``kimina-client`` package (PyPI 0.2.1, the same source's ``client/``) is not used: it
requires ``datasets``, ``pip``, ``requests``, ``loguru`` and ``tenacity``; importing it
re-initialises colorama and adds a handler that logs to stdout (the language server's channel);
its retries (tenacity, 3 tries, then ``RuntimeError``) hide which failure happened; its request
``timeout`` is an int and its answer's ``response`` an untyped dict. Its two calls are a few
lines of httpx here, with failures typed (``ServerFault``) and the key redacted.

The key travels only in the ``Authorization`` header; it is never in a URL, a log line or an
error (``redact``); a URL is shown without its user, password, query or fragment.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import orjson

from lean_bridge.json_types import Json, JsonObject

#: the most a server's answer may be (a full info tree of a long proof is a few MB)
MAX_ANSWER_BYTES = 64 * 1024 * 1024
#: Kimina waits this long for a free REPL before its 429 (``LEAN_SERVER_MAX_WAIT``'s default)
SERVER_MAX_WAIT = 60.0

FaultKind = Literal[
    "unreachable",  # no connection, or it broke: the server is down (or going)
    "timeout",  # no answer within the HTTP time limit
    "busy",  # 429: every REPL of the server is busy
    "failed",  # 5xx: the server (or its REPL) failed on this request
    "unauthorized",  # 401/403: the key is missing or wrong
    "refused",  # another 4xx: the server will not take this request as it is
    "malformed",  # not the answer Kimina gives
]


class ServerFault(Exception):
    """A request to a verifier server that did not give an answer; ``kind`` says why."""

    def __init__(self, url: str, kind: FaultKind, detail: str) -> None:
        super().__init__(f"verifier server {url}: {detail}")
        self.url, self.kind, self.detail = url, kind, detail

    @property
    def server_down(self) -> bool:
        """The server, not the request, is at fault: its other checks go elsewhere."""
        return self.kind in ("unreachable", "timeout")


def shown_url(url: str) -> str:
    """``url`` without user, password, query or fragment (any of them may hold a secret)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", "")) or "server"
    except ValueError:
        return "server"


def redact(text: str, secret: str | None) -> str:
    """``text`` with the key (as it is, URL-quoted or JSON-escaped) replaced by ``***``."""
    if not secret:
        return text
    for form in {secret, quote(secret, safe=""), orjson.dumps(secret).decode()[1:-1]}:
        if form:
            text = text.replace(form, "***")
    return text


@dataclass(frozen=True)
class Answer:
    """One snippet's result: the REPL's ``response`` (an object), or the server's ``error``."""

    response: JsonObject | None
    error: str | None
    seconds: float


class KiminaServer:
    """One server's two routes; one HTTP client with ``concurrency`` connections."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {shown_url(url)}")
        if parts.username or parts.password:
            raise ValueError(
                f"{shown_url(url)}: put the key in verifierApiKey, not in the URL "
                "(Kimina reads it from the Authorization header)"
            )
        self.url = url.rstrip("/")
        self.shown = shown_url(url)
        self.concurrency = concurrency
        self._key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            headers=headers,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"KiminaServer({self.shown!r})"

    async def close(self) -> None:
        await self._http.aclose()

    def _fault(self, kind: FaultKind, detail: str) -> ServerFault:
        return ServerFault(self.shown, kind, redact(detail, self._key)[:400])

    async def health(self, timeout: float = 5.0) -> None:
        """``GET /health`` answers ``{"status": "ok"}``, or ``ServerFault``."""
        body = await self._request("GET", "/health", None, timeout)
        if not isinstance(body, dict) or body.get("status") != "ok":
            raise self._fault("malformed", '/health did not answer {"status": "ok"}')

    async def check(self, code: str, timeout: float, infotree: bool) -> Answer:
        """One snippet through ``POST /api/check``; Lean gets ``timeout`` seconds (Kimina takes
        whole seconds: rounded up) for the header and again for the body."""
        seconds = max(1, math.ceil(timeout))
        sid = uuid.uuid4().hex
        payload: JsonObject = {
            "snippets": [{"id": sid, "code": code}],
            "timeout": seconds,
            "debug": False,
            "reuse": True,
            "infotree": "full" if infotree else None,
        }
        # a REPL may be waited for (max_wait), then the header and the body each get `seconds`
        limit = SERVER_MAX_WAIT + 2 * seconds + 30
        body = await self._request("POST", "/api/check", payload, limit)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], dict):
            raise self._fault("malformed", "/api/check did not answer one result")
        result = results[0]
        if result.get("id") != sid:
            raise self._fault("malformed", "/api/check answered for another snippet")
        error, response, took = result.get("error"), result.get("response"), result.get("time")
        seconds_taken = float(took) if isinstance(took, (int, float)) else 0.0
        if error is not None:
            return Answer(None, redact(str(error), self._key)[:2000], seconds_taken)
        if not isinstance(response, dict):
            raise self._fault("malformed", "/api/check answered neither a response nor an error")
        return Answer(response, None, seconds_taken)

    async def _request(
        self, method: str, path: str, payload: JsonObject | None, timeout: float
    ) -> Json:
        try:
            async with self._http.stream(
                method,
                self.url + path,
                content=orjson.dumps(payload) if payload is not None else None,
                headers={"Content-Type": "application/json"} if payload is not None else None,
                timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            ) as r:
                data = bytearray()
                async for chunk in r.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_ANSWER_BYTES:
                        raise self._fault(
                            "malformed", f"{path} answered more than {MAX_ANSWER_BYTES} bytes"
                        )
                status = r.status_code
        except httpx.TimeoutException:
            raise self._fault("timeout", f"no answer from {path} within {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise self._fault("unreachable", f"{type(exc).__name__}: {exc}") from None
        if status != 200:
            raise self._status_fault(status, path, bytes(data))
        try:
            parsed: Json = orjson.loads(bytes(data))
        except orjson.JSONDecodeError:
            raise self._fault("malformed", f"{path} answered something that is not JSON") from None
        return parsed

    def _status_fault(self, status: int, path: str, data: bytes) -> ServerFault:
        detail = ""
        try:
            body = orjson.loads(data)
            if isinstance(body, dict) and body.get("detail") is not None:
                detail = str(body["detail"])
        except orjson.JSONDecodeError:
            pass
        said = f"HTTP {status} from {path}" + (f": {detail[:200]}" if detail else "")
        if status in (401, 403):
            return self._fault(
                "unauthorized",
                said + " (set verifierApiKey to the server's LEAN_SERVER_API_KEY)",
            )
        if status == 429:
            return self._fault("busy", said)
        if status == 404:
            return self._fault(
                "refused",
                said + " (not a Kimina Lean Server 2.x, whose routes are /api/check and /health)",
            )
        if status >= 500:
            return self._fault("failed", said)
        return self._fault("refused", said)
