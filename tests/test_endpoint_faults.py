"""Fault injection: the real endpoint client (httpx) against each fault mode of the stand-in.

Each case asserts the user-visible outcome (a typed `EndpointError` naming the endpoint, or an
answer), the time it took (generous bounds: the test machine is busy), and that no HTTP
connection is left open, counted on both sides: the stand-in's own handlers still running, and
this process's TCP sockets to the stand-in that are ESTABLISHED or CLOSE_WAIT (a socket the
server closed but the client never did). The counts are printed (`pytest -s`).

`stall_timeout` is set to 2 s here (default 30 s) so that the stall cases take seconds; every
other setting is the default.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lean_sidecar.prover.endpoint import (
    EndpointClient,
    EndpointError,
    FailureKind,
    GenerationRequest,
)
from tests.standins.openai_endpoint import StandInEndpoint

STALL = 2.0
MIN_RATE = 4.0  # tokens/s: above the trickle case's ~2, far below every other case's
SLACK = 3.0  # what a busy 2-core machine may add
PROOF = "```lean4\ntheorem t : 1 = 1 := by\n  rfl\n```"
LONG = PROOF * 20
BIG = 20_000_000  # bytes of the oversized answer (the default cap is 1 MB)


def chat(n: int = 2, stream: bool = True) -> GenerationRequest:
    messages = [{"role": "user", "content": "theorem t"}]
    return GenerationRequest("chat", None, n, 0.6, 0.95, 512, messages=messages, stream=stream)


def client_sockets(port: int) -> int:
    """This machine's client-side TCP sockets to ``port`` that are still open
    (ESTABLISHED or CLOSE_WAIT), from /proc/net/tcp; -1 where that file does not exist."""
    table = Path("/proc/net/tcp")
    if not table.exists():
        return -1
    count = 0
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] in ("01", "08"):
            count += 1
    return count


async def open_connections(ep: StandInEndpoint, within: float) -> tuple[int, int]:
    """(server side, client side) open connections once they settle, waiting at most ``within``."""
    end = time.monotonic() + within
    while True:
        counts = (ep.open_connections, max(0, client_sockets(ep.port)))
        if counts == (0, 0) or time.monotonic() > end:
            return counts
        await asyncio.sleep(0.02)


@pytest.fixture
async def endpoint() -> AsyncIterator[StandInEndpoint]:
    ep = StandInEndpoint()
    ep.url = await ep.start()  # type: ignore[attr-defined]
    yield ep
    await ep.stop()


# mode -> (responses, streamed, expected kind (None: an answer), least s, most s, requests)
MATRIX: dict[str, tuple[list[dict[str, Any]], bool, FailureKind | None, float, float, int]] = {
    "hang": ([{"hang": True}], True, FailureKind.STALLED, STALL - 0.2, STALL + SLACK, 1),
    "no body": ([{"headers_only": True}], True, FailureKind.STALLED, STALL - 0.2, STALL + SLACK, 1),
    "half then hang": (
        [{"truncate": True, "then": "hang", "texts": [LONG]}],
        True,
        FailureKind.STALLED,
        STALL - 0.2,
        STALL + SLACK,
        1,
    ),
    "half then close": (
        [{"truncate": True, "texts": [LONG]}],
        True,
        FailureKind.TRUNCATED,
        0.0,
        SLACK,
        3,  # retried max_retries (2) times
    ),
    "drip 1 byte/s": (
        [{"drip": 1.0, "texts": [PROOF]}],
        True,
        FailureKind.STALLED,
        STALL - 0.2,
        STALL + SLACK,
        1,
    ),
    "429 Retry-After 1 then ok": (
        [{"status": 429, "retry_after": 1}, {"texts": [PROOF]}],
        True,
        None,
        0.95,  # Retry-After honoured (asyncio may wake a hair early)
        1.0 + SLACK,
        2,
    ),
    "429 Retry-After past budget": (
        [{"status": 429, "retry_after": 3600}],
        True,
        FailureKind.RATE_LIMITED,
        0.0,
        SLACK,
        1,
    ),
    "500": ([{"status": 500}], True, FailureKind.SERVER_ERROR, 0.0, SLACK, 1),
    "503 every time": ([{"status": 503}], True, FailureKind.SERVER_ERROR, 0.7, SLACK + 1, 3),
    "401": ([{"status": 401}], True, FailureKind.UNAUTHORIZED, 0.0, SLACK, 1),
    "malformed JSON": ([{"garbage": "<html>502"}], False, FailureKind.MALFORMED, 0.0, SLACK, 1),
    "malformed SSE": (
        [{"sse_garbage": 'data: {"choices": [\n\n'}],
        True,
        FailureKind.MALFORMED,
        0.0,
        SLACK,
        1,
    ),
    "error inside the stream": (
        [{"error_event": "CUDA out of memory", "texts": [LONG]}],
        True,
        FailureKind.SERVER_ERROR,
        0.0,
        SLACK,
        1,
    ),
    "oversized answer": (
        [{"texts": ["x" * BIG], "chunk_chars": 65536}],
        True,
        FailureKind.OVERSIZED,
        0.0,
        SLACK + 2,
        1,
    ),
    "missing index": (
        [{"no_index": True, "texts": [PROOF]}],
        True,
        FailureKind.MALFORMED,
        0,
        SLACK,
        1,
    ),
    "HTML page (a proxy's)": (
        [{"html": "<!DOCTYPE html><html><body>Sign in to continue</body></html>"}],
        True,
        FailureKind.MALFORMED,
        0.0,
        SLACK,
        1,
    ),
    "HTML page (whole)": (
        [{"html": "<html><head><title>502 Bad Gateway</title></head></html>"}],
        False,
        FailureKind.MALFORMED,
        0.0,
        SLACK,
        1,
    ),
    "empty choices": ([{"empty_choices": True}], True, FailureKind.MALFORMED, 0.0, SLACK, 1),
    "empty choices (whole)": (
        [{"empty_choices": True}],
        False,
        FailureKind.MALFORMED,
        0.0,
        SLACK,
        1,
    ),
    "trickle of whole lines": (
        # one 4-character piece every 0.5 s: never silent for `stall_timeout` (2 s), about 2
        # tokens/s, under a `minTokenRate` of 4 here (the default, 1, is for real servers)
        [{"texts": [LONG], "chunk_chars": 4, "chunk_delay": 0.5}],
        True,
        FailureKind.STALLED,
        STALL - 0.2,
        STALL + SLACK,
        1,
    ),
    "missing index (whole)": (
        [{"no_index": True, "texts": [PROOF]}],
        False,
        FailureKind.MALFORMED,
        0.0,
        SLACK,
        1,
    ),
}


@pytest.mark.parametrize("mode", list(MATRIX))
async def test_fault_mode(endpoint: StandInEndpoint, mode: str) -> None:
    responses, streamed, kind, least, most, requests = MATRIX[mode]
    endpoint.script = [{"match": "", "responses": responses}]
    url: str = endpoint.url  # type: ignore[attr-defined]
    client = EndpointClient(
        [url], api_key="sk-fault", stall_timeout=STALL, timeout=60.0, min_token_rate=MIN_RATE
    )
    await client.healthy()  # /v1/models outside the timing
    t0 = time.monotonic()
    outcome: EndpointError | None = None
    try:
        gen = await client.generate(chat(2, streamed))
    except EndpointError as exc:
        outcome = exc
    seconds = time.monotonic() - t0
    server, ours = await open_connections(endpoint, 1.0)
    print(
        f"\n{mode:28} -> {outcome.kind.value if outcome else 'answer':12} "
        f"{seconds:5.2f} s, open connections: server {server}, client {ours}"
    )
    if kind is None:
        assert outcome is None and [s.text for s in gen.samples] == [PROOF, PROOF]
    else:
        assert outcome is not None and outcome.kind is kind, outcome
        assert url in str(outcome), "the message names the endpoint"
        assert outcome.advice and outcome.advice in str(outcome), "and says what to do"
        assert "sk-fault" not in str(outcome) + repr(outcome)
    assert least <= seconds <= most, f"{mode}: {seconds:.2f} s"
    assert len(endpoint.generation_requests()) == requests
    assert (server, ours) == (0, 0), "a connection was left open"
    if mode.startswith("HTML page"):
        assert "HTML page" in str(outcome), "says what came back, not a cut stream"
    if mode.startswith("empty choices"):
        assert "no choices" in str(outcome)
    if mode == "trickle of whole lines":
        assert "tokens/s" in str(outcome) and "minTokenRate" in str(outcome)
    if mode == "oversized answer":
        (rec,) = endpoint.generation_requests()
        assert rec.bytes_sent < BIG, "the client stopped reading: the answer was not buffered"
    await client.close()


@pytest.mark.parametrize("mode", ["hang", "no body", "half then hang", "drip 1 byte/s"])
async def test_cancel_closes_the_stream_within_a_second(
    endpoint: StandInEndpoint, mode: str
) -> None:
    endpoint.script = [{"match": "", "responses": MATRIX[mode][0]}]
    client = EndpointClient([endpoint.url], stall_timeout=60.0)  # type: ignore[attr-defined]
    task = asyncio.ensure_future(client.generate(chat(4)))
    for _ in range(500):
        if endpoint.generation_requests():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # let the stream get under way
    assert endpoint.open_connections == 1  # the counters do see an open connection
    assert client_sockets(endpoint.port) in (1, -1)
    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    server, ours = await open_connections(endpoint, 1.0)
    seconds = time.monotonic() - t0
    print(
        f"\ncancel during {mode}: closed in {seconds:.2f} s, open: server {server}, client {ours}"
    )
    assert endpoint.generation_requests()[0].disconnected
    assert (server, ours) == (0, 0) and seconds <= 1.0
    await client.close()


async def test_failover_and_circuit_breaking(endpoint: StandInEndpoint) -> None:
    stalled = StandInEndpoint(script=[{"match": "", "responses": [{"hang": True}]}])
    bad_url = await stalled.start()
    endpoint.script = [{"match": "", "responses": [{"texts": [PROOF]}]}]
    good_url: str = endpoint.url  # type: ignore[attr-defined]
    client = EndpointClient([bad_url, good_url], stall_timeout=STALL, cooldown=30.0)
    t0 = time.monotonic()
    gen = await client.generate(chat(1))
    first = time.monotonic() - t0
    assert gen.endpoint == good_url and gen.samples[0].text == PROOF
    assert first <= STALL + SLACK
    t0 = time.monotonic()
    gen = await client.generate(chat(1))  # the stalled one is skipped while its circuit is open
    assert gen.endpoint == good_url and time.monotonic() - t0 < 1.5
    assert len(stalled.generation_requests()) == 1
    print(f"\nfailover after a stall: {first:.2f} s; open: {await open_connections(stalled, 1)}")
    assert await open_connections(stalled, 1.0) == (0, 0)
    await client.close()
    await stalled.stop()


async def test_every_endpoint_down_ends_at_once_with_each_reason() -> None:
    client = EndpointClient(["http://127.0.0.1:9", "http://user:pw@127.0.0.1:7/v1?key=pw"])
    t0 = time.monotonic()
    with pytest.raises(EndpointError) as err:
        await client.generate(chat(1))
    assert time.monotonic() - t0 < SLACK
    assert err.value.kind is FailureKind.UNREACHABLE
    text = str(err.value)
    assert "http://127.0.0.1:9" in text and "Also tried: http://127.0.0.1:7/v1: unreachable" in text
    assert "pw" not in text and "running" in text  # no credentials; what to do
    await client.close()


async def test_wrong_key_is_refused_at_the_health_check(endpoint: StandInEndpoint) -> None:
    endpoint.require_key = "sk-right"
    client = EndpointClient([endpoint.url], api_key="sk-wrong")  # type: ignore[attr-defined]
    with pytest.raises(EndpointError) as err:
        await client.generate(chat(1))
    assert err.value.kind is FailureKind.UNAUTHORIZED and "apiKey" in str(err.value)
    assert endpoint.generation_requests() == []  # no generation was attempted
    await client.close()
    good = EndpointClient([endpoint.url], api_key="sk-right")  # type: ignore[attr-defined]
    assert (await good.generate(chat(1))).samples
    await good.close()


async def test_total_timeout_is_separate_from_the_stall_timeout(endpoint: StandInEndpoint) -> None:
    # a stream that keeps making progress (a line every 0.2 s) never stalls, but the total
    # `request_timeout` still ends it, with its own reason
    slow = {"texts": [LONG], "chunk_chars": 8, "chunk_delay": 0.2}
    endpoint.script = [{"match": "", "responses": [slow]}]
    url: str = endpoint.url  # type: ignore[attr-defined]
    client = EndpointClient([url], timeout=3.0, stall_timeout=STALL)
    t0 = time.monotonic()
    with pytest.raises(EndpointError) as err:
        await client.generate(chat(1))
    seconds = time.monotonic() - t0
    server, ours = await open_connections(endpoint, 1.0)
    print(f"\nslow but alive -> {err.value.kind.value} {seconds:.2f} s, open {server}, {ours}")
    assert err.value.kind is FailureKind.TIMEOUT and "requestTimeout" in str(err.value)
    assert 3.0 <= seconds <= 3.0 + SLACK and (server, ours) == (0, 0)
    await client.close()


async def test_a_whole_answer_may_take_longer_than_the_stall_timeout(
    endpoint: StandInEndpoint,
) -> None:
    # vLLM sends a non-streamed answer only when it is complete: silence is not a stall there
    endpoint.script = [{"match": "", "responses": [{"texts": [PROOF], "delay": STALL + 1}]}]
    client = EndpointClient([endpoint.url], stall_timeout=STALL)  # type: ignore[attr-defined]
    gen = await client.generate(chat(1, stream=False))
    assert gen.samples[0].text == PROOF
    await client.close()
