"""An async client for vLLM's OpenAI-compatible server.

Several endpoints may be configured; the first healthy one (``GET /v1/models``) is used. ``n``
samples go in one request so vLLM shares the prompt's prefix. Cancelling the awaiting task
closes the HTTP stream, which makes vLLM abort the generation (its handlers watch for the
client's disconnect). The API key travels only in the Authorization header and is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

if TYPE_CHECKING:
    from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({500, 502, 503, 504})


class EndpointError(Exception):
    """No endpoint produced an answer; the message is safe to show (no secrets)."""


@dataclass
class GenerationRequest:
    kind: Literal["chat", "completion"]
    model: str | None
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    messages: list[dict[str, str]] = field(default_factory=list)
    prompt: str = ""
    stop: list[str] = field(default_factory=list)
    stream: bool = True

    def body(self, model: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "n": self.n,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "stream": self.stream,
        }
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        if self.stop:
            body["stop"] = self.stop
        if self.kind == "chat":
            body["messages"] = self.messages
        else:
            body["prompt"] = self.prompt
        return body


@dataclass
class Sample:
    text: str
    reasoning: str = ""
    finish_reason: str | None = None


@dataclass
class Generation:
    samples: list[Sample]
    completion_tokens: int = 0
    seconds: float = 0.0
    endpoint: str = ""


class EndpointClient:
    def __init__(
        self,
        urls: list[str],
        api_key: str | None = None,
        timeout: float = 300.0,
        max_retries: int = 2,
        concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not urls:
            raise ValueError("no endpoint configured")
        self.urls = [u.rstrip("/") for u in urls]
        self.timeout = timeout
        self.max_retries = max_retries
        self._api_key = api_key
        self._semaphore = asyncio.Semaphore(concurrency)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(timeout, connect=10.0), transport=transport
        )
        self._healthy: str | None = None
        self._models: dict[str, list[str]] = {}
        self.requests_sent = 0
        self.tokens_generated = 0

    async def close(self) -> None:
        await self._http.aclose()

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    @staticmethod
    def _base(url: str) -> str:
        return url if url.endswith("/v1") else f"{url}/v1"

    async def check(self, url: str) -> list[str]:
        """Health check: the served model names, or EndpointError."""
        try:
            r = await self._http.get(f"{self._base(url)}/models", timeout=10.0)
        except httpx.HTTPError as exc:
            raise EndpointError(f"{url}: unreachable ({type(exc).__name__})") from None
        if r.status_code != 200:
            raise EndpointError(f"{url}: /v1/models answered HTTP {r.status_code}")
        try:
            models = [str(m["id"]) for m in r.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EndpointError(f"{url}: /v1/models is not an OpenAI model list") from None
        self._models[url] = models
        return models

    async def healthy(self) -> str:
        if self._healthy is not None:
            return self._healthy
        problems = []
        for url in self.urls:
            try:
                await self.check(url)
            except EndpointError as exc:
                problems.append(str(exc))
                continue
            self._healthy = url
            return url
        raise EndpointError("no healthy endpoint: " + "; ".join(problems))

    async def generate(self, request: GenerationRequest) -> Generation:
        async with self._semaphore:
            return await asyncio.wait_for(self._generate(request), self.timeout)

    async def _generate(self, request: GenerationRequest) -> Generation:
        last: str = "no attempt"
        tried: set[str] = set()
        while True:
            url = await self.healthy()
            tried.add(url)
            for attempt in range(self.max_retries + 1):
                try:
                    return await self._once(url, request)
                except _Retryable as exc:
                    last = str(exc)
                    log.info("endpoint %s: %s (attempt %d)", url, last, attempt + 1)
                    if attempt < self.max_retries:
                        await asyncio.sleep(min(8.0, 0.25 * 2**attempt))
            self._healthy = None
            remaining = [u for u in self.urls if u not in tried]
            if not remaining:
                raise EndpointError(f"every endpoint failed; last error: {last}")
            self.urls = remaining + [u for u in self.urls if u in tried]

    async def _once(self, url: str, request: GenerationRequest) -> Generation:
        served = self._models.get(url) or []
        model = request.model or (served[0] if served else None)
        if model is None:
            raise EndpointError(f"{url} serves no model")
        path = "chat/completions" if request.kind == "chat" else "completions"
        body = request.body(model)
        t0 = time.perf_counter()
        self.requests_sent += 1
        try:
            if request.stream:
                gen = await self._stream(f"{self._base(url)}/{path}", body, request)
            else:
                r = await self._http.post(f"{self._base(url)}/{path}", json=body)
                self._raise_for_status(r.status_code, r.text)
                gen = _parse_full(r.json(), request.kind)
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.RemoteProtocolError,
            httpx.ReadError,
        ) as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        except httpx.ReadTimeout:
            raise EndpointError(f"{url}: no answer within {self.timeout:g} s") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise EndpointError(
                f"{url}: malformed answer ({type(exc).__name__}: {self._redact(str(exc))[:200]})"
            ) from None
        gen.seconds = time.perf_counter() - t0
        gen.endpoint = url
        self.tokens_generated += gen.completion_tokens
        return gen

    def _raise_for_status(self, status: int, text: str) -> None:
        if status in RETRY_STATUS:
            raise _Retryable(f"HTTP {status}")
        if status != 200:
            raise EndpointError(f"HTTP {status}: {self._redact(text)[:300]}")

    async def _stream(
        self, url: str, body: dict[str, Any], request: GenerationRequest
    ) -> Generation:
        texts: dict[int, list[str]] = {}
        reasoning: dict[int, list[str]] = {}
        finish: dict[int, str | None] = {}
        tokens = 0
        done = False
        async with self._http.stream("POST", url, json=body) as r:
            if r.status_code != 200:
                await r.aread()
                self._raise_for_status(r.status_code, r.text)
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                chunk = json.loads(data)
                if chunk.get("usage"):
                    tokens = int(chunk["usage"].get("completion_tokens") or tokens)
                for choice in chunk.get("choices") or []:
                    i = int(choice.get("index", 0))
                    if request.kind == "chat":
                        delta = choice.get("delta") or {}
                        texts.setdefault(i, []).append(delta.get("content") or "")
                        reasoning.setdefault(i, []).append(
                            delta.get("reasoning") or delta.get("reasoning_content") or ""
                        )
                    else:
                        texts.setdefault(i, []).append(choice.get("text") or "")
                    if choice.get("finish_reason"):
                        finish[i] = choice["finish_reason"]
        if not done:
            raise _Retryable("stream ended before [DONE] (truncated)")
        samples = [
            Sample("".join(texts[i]), "".join(reasoning.get(i, [])), finish.get(i))
            for i in sorted(texts)
        ]
        return Generation(samples, tokens)


def client_from(settings: Settings) -> EndpointClient | None:
    """The endpoint client the settings describe, or ``None`` when no endpoint is configured."""
    if not settings.endpoints:
        return None
    key = settings.api_key.get_secret_value() if settings.api_key else None
    return EndpointClient(
        settings.endpoints,
        key,
        settings.request_timeout,
        settings.max_retries,
        settings.endpoint_concurrency,
    )


class _Retryable(Exception):
    pass


def _parse_full(data: dict[str, Any], kind: str) -> Generation:
    samples = []
    for choice in sorted(data["choices"], key=lambda c: c.get("index", 0)):
        if kind == "chat":
            msg = choice["message"]
            samples.append(
                Sample(
                    msg.get("content") or "",
                    msg.get("reasoning") or msg.get("reasoning_content") or "",
                    choice.get("finish_reason"),
                )
            )
        else:
            samples.append(Sample(choice["text"], "", choice.get("finish_reason")))
    tokens = int((data.get("usage") or {}).get("completion_tokens") or 0)
    return Generation(samples, tokens)
