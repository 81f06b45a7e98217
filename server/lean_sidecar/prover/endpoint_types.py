"""What callers give the endpoint client and what they get back (kept apart so that the client
module stays small; `lean_sidecar.prover.endpoint` re-exports all three)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lean_bridge.json_types import JsonObject
from lean_sidecar.prover.endpoint_errors import EndpointError


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
    # Sent only when set: the client gives each request that makes up a shortfall of choices
    # its own, so that a server started with a fixed seed does not answer them all alike.
    seed: int | None = None

    def body(self, model: str) -> JsonObject:
        body: JsonObject = {
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
        if self.seed is not None:
            body["seed"] = self.seed
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
    # Fewer samples than asked: why the requests that were to make up the difference failed.
    shortfall: EndpointError | None = None
