"""The endpoint client against the stand-in OpenAI-compatible server (real HTTP on loopback)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from lean_sidecar.prover.endpoint import (
    EndpointClient,
    EndpointError,
    FailureKind,
    GenerationRequest,
)
from tests.standins.openai_endpoint import StandInEndpoint

PROOF = "Here is the proof.\n```lean4\ntheorem t : 1 = 1 := by\n  rfl\n```"


def chat(n: int = 2, stream: bool = True, prompt: str = "theorem t") -> GenerationRequest:
    return GenerationRequest(
        "chat",
        None,
        n,
        0.6,
        0.95,
        512,
        messages=[{"role": "user", "content": prompt}],
        stream=stream,
    )


@pytest.fixture
async def endpoint():
    ep = StandInEndpoint()
    url = await ep.start()
    ep.url = url  # type: ignore[attr-defined]
    yield ep
    await ep.stop()


@pytest.mark.parametrize("stream", [True, False])
async def test_n_samples_in_one_request_streamed_or_not(
    endpoint: StandInEndpoint, stream: bool
) -> None:
    endpoint.script = [{"match": "theorem t", "responses": [{"texts": [PROOF, "garbage"]}]}]
    client = EndpointClient([endpoint.url], api_key="sk-secret")  # type: ignore[attr-defined]
    gen = await client.generate(chat(3, stream))
    assert [s.text for s in gen.samples] == [PROOF, "garbage", PROOF]
    (req,) = endpoint.generation_requests()
    assert req.body is not None and req.body["n"] == 3 and req.body["stream"] is stream
    assert req.body["model"] == endpoint.model  # from /v1/models
    assert (
        req.body["temperature"] == 0.6
        and req.body["top_p"] == 0.95
        and req.body["max_tokens"] == 512
    )
    assert req.headers["authorization"] == "Bearer sk-secret"
    await client.close()


async def test_retries_502_503_then_succeeds(endpoint: StandInEndpoint) -> None:
    endpoint.script = [
        {"match": "", "responses": [{"status": 502}, {"status": 503}, {"texts": [PROOF]}]}
    ]
    client = EndpointClient([endpoint.url], max_retries=2)  # type: ignore[attr-defined]
    gen = await client.generate(chat(1))
    assert gen.samples[0].text == PROOF
    assert len(endpoint.generation_requests()) == 3
    await client.close()


async def test_truncated_stream_is_retried_not_trusted(endpoint: StandInEndpoint) -> None:
    endpoint.script = [
        {"match": "", "responses": [{"truncate": True, "texts": [PROOF * 3]}, {"texts": [PROOF]}]}
    ]
    client = EndpointClient([endpoint.url], max_retries=1)  # type: ignore[attr-defined]
    gen = await client.generate(chat(1))
    assert gen.samples[0].text == PROOF
    await client.close()


async def test_garbage_body_is_a_clear_error(endpoint: StandInEndpoint) -> None:
    endpoint.script = [{"match": "", "responses": [{"garbage": "<html>oops"}]}]
    client = EndpointClient([endpoint.url])  # type: ignore[attr-defined]
    with pytest.raises(EndpointError, match="not JSON") as err:
        await client.generate(chat(1, stream=False))
    assert err.value.kind is FailureKind.MALFORMED
    await client.close()


async def test_dead_endpoint_falls_over_to_the_next(endpoint: StandInEndpoint) -> None:
    endpoint.script = [{"match": "", "responses": [{"texts": [PROOF]}]}]
    client = EndpointClient(["http://127.0.0.1:9", endpoint.url])  # type: ignore[attr-defined]
    assert (await client.generate(chat(1))).samples[0].text == PROOF
    with pytest.raises(EndpointError, match="127.0.0.1:9: cannot connect") as err:
        await EndpointClient(["http://127.0.0.1:9"]).healthy()
    assert err.value.kind is FailureKind.UNREACHABLE
    await client.close()


async def test_cancelling_closes_the_stream(endpoint: StandInEndpoint) -> None:
    endpoint.script = [{"match": "", "responses": [{"hang": True}]}]
    client = EndpointClient([endpoint.url])  # type: ignore[attr-defined]
    task = asyncio.ensure_future(client.generate(chat(4)))
    for _ in range(200):
        if endpoint.generation_requests():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):
        if endpoint.generation_requests()[0].disconnected:
            break
        await asyncio.sleep(0.01)
    assert endpoint.generation_requests()[0].disconnected, "the GPU must learn the client went away"
    await client.close()


async def test_hang_hits_the_timeout(endpoint: StandInEndpoint) -> None:
    endpoint.script = [{"match": "", "responses": [{"hang": True}]}]
    client = EndpointClient([endpoint.url], timeout=0.5)  # type: ignore[attr-defined]
    with pytest.raises((asyncio.TimeoutError, EndpointError)):
        await client.generate(chat(1))
    await client.close()


async def test_api_key_never_logged(
    endpoint: StandInEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.script = [{"match": "", "responses": [{"status": 401}]}]
    client = EndpointClient([endpoint.url], api_key="sk-topsecret")  # type: ignore[attr-defined]
    with caplog.at_level(logging.DEBUG), pytest.raises(EndpointError) as err:
        await client.generate(chat(1))
    assert "sk-topsecret" not in str(err.value) and "sk-topsecret" not in caplog.text
    await client.close()
