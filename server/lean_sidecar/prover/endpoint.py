"""An async client for vLLM's OpenAI-compatible server that never fails silently.

Several endpoints may be configured; the first one whose circuit is closed and whose
``GET /v1/models`` answers is used, and a failing one is skipped for ``cooldown`` seconds
(failover to the next). ``n`` samples go in one request so vLLM shares the prompt's prefix; a
server that gives fewer choices than asked (Ollama gives one, older llama.cpp refuses ``n``) has
the difference made up by further requests, each under the concurrency limit (endpoint_choices).
With ``spread`` (``endpointRouting``), requests go round-robin to the healthy endpoints instead
(replicas of one model), ``concurrency`` in flight per endpoint.
Every stream has a no-bytes timeout (``stall_timeout``) besides the total ``timeout``; 429 and
502/503/504 are retried, honouring ``Retry-After`` only within what is left of the total; answers
are capped in size while they stream. Each failure is an `EndpointError` with a stable ``kind``
(see endpoint_errors). Cancelling the awaiting task closes the HTTP stream, which makes vLLM
abort the generation. The API key travels only in the Authorization header; every encoding of it
is redacted from what we show or log, and response bodies are never stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import httpx

from lean_sidecar.prover.endpoint_choices import refused_choices, split
from lean_sidecar.prover.endpoint_errors import (
    EndpointError,
    FailureKind,
    Redactor,
    cut,
    safe_url,
)
from lean_sidecar.prover.endpoint_http import (
    read_capped,
    split_credentials,
    status_failure,
    transport_failure,
)
from lean_sidecar.prover.endpoint_stream import Accumulator, StreamFault, parse_full, read_sse
from lean_sidecar.prover.endpoint_types import Generation, GenerationRequest, Sample

if TYPE_CHECKING:
    from lean_sidecar.settings import Settings

__all__ = [
    "EndpointClient",
    "EndpointError",
    "FailureKind",
    "Generation",
    "GenerationRequest",
    "Sample",
    "client_from",
]

log = logging.getLogger(__name__)
OPEN_AT_ONCE = frozenset({FailureKind.UNREACHABLE, FailureKind.UNAUTHORIZED, FailureKind.STALLED})


class _ChoicesRefused(Exception):
    """The server refused ``n`` and said how many choices one request may ask for."""

    def __init__(self, cap: int) -> None:
        super().__init__(cap)
        self.cap = cap


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float = 0.0
    last: EndpointError | None = None


class EndpointClient:
    def __init__(
        self,
        urls: list[str],
        api_key: str | None = None,
        timeout: float = 300.0,
        max_retries: int = 2,
        concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        stall_timeout: float = 30.0,
        min_token_rate: float = 0.0,
        max_answer_bytes: int = 1_000_000,
        cooldown: float = 30.0,
        breaker_failures: int = 3,
        spread: bool = False,
    ) -> None:
        if not urls:
            raise ValueError("no endpoint configured")
        self.urls: list[str] = []
        self._auth: dict[str, httpx.BasicAuth] = {}
        passwords: list[str] = []
        for raw in urls:
            url, creds = split_credentials(raw.rstrip("/"))
            self.urls.append(url)
            if creds:
                self._auth[url] = httpx.BasicAuth(*creds)
                passwords.append(creds[1])
        self.timeout = timeout
        self.max_retries = max_retries
        self.stall_timeout = stall_timeout
        self.min_token_rate = min_token_rate
        self.max_answer_bytes = max_answer_bytes
        self.cooldown = cooldown
        self.breaker_failures = breaker_failures
        self._redact = Redactor(api_key, *passwords)
        self.spread = spread
        self._turn = 0  # where the next round-robin pick starts (spread)
        self._semaphore = asyncio.Semaphore(concurrency * (len(self.urls) if spread else 1))
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(stall_timeout, connect=min(10.0, stall_timeout), pool=timeout),
            transport=transport,
        )
        self._circuits = {u: _Circuit() for u in self.urls}
        self._models: dict[str, list[str]] = {}
        # Choices one request brings, per endpoint, where fewer than asked came back (or ``n``
        # was refused): further requests ask for at most that many.
        self._choices: dict[str, int] = {}
        self._seeds = random.Random()
        self.requests_sent = 0
        self.tokens_generated = 0

    def __repr__(self) -> str:
        return f"EndpointClient({[safe_url(u) for u in self.urls]!r})"

    async def close(self) -> None:
        await self._http.aclose()

    @staticmethod
    def _base(url: str) -> str:
        return url if url.endswith("/v1") else f"{url}/v1"

    def _error(
        self,
        url: str,
        kind: FailureKind,
        detail: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> EndpointError:
        return EndpointError(
            cut(detail, self._redact, 300),
            kind=kind,
            endpoint=safe_url(url),
            status=status,
            retry_after=retry_after,
        )

    # ---- circuit breaking ------------------------------------------------------------------
    def _is_open(self, url: str) -> bool:
        return self._circuits[url].open_until > time.monotonic()

    def _failed(self, url: str, err: EndpointError) -> None:
        c = self._circuits[url]
        c.failures += 1
        c.last = err
        if err.kind in OPEN_AT_ONCE or c.failures >= self.breaker_failures:
            c.open_until = time.monotonic() + self.cooldown
            self._models.pop(url, None)
            self._choices.pop(url, None)  # it may come back as another server
            log.warning(
                "endpoint %s: %s; skipped for %g s", err.endpoint, err.kind.value, self.cooldown
            )

    def _succeeded(self, url: str) -> None:
        self._circuits[url] = _Circuit()

    def _open_error(self, url: str) -> EndpointError:
        c = self._circuits[url]
        left = max(0.0, c.open_until - time.monotonic())
        kind = c.last.kind if c.last else FailureKind.UNKNOWN
        detail = c.last.detail if c.last else "failing"
        return self._error(url, kind, f"{detail} (not retried for another {left:.0f} s)")

    @staticmethod
    def _combined(errors: list[EndpointError]) -> EndpointError:
        main = errors[0]
        main.others = errors[1:]
        return main

    # ---- health ------------------------------------------------------------------------------
    async def check(self, url: str) -> list[str]:
        """Health check: the served model names, or EndpointError (with its kind)."""
        try:
            auth = self._auth.get(url.rstrip("/"), httpx.USE_CLIENT_DEFAULT)
            async with self._http.stream("GET", f"{self._base(url)}/models", auth=auth) as r:
                if r.status_code != 200:
                    raise await self._status_error(url, r, "/v1/models")
                body, _ = await read_capped(r.aiter_bytes(), 4 * 1024 * 1024)
        except httpx.HTTPError as exc:
            raise self._transport_error(url, exc) from None
        try:
            models = [str(m["id"]) for m in json.loads(body).get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise self._error(
                url, FailureKind.MALFORMED, "/v1/models is not an OpenAI model list"
            ) from None
        self._models[url] = models
        return models

    async def healthy(self) -> str:
        """The first endpoint with a closed circuit that answers ``/v1/models``."""
        return await self._pick(set(), [])

    async def _pick(self, tried: set[str], errors: list[EndpointError]) -> str:
        """The next endpoint to use, skipping ``tried`` and open circuits; when none is left,
        raise the first failure (the preferred endpoint's) with the others attached. Spread:
        each first pick starts one endpoint further (round-robin)."""
        order = self.urls
        if self.spread and not tried:
            k = self._turn % len(self.urls)
            self._turn += 1
            order = self.urls[k:] + self.urls[:k]
        for url in order:
            if url in tried:
                continue
            tried.add(url)
            if self._is_open(url):
                errors.append(self._open_error(url))
                continue
            if url in self._models:
                return url
            try:
                await self.check(url)
            except EndpointError as exc:
                self._failed(url, exc)
                errors.append(exc)
                continue
            return url
        raise self._combined(errors).noted("(no healthy endpoint left)")

    # ---- generation --------------------------------------------------------------------------
    async def generate(self, request: GenerationRequest) -> Generation:
        """``request.n`` samples, never more. One request where the server honours ``n``
        (vLLM); where it gives fewer choices, further requests make up the difference."""
        per = self._choices_hint(request.n)
        if per >= request.n:
            first = await self._bounded(request)
            if len(first.samples) >= request.n:
                return first
            return await self._make_up(request, first)
        return await self._make_up(request, None)

    async def _bounded(self, request: GenerationRequest) -> Generation:
        """One request (with its retries and failover) under the concurrency limit and the
        total timeout."""
        async with self._semaphore:
            try:
                return await asyncio.wait_for(self._generate(request), self.timeout)
            except asyncio.TimeoutError:
                url = next((u for u in self.urls if not self._is_open(u)), self.urls[0])
                raise self._error(
                    url, FailureKind.TIMEOUT, f"no complete answer within {self.timeout:g} s"
                ) from None

    def _choices_hint(self, wanted: int) -> int:
        """How many choices one request is likely to bring: what the endpoint that would be
        used has shown, else all of them."""
        url = next((u for u in self.urls if not self._is_open(u)), None)
        return min(wanted, self._choices.get(url, wanted)) if url else wanted

    async def _make_up(self, request: GenerationRequest, first: Generation | None) -> Generation:
        """Collect ``request.n`` samples from requests of as many choices as the server gives,
        run at once under the concurrency limit. Each round adds a sample or ends: a failed
        request stops the making up (the samples so far are returned, with the failure as
        ``shortfall``); when nothing came at all, the failure is raised as it would be for one
        request. Cancelling closes every stream at once."""
        got = [first] if first is not None else []
        have = sum(len(g.samples) for g in got)
        errors: list[EndpointError] = []
        while have < request.n and not errors:
            missing = request.n - have
            subs = [
                replace(request, n=k, seed=self._seeds.randrange(2**31))
                for k in split(missing, self._choices_hint(missing))
            ]
            log.info("asking %d more request(s) for %d missing sample(s)", len(subs), missing)
            outcomes = await self._all(subs)
            added = 0
            for out in outcomes:
                if isinstance(out, EndpointError):
                    errors.append(out)
                elif isinstance(out, BaseException):
                    raise out
                else:
                    got.append(out)
                    added += len(out.samples)
            have += added
            if added == 0 and not errors:  # cannot happen (no choice is an error): be safe
                break
        if not got:
            raise self._combined(errors)
        samples = [s for g in got for s in g.samples][: request.n]
        gen = Generation(
            samples,
            sum(g.completion_tokens for g in got),
            sum(g.seconds for g in got),
            got[0].endpoint,
        )
        if len(samples) < request.n:
            gen.shortfall = self._combined(errors) if errors else None
            log.warning(
                "%d of %d samples: %s",
                len(samples),
                request.n,
                gen.shortfall.user_message if gen.shortfall else "the server gave no more",
            )
        return gen

    async def _all(self, subs: list[GenerationRequest]) -> list[Generation | BaseException]:
        """Every request at once (each waits for its place under the concurrency limit); when
        the caller is cancelled, every one of them is cancelled and has closed its stream
        before the cancellation goes on."""
        tasks = [asyncio.ensure_future(self._bounded(sub)) for sub in subs]
        try:
            return list(await asyncio.gather(*tasks, return_exceptions=True))
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            raise

    async def _generate(self, request: GenerationRequest) -> Generation:
        deadline = time.monotonic() + self.timeout
        errors: list[EndpointError] = []
        tried: set[str] = set()
        while True:
            url = await self._pick(tried, errors)
            attempt = 0
            while True:
                try:
                    gen = await self._once(url, request)
                except EndpointError as exc:
                    if exc.kind is FailureKind.OVERSIZED:
                        raise  # the model's answer, not the endpoint: no retry, no failover
                    log.info("endpoint %s: %s (try %d)", exc.endpoint, exc.kind.value, attempt + 1)
                    wait = self._retry_wait(exc, attempt, deadline)
                    if wait is None:
                        self._failed(url, exc)
                        errors.append(exc)
                        break  # fail over to the next endpoint
                    await asyncio.sleep(wait)
                    attempt += 1
                    continue
                self._succeeded(url)
                return gen

    def _retry_wait(self, exc: EndpointError, attempt: int, deadline: float) -> float | None:
        """Seconds to wait before retrying on the same endpoint, or None to give up on it."""
        if not exc.retryable or attempt >= self.max_retries:
            return None
        wait = exc.retry_after if exc.retry_after is not None else min(8.0, 0.25 * 2**attempt)
        left = deadline - time.monotonic()
        if wait >= left - 0.5:
            exc.detail += f" (Retry-After {wait:g} s is past the remaining {max(left, 0):.0f} s)"
            return None
        return wait

    async def _once(self, url: str, request: GenerationRequest) -> Generation:
        served = self._models.get(url) or []
        model = request.model or (served[0] if served else None)
        if model is None:
            raise self._error(url, FailureKind.NO_MODEL, "serves no model")
        n = min(request.n, self._choices.get(url, request.n))
        while True:
            try:
                gen = await self._post(url, request, model, n)
            except _ChoicesRefused as refused:  # a known answer, not a failure: ask fewer
                log.info(
                    "endpoint %s takes at most %d choice(s) per request", safe_url(url), refused.cap
                )
                self._choices[url] = n = refused.cap
                continue
            if len(gen.samples) < n:
                self._choices[url] = len(gen.samples)  # e.g. Ollama: one, whatever `n` says
            return gen

    async def _post(self, url: str, request: GenerationRequest, model: str, n: int) -> Generation:
        path = "chat/completions" if request.kind == "chat" else "completions"
        acc = Accumulator(request.kind, n, self.max_answer_bytes)
        body = request.body(model)
        body["n"] = n
        t0 = time.perf_counter()
        self.requests_sent += 1
        try:
            async with self._http.stream(
                "POST",
                f"{self._base(url)}/{path}",
                json=body,
                auth=self._auth.get(url, httpx.USE_CLIENT_DEFAULT),
                # a whole (non-streamed) answer sends nothing until it is done: only the total
                timeout=httpx.USE_CLIENT_DEFAULT if request.stream else self.timeout,
            ) as r:
                if r.status_code != 200:
                    err = await self._status_error(url, r, path)
                    cap = refused_choices(err.detail)
                    if cap is not None and cap < n:
                        raise _ChoicesRefused(cap)
                    raise err
                if request.stream:
                    await read_sse(
                        r.aiter_bytes(),
                        acc,
                        self.stall_timeout,
                        time.monotonic,
                        self.min_token_rate,
                    )
                else:
                    cap_bytes = (self.max_answer_bytes + 65536) * n
                    data, over = await read_capped(r.aiter_bytes(), cap_bytes)
                    if over:
                        raise StreamFault(
                            FailureKind.OVERSIZED, f"the answer passed {cap_bytes} bytes"
                        )
                    parse_full(data, acc)
        except StreamFault as fault:
            raise self._error(url, fault.kind, fault.detail) from None
        except httpx.HTTPError as exc:
            raise self._transport_error(url, exc) from None
        samples = [
            Sample("".join(acc.texts[i]), "".join(acc.reasoning.get(i, [])), acc.finish.get(i))
            for i in sorted(acc.texts)
        ]
        gen = Generation(samples, acc.tokens, time.perf_counter() - t0, url)
        self.tokens_generated += gen.completion_tokens
        return gen

    def _transport_error(self, url: str, exc: httpx.HTTPError) -> EndpointError:
        kind, detail = transport_failure(exc, self.stall_timeout)
        return self._error(url, kind, detail)

    async def _status_error(self, url: str, r: httpx.Response, what: str) -> EndpointError:
        kind, detail, retry_after = await status_failure(r, what, self._redact)
        return self._error(url, kind, detail, status=r.status_code, retry_after=retry_after)


def client_from(settings: Settings, *, batch: bool = False) -> EndpointClient | None:
    """The endpoint client the settings describe, or ``None`` when no endpoint is configured.
    ``batch`` (``eval``): requests are spread over the endpoints when ``endpointRouting`` is
    ``auto``."""
    if not settings.endpoints:
        return None
    key = settings.api_key.get_secret_value() if settings.api_key else None
    return EndpointClient(
        settings.endpoints,
        key,
        settings.request_timeout,
        settings.max_retries,
        settings.endpoint_concurrency,
        stall_timeout=settings.stall_timeout,
        min_token_rate=settings.min_token_rate,
        max_answer_bytes=settings.max_answer_bytes,
        cooldown=settings.endpoint_cooldown,
        spread=settings.endpoint_routing == "spread"
        or (settings.endpoint_routing == "auto" and batch),
    )
