"""The endpoint client against the stand-in OpenAI-compatible server (real HTTP on loopback)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import quote, quote_plus

import pytest

from lean_sidecar.prover.endpoint import (
    EndpointClient,
    EndpointError,
    FailureKind,
    GenerationRequest,
    client_from,
)
from lean_sidecar.prover.endpoint_errors import Redactor, safe_url
from lean_sidecar.settings import Settings
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
async def endpoint() -> AsyncIterator[StandInEndpoint]:
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
    with pytest.raises(EndpointError, match=r"127\.0\.0\.1:9: cannot connect") as err:
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


# ---- secrets: every encoding of the key is redacted; bodies are never kept -------------------
KEY = 'sk-"q/r+s=t?u&v\\w 0123456789abcdefXYZ'


def encodings(key: str) -> dict[str, str]:
    return {
        "plain": key,
        "json": json.dumps(key)[1:-1],
        "url": quote(key, safe=""),
        "url+": quote_plus(key),
        "base64": base64.b64encode(key.encode()).decode(),
    }


def longest_common_run(a: str, b: str) -> int:
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


def test_redactor_covers_every_encoding_and_basic_auth_alignment() -> None:
    redact = Redactor(KEY)
    for name, form in encodings(KEY).items():
        out = redact(f"before {form} after")
        assert form not in out and "***" in out, name
    for user in ("u", "us", "use"):  # the key at each byte alignment inside base64
        token = base64.b64encode(f"{user}:{KEY}".encode()).decode()
        out = redact(f"Authorization: Basic {token}")
        # what survives is the user's part and the edge groups, never the key's body
        assert longest_common_run(token, out) <= 8, (user, out)
    assert repr(redact) == "Redactor(***)" and Redactor(None)("x") == "x"


def test_safe_url_drops_credentials_and_query() -> None:
    assert safe_url("https://bob:sk-1@gpu.example:8443/v1?api_key=sk-1#x") == (
        "https://gpu.example:8443/v1"
    )


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
@pytest.mark.parametrize("stream", [True, False])
async def test_key_echoed_in_any_encoding_never_reaches_errors_logs_or_reprs(
    endpoint: StandInEndpoint, caplog: pytest.LogCaptureFixture, status: int, stream: bool
) -> None:
    body = '{"error": {"message": "bad key {key} / {key_json} / {key_url} / {key_b64}"}}'
    endpoint.script = [{"match": "", "responses": [{"status": status, "body": body}]}]
    client = EndpointClient([endpoint.url], api_key=KEY, max_retries=0)  # type: ignore[attr-defined]
    with caplog.at_level(logging.DEBUG), pytest.raises(EndpointError) as err:
        await client.generate(chat(1, stream))
    shown = " ".join([str(err.value), repr(err.value), caplog.text, repr(client)])
    shown += " ".join(str(v) for v in vars(err.value).values())
    assert "bad key ***" in str(err.value)  # the body is quoted, redacted
    for name, form in encodings(KEY).items():
        assert form not in shown, name
    basic = base64.b64encode(f"user:{KEY}".encode()).decode()
    assert longest_common_run(basic, shown) <= 8
    await client.close()


async def test_error_bodies_are_cut_not_kept(endpoint: StandInEndpoint) -> None:
    body = "x" * 1000 + "MARKER" + "y" * 5000
    endpoint.script = [{"match": "", "responses": [{"status": 400, "body": body}]}]
    client = EndpointClient([endpoint.url])  # type: ignore[attr-defined]
    with pytest.raises(EndpointError) as err:
        await client.generate(chat(1))
    assert err.value.kind is FailureKind.REJECTED and len(str(err.value)) < 500
    assert all("MARKER" not in str(v) for v in vars(err.value).values())
    await client.close()


def test_settings_defaults_reach_the_client() -> None:
    client = client_from(Settings(endpoints=["http://127.0.0.1:1"], api_key="sk-x"))
    assert client is not None
    assert (client.stall_timeout, client.max_answer_bytes, client.cooldown) == (
        30.0,
        1_000_000,
        30.0,
    )
    assert "sk-x" not in repr(client) + repr(vars(client))


@pytest.mark.parametrize("stream", [True, False])
async def test_completion_kind_keeps_each_index_apart(
    endpoint: StandInEndpoint, stream: bool
) -> None:
    endpoint.script = [{"match": "", "responses": [{"texts": ["a" * 100, "b" * 90]}]}]
    client = EndpointClient([endpoint.url])  # type: ignore[attr-defined]
    request = GenerationRequest(
        "completion", None, 3, 0.6, 0.95, 64, prompt="theorem t", stream=stream
    )
    gen = await client.generate(request)
    assert [s.text for s in gen.samples] == ["a" * 100, "b" * 90, "a" * 100]
    assert all(s.finish_reason == "stop" for s in gen.samples) and gen.completion_tokens > 0
    await client.close()


async def test_credentials_in_the_url_become_basic_auth_and_are_never_logged(
    endpoint: StandInEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.script = [{"match": "", "responses": [{"texts": [PROOF]}, {"status": 500}]}]
    url = f"http://bob:s3cret-pass-123@127.0.0.1:{endpoint.port}"
    client = EndpointClient([url])
    with caplog.at_level(logging.DEBUG):  # httpx logs every request URL at INFO
        gen = await client.generate(chat(1))
        with pytest.raises(EndpointError) as err:
            await client.generate(chat(1))
    token = base64.b64encode(b"bob:s3cret-pass-123").decode()
    assert endpoint.generation_requests()[0].headers["authorization"] == f"Basic {token}"
    assert gen.endpoint == f"http://127.0.0.1:{endpoint.port}"
    shown = caplog.text + str(err.value) + repr(client) + await client.healthy()
    assert "HTTP Request" in caplog.text and "s3cret-pass-123" not in shown and token not in shown
    await client.close()


async def test_a_dead_endpoints_reason_is_said_once_however_often_it_is_picked() -> None:
    """The circuit keeps an endpoint's last failure to quote it while the endpoint is skipped;
    the note the pick adds must not pile up on it ("… (no healthy endpoint left) (not retried
    …) (no healthy endpoint left)", what the editor used to show on the third search)."""
    client = EndpointClient(["http://127.0.0.1:9"])
    seen = []
    for _ in range(3):
        with pytest.raises(EndpointError) as err:
            await client.generate(chat(1))
        seen.append(str(err.value))
    for message in seen:
        assert message.count("(no healthy endpoint left)") == 1, message
    assert "not retried for another" in seen[-1]  # the open circuit still says so, once
    await client.close()
