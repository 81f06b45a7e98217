"""A fake prover model (``ModelEndpoint``) answering from a script, in process.

The script has the stand-in endpoint's format (tests/standins/openai_endpoint.py), so one
script serves both: a list of rules; the first rule whose ``match`` occurs in the prompt (every
message's content, or the completion prompt) answers, taking its ``responses`` in turn (the last
one repeats); with none, "I cannot prove this.". A response is

    {"texts": ["...", ...]}      the request's n samples cycle through these texts
    {"hang": true}              never answers: the request waits until it is cancelled
    {"error": "timeout"}        raises EndpointError of that kind (a FailureKind value)

Every request is recorded with the body the HTTP client would send for it
(``GenerationRequest.body``), whether it was answered (``finished``) and whether the search
cancelled it first (``disconnected``: for an HTTP client, cancelling closes the stream).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from lean_sidecar.prover.endpoint import (
    EndpointError,
    FailureKind,
    Generation,
    GenerationRequest,
    Sample,
)

URL = "fake://endpoint"


@dataclass
class FakeRequest:
    request: GenerationRequest
    body: dict[str, Any]
    finished: bool = False
    disconnected: bool = False


@dataclass
class FakeEndpoint:
    script: list[dict[str, Any]] = field(default_factory=list)
    model: str = "AI-MO/Kimina-Prover-Distill-8B"
    requests: list[FakeRequest] = field(default_factory=list)
    closed: bool = False
    urls: list[str] = field(default_factory=lambda: [URL])

    def __post_init__(self) -> None:
        self._counters: dict[int, int] = {}

    def generation_requests(self) -> list[FakeRequest]:
        return list(self.requests)

    def _pick(self, body: dict[str, Any]) -> dict[str, Any]:
        if "messages" in body:
            prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        else:
            prompt = str(body.get("prompt", ""))
        for k, rule in enumerate(self.script):
            if rule.get("match", "") in prompt:
                i = self._counters.get(k, 0)
                self._counters[k] = i + 1
                responses = rule["responses"]
                return dict(responses[min(i, len(responses) - 1)])
        return {"texts": ["I cannot prove this."]}

    async def generate(self, request: GenerationRequest) -> Generation:
        rec = FakeRequest(request, request.body(request.model or self.model))
        self.requests.append(rec)
        plan = self._pick(rec.body)
        try:
            await asyncio.sleep(0)  # an answer is never immediate: others may run meanwhile
            if plan.get("hang"):
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            rec.disconnected = True
            raise
        if "error" in plan:
            rec.finished = True
            raise EndpointError("scripted failure", kind=FailureKind(plan["error"]), endpoint=URL)
        texts = plan.get("texts") or [""]
        choices = [texts[i % len(texts)] for i in range(request.n)]
        rec.finished = True
        tokens = sum(len(t) // 4 + 1 for t in choices)
        return Generation([Sample(t, "", "stop") for t in choices], tokens, 0.001, URL)

    async def healthy(self) -> str:
        return URL

    async def check(self, url: str) -> list[str]:
        return [self.model]

    async def close(self) -> None:
        self.closed = True
