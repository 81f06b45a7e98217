"""The endpoint client against stand-ins of the local model servers (real HTTP on loopback):
Ollama gives one choice per request whatever `n` says; llama.cpp refuses `n` (older builds) or
takes it up to its slots (newer). The client makes up the difference with further requests,
never asks for more samples than it was asked, keeps to its concurrency limit, closes every
stream when cancelled, and counts an answer without a choice as a failure, as before."""

from __future__ import annotations

import asyncio
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
from lean_sidecar.prover.endpoint_choices import refused_choices, split
from tests.standins.local_servers import LlamaCppStandIn, OllamaModel, OllamaStandIn
from tests.standins.openai_endpoint import StandInEndpoint

PROOF = "Here is the proof.\n```lean4\ntheorem t : 1 = 1 := by\n  rfl\n```"
OLLAMA_MODEL = "BoltonBailey/Kimina-Prover-Distill-8B"


def chat(n: int, stream: bool = True, model: str | None = None) -> GenerationRequest:
    messages = [{"role": "user", "content": "theorem t"}]
    return GenerationRequest("chat", model, n, 1.0, 0.95, 2048, messages=messages, stream=stream)


def completion(n: int, stream: bool = True) -> GenerationRequest:
    return GenerationRequest(
        "completion", None, n, 1.0, 0.95, 2048, prompt="theorem t", stream=stream
    )


def bodies(ep: StandInEndpoint) -> list[dict[str, Any]]:
    return [r.body or {} for r in ep.generation_requests()]


@pytest.fixture
async def ollama() -> AsyncIterator[OllamaStandIn]:
    ep = OllamaStandIn(parallel=None)
    ep.url = await ep.start()  # type: ignore[attr-defined]
    yield ep
    await ep.stop()


@pytest.mark.parametrize("kind", ["chat", "completion"])
@pytest.mark.parametrize("stream", [True, False])
async def test_ollama_gives_one_choice_and_the_rest_is_asked_again(
    ollama: OllamaStandIn, kind: str, stream: bool
) -> None:
    ollama.script = [{"match": "", "responses": [{"texts": [PROOF]}]}]
    client = EndpointClient([ollama.url], concurrency=4)  # type: ignore[attr-defined]
    request = chat(4, stream) if kind == "chat" else completion(4, stream)
    gen = await client.generate(request)
    assert [s.text for s in gen.samples] == [PROOF] * 4 and gen.shortfall is None
    first, *rest = bodies(ollama)
    assert first["n"] == 4 and "seed" not in first  # the first request is vLLM's, unchanged
    assert [b["n"] for b in rest] == [1, 1, 1]
    assert len({b["seed"] for b in rest}) == 3  # each asks afresh, even under a fixed seed
    # Learned: the next hole's requests ask for one choice each, all at once.
    await client.generate(request)
    assert [b["n"] for b in bodies(ollama)[4:]] == [1, 1, 1, 1]
    await client.close()


async def test_vllm_is_asked_once_as_before() -> None:
    ep = StandInEndpoint()
    url = await ep.start()
    ep.script = [{"match": "", "responses": [{"texts": [PROOF]}]}]
    client = EndpointClient([url])
    for _ in range(2):
        gen = await client.generate(chat(4))
        assert len(gen.samples) == 4
    assert [(b["n"], "seed" in b) for b in bodies(ep)] == [(4, False), (4, False)]
    await client.close()
    await ep.stop()


async def test_llama_cpp_refusing_n_is_learned_not_counted_as_a_failure() -> None:
    """An older llama-server answers HTTP 500 "Only one completion choice is allowed"."""
    ep = LlamaCppStandIn(slot_context=32768, parallel=None)
    url = await ep.start()
    ep.script = [{"match": "", "responses": [{"texts": [PROOF]}]}]
    client = EndpointClient([url], max_retries=0, breaker_failures=1)
    gen = await client.generate(chat(3))
    assert len(gen.samples) == 3 and gen.shortfall is None
    assert [b["n"] for b in bodies(ep)] == [3, 1, 1, 1]
    assert client._circuits[client.urls[0]].failures == 0  # a capability, not a fault
    await client.generate(chat(2))
    assert [b["n"] for b in bodies(ep)][4:] == [1, 1]  # no refused request any more
    await client.close()
    await ep.stop()


async def test_llama_cpp_takes_n_up_to_its_slots() -> None:
    """A newer llama-server takes `n` as `n_cmpl`, at most `--parallel`; more is a 400."""
    ep = LlamaCppStandIn(slot_context=32768, parallel=2, takes_n=True)
    url = await ep.start()
    ep.script = [{"match": "", "responses": [{"texts": [PROOF]}]}]
    client = EndpointClient([url], max_retries=0)
    gen = await client.generate(chat(5, stream=False))
    assert len(gen.samples) == 5
    assert [b["n"] for b in bodies(ep)] == [5, 2, 2, 1]
    await client.close()
    await ep.stop()


class ThreeAtMost(StandInEndpoint):
    """A server that gives at most three choices, whatever `n` asks."""

    def _choice_count(self, body: dict[str, Any]) -> int:
        return min(3, int(body.get("n", 1)))


async def test_never_more_samples_than_asked() -> None:
    ep = ThreeAtMost()
    url = await ep.start()
    ep.script = [{"match": "", "responses": [{"texts": [PROOF]}]}]
    client = EndpointClient([url])
    gen = await client.generate(chat(4))
    assert len(gen.samples) == 4
    assert [b["n"] for b in bodies(ep)] == [4, 1]  # the missing one, not another three
    gen = await client.generate(chat(7))
    assert len(gen.samples) == 7
    assert [b["n"] for b in bodies(ep)][2:] == [3, 3, 1]
    assert sum(b["n"] for b in bodies(ep)[2:]) == 7
    await client.close()
    await ep.stop()


async def test_the_make_up_requests_keep_to_the_concurrency_limit(ollama: OllamaStandIn) -> None:
    ollama.script = [{"match": "", "responses": [{"texts": [PROOF], "delay": 0.2}]}]
    client = EndpointClient([ollama.url], concurrency=2)  # type: ignore[attr-defined]
    gens = await asyncio.gather(*(client.generate(chat(4)) for _ in range(3)))
    assert [len(g.samples) for g in gens] == [4, 4, 4]
    assert len(bodies(ollama)) == 12 and ollama.max_active == 2
    await client.close()


async def test_a_server_that_answers_one_at_a_time_is_not_sent_more() -> None:
    """Ollama's default, OLLAMA_NUM_PARALLEL=1: with the concurrency set to match, no request
    waits in its queue (where it would send nothing and end as stalled)."""
    ep = OllamaStandIn(parallel=1)
    url = await ep.start()
    ep.script = [{"match": "", "responses": [{"texts": [PROOF], "delay": 0.05}]}]
    client = EndpointClient([url], concurrency=1, stall_timeout=5)
    gen = await client.generate(chat(3))
    assert len(gen.samples) == 3 and ep.max_active == 1
    await client.close()
    await ep.stop()


async def test_cancelling_closes_every_make_up_stream_at_once(ollama: OllamaStandIn) -> None:
    ollama.script = [{"match": "", "responses": [{"texts": [PROOF]}, {"hang": True}]}]
    client = EndpointClient([ollama.url], concurrency=4)  # type: ignore[attr-defined]
    task = asyncio.ensure_future(client.generate(chat(4)))
    for _ in range(300):
        if len(ollama.generation_requests()) == 4:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(300):
        if all(r.disconnected for r in ollama.generation_requests()[1:]):
            break
        await asyncio.sleep(0.01)
    hung = ollama.generation_requests()[1:]
    assert len(hung) == 3 and all(r.disconnected for r in hung), "every stream must be closed"
    await client.close()


async def test_no_choice_at_all_is_still_malformed(ollama: OllamaStandIn) -> None:
    ollama.script = [{"match": "", "responses": [{"empty_choices": True}]}]
    client = EndpointClient([ollama.url], breaker_failures=1)  # type: ignore[attr-defined]
    with pytest.raises(EndpointError) as err:
        await client.generate(chat(4))
    assert err.value.kind is FailureKind.MALFORMED
    assert len(bodies(ollama)) == 1  # nothing to make up from: no further request
    assert client._is_open(client.urls[0])  # and it counts against the endpoint
    await client.close()


async def test_a_failed_make_up_keeps_the_samples_and_says_why(ollama: OllamaStandIn) -> None:
    ollama.script = [{"match": "", "responses": [{"texts": [PROOF]}, {"status": 500}]}]
    client = EndpointClient([ollama.url], max_retries=0)  # type: ignore[attr-defined]
    gen = await client.generate(chat(4))
    assert [s.text for s in gen.samples] == [PROOF]
    assert gen.shortfall is not None and gen.shortfall.kind is FailureKind.SERVER_ERROR
    assert "scripted failure" in str(gen.shortfall)
    await client.close()


async def test_when_every_request_fails_the_failure_is_raised(ollama: OllamaStandIn) -> None:
    ollama.script = [{"match": "", "responses": [{"texts": [PROOF]}, {"status": 500}]}]
    client = EndpointClient([ollama.url], max_retries=0)  # type: ignore[attr-defined]
    await client.generate(chat(2))  # learns: one choice per request
    with pytest.raises(EndpointError) as err:
        await client.generate(chat(2))  # two requests at once, both fail
    assert err.value.kind is FailureKind.SERVER_ERROR and len(err.value.others) == 1
    await client.close()


async def test_ollama_errors_are_quoted_from_their_own_shape(ollama: OllamaStandIn) -> None:
    client = EndpointClient([ollama.url])  # type: ignore[attr-defined]
    with pytest.raises(EndpointError) as err:
        await client.generate(chat(1, model="no-such-model"))
    assert err.value.kind is FailureKind.REJECTED and err.value.status == 404
    assert "model 'no-such-model' not found" in str(err.value)
    await client.close()


async def test_llama_cpp_errors_are_quoted_from_their_own_shape() -> None:
    ep = LlamaCppStandIn(slot_context=1024)
    url = await ep.start()
    client = EndpointClient([url])
    request = chat(1)
    request.messages = [{"role": "user", "content": "theorem t " * 2000}]
    with pytest.raises(EndpointError) as err:
        await client.generate(request)
    assert err.value.kind is FailureKind.REJECTED and err.value.status == 400
    assert "exceeds the available context size (1024 tokens)" in str(err.value)
    await client.close()
    await ep.stop()


@pytest.mark.parametrize("server", ["ollama", "llama.cpp"])
async def test_a_small_context_cuts_the_answer_where_the_server_says_so(server: str) -> None:
    """What a 4,096-token default does to a chain-of-thought answer: cut, `length`."""
    ep: StandInEndpoint = (
        OllamaStandIn(parallel=None, models={f"{OLLAMA_MODEL}:latest": OllamaModel()})
        if server == "ollama"
        else LlamaCppStandIn(slot_context=4096)
    )
    url = await ep.start()
    long_answer = "<think>" + "x" * 40_000 + "</think>\n" + PROOF
    ep.script = [{"match": "", "responses": [{"texts": [long_answer]}]}]
    client = EndpointClient([url])
    gen = await client.generate(chat(1))
    (sample,) = gen.samples
    assert sample.finish_reason == "length" and "```lean4" not in sample.text
    await client.close()
    await ep.stop()


def test_refusals_of_n_are_recognised_and_nothing_else() -> None:
    assert (
        refused_choices("chat/completions answered HTTP 500: Only one completion choice is allowed")
        == 1
    )
    assert refused_choices("Field 'n': Value must be between 1 <= value <= 4, but got 8") == 4
    assert refused_choices("model 'x' not found") is None
    assert refused_choices("Field 'top_p': Value must be between 1 <= value <= 4") is None
    assert split(5, 2) == [2, 2, 1] and split(3, 8) == [3] and split(0, 1) == []


# ---- a whole search against Ollama: the budget is spent in full, a shortfall is reported ----
async def test_a_search_on_ollama_spends_its_whole_budget(tmp_path: Path) -> None:
    """Lean's verdicts come from the in-process fake (the REPL facts): what is tested here is
    the search against a server that answers one choice at a time."""
    from lean_sidecar.search.cache import ProofCache
    from lean_sidecar.search.engine import SearchEngine
    from lean_sidecar.settings import Settings
    from tests.fakes import FakeVerifier
    from tests.search_helpers import REPL_FACTS, lean_answer, site_and_task
    from tests.test_search_engine import GOAL, STATEMENT, TEXT

    ep = OllamaStandIn(parallel=1)
    url = await ep.start()
    wrong, good = lean_answer(STATEMENT, "  linarith"), lean_answer(STATEMENT, "  field_simp")
    failing = {"status": 503, "body": '{"error": {"message": "server busy", "type": "api_error"}}'}
    settings = Settings(
        endpoints=[url],
        budget_samples=4,
        samples_per_request=4,
        endpoint_concurrency=1,
        max_retries=0,
        fix_rounds=0,
        decompose_depth=0,
        tactics=[],
        cache_path=tmp_path / "cache.sqlite",
    )
    site, task = site_and_task(TEXT, 0, GOAL)
    try:
        for script, status, samples in [
            ([{"texts": [wrong]}, {"texts": [wrong]}, {"texts": [good]}], "solved", 4),
            ([{"texts": [wrong]}, failing], "unsolved", 4),
        ]:
            ep.script = [{"match": "div_self'", "responses": script}]
            ep._counters.clear()
            client = EndpointClient([url], max_retries=0, concurrency=1)
            lean = FakeVerifier.from_file(REPL_FACTS)
            engine = SearchEngine(settings, lean, client, ProofCache(tmp_path / f"{status}.sqlite"))
            result = await engine.search(site, GOAL, task)
            await client.close()
            assert result.status == status and result.samples == samples
            if status == "unsolved":  # one sample came; why not the other three is said
                errors = [a.detail or "" for a in result.attempts if a.outcome == "error"]
                assert errors and "server busy" in errors[0], result.attempts
        assert ep.max_active == 1
    finally:
        await ep.stop()
