"""Stand-ins for the local model servers a laptop runs: Ollama and llama.cpp's llama-server.

Both speak HTTP/1.1 on loopback, with the scripting and fault modes of the vLLM stand-in
(tests/standins/openai_endpoint.py), and behave as their documentation and source say where it
differs from vLLM. Each behaviour names where it comes from (``repository@commit:path``).

Ollama (ollama/ollama@fb30760):
- one choice per answer, whatever ``n`` says: ``n`` is listed as unsupported
  (docs/api/openai-compatibility.mdx), the request structs have no such field and the answers
  are built with one choice, ``Index: 0`` (openai/openai.go: ``ChatCompletionRequest``,
  ``ToChatCompletion``, ``toChunk``, ``ToCompletion``);
- the OpenAI layer's error body is ``{"error": {"message", "type", "param", "code"}}``, the type
  ``invalid_request_error`` for 400, ``not_found_error`` for 404, ``api_error`` otherwise
  (openai/openai.go: ``NewError``; middleware/openai.go: ``writeError``); the native ``/api``
  routes answer ``{"error": "..."}`` (docs/api/errors.mdx);
- an unknown model is 404 ``model 'NAME' not found`` (server/routes.go: ``ChatHandler``); a
  name without a tag means ``:latest``; ``/v1/models`` lists each model by its full name
  (openai/openai.go: ``ToListCompletion``);
- ``GET /api/version``, ``GET /api/tags``, ``POST /api/show`` (``parameters`` holds the
  Modelfile's ``num_ctx``; ``model_info`` the trained ``<arch>.context_length``) and
  ``GET /api/ps`` (``context_length`` of each loaded model) (server/routes.go: the route table,
  ``ShowHandler``, ``PsHandler``; api/types.go: ``ShowResponse``, ``ProcessModelResponse``);
- the context is the Modelfile's ``num_ctx``, else ``OLLAMA_CONTEXT_LENGTH``, else 4,096 below
  24 GiB of VRAM (docs/context-length.mdx; server/routes.go: ``modelOptions``, the
  ``vram-based default context``); a longer answer is cut with ``finish_reason: "length"``;
- ``OLLAMA_NUM_PARALLEL`` (default 1) answers at once, the rest queued without a byte sent
  (docs/faq.mdx, "How does Ollama handle concurrent requests?"; envconfig/config.go).

llama.cpp's llama-server (ggml-org/llama.cpp, tools/server):
- older builds refuse ``n`` other than 1: HTTP 500 ``{"error": {"code": 500, "message": "Only
  one completion choice is allowed", "type": "server_error"}}`` (@aa6192d:
  server-common.cpp ``oaicompat_chat_params_parse``; server.cpp ``ex_wrapper`` answers every
  exception but ``invalid_argument`` as 500); newer ones take ``n`` as ``n_cmpl`` up to
  ``--parallel`` and refuse more with 400 ``Field 'n': Value must be between 1 <= value <= P,
  but got N`` (@0177c34: server-schema.cpp);
- error body ``{"error": {"code", "message", "type"}}`` (@aa6192d: server-common.cpp
  ``format_error_response``); a prompt that does not fit the slot is 400
  ``exceed_context_size_error`` and an answer stops at the slot's context;
- ``GET /props``: ``default_generation_settings.n_ctx`` is the context of one slot (``-c``
  divided among ``--parallel`` slots), ``total_slots`` the slots; ``GET /health``: 200
  ``{"status": "ok"}`` or 503 ``Loading model``; ``/v1/models`` lists ``--alias`` (or the
  model's path) with ``owned_by: "llamacpp"`` and ``meta.n_ctx_train``; ``/api/tags`` answers
  too (an Ollama-compatible alias of the model list); ``/health`` and ``/v1/models`` need no key,
  the rest answer 401 ``Invalid API Key`` without it (tools/server/README.md, "API Endpoints";
  server.cpp, the route table).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from tests.standins.openai_endpoint import Recorded, StandInEndpoint

CHARS_PER_TOKEN = 4  # the stand-ins' token estimate


def _tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def _prompt(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "\n".join(str(m.get("content", "")) for m in body["messages"])
    return str(body.get("prompt", ""))


def _cut(plan: dict[str, Any], room_tokens: int) -> dict[str, Any]:
    """The answer as a server with ``room_tokens`` left after the prompt sends it."""
    room = max(0, room_tokens) * CHARS_PER_TOKEN
    texts = [str(t) for t in plan.get("texts") or [""]]
    if all(len(t) <= room for t in texts):
        return plan
    return {**plan, "texts": [t[:room] for t in texts], "finish": "length"}


@dataclass
class OllamaModel:
    """One pulled or created model: its Modelfile's ``num_ctx`` (None: not set) and the
    context it was trained for."""

    num_ctx: int | None = None
    trained_context: int = 40960
    architecture: str = "qwen3"


@dataclass
class OllamaStandIn(StandInEndpoint):
    models: dict[str, OllamaModel] = field(
        default_factory=lambda: {"BoltonBailey/Kimina-Prover-Distill-8B:latest": OllamaModel()}
    )
    default_context: int = 4096  # OLLAMA_CONTEXT_LENGTH, or what the VRAM gives
    parallel: int | None = 1  # OLLAMA_NUM_PARALLEL
    version: str = "0.12.6"
    loaded: dict[str, int] = field(default_factory=dict)  # name -> context it was loaded with

    def __post_init__(self) -> None:
        super().__post_init__()
        self.model = next(iter(self.models))

    # ---- names
    @staticmethod
    def _full(name: str) -> str:
        last = name.rsplit("/", 1)[-1]
        return name if ":" in last else f"{name}:latest"

    def _find(self, name: str) -> str | None:
        want = self._full(name).lower()
        return next((m for m in self.models if m.lower() == want), None)

    def context_of(self, name: str) -> int:
        info = self.models[name]
        return info.num_ctx or self.default_context

    # ---- the OpenAI layer
    def _auth_error(self, path: str, headers: dict[str, str]) -> dict[str, Any] | None:
        return None  # a local Ollama ignores the key ("required but ignored")

    def _models_body(self) -> dict[str, Any]:
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": m.split("/")[0]}
            for m in self.models
        ]
        return {"object": "list", "data": data}

    def _error_json(self, status: int, message: str) -> dict[str, Any]:
        kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def _refuse(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if self._find(str(body.get("model", ""))) is None:
            return 404, self._error_json(404, f"model '{body.get('model')}' not found")
        return None

    def _choice_count(self, body: dict[str, Any]) -> int:
        return 1  # `n` is not read

    def _adjust(self, plan: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        name = self._find(str(body.get("model", "")))
        assert name is not None
        ctx = self.context_of(name)
        if "status" not in plan:  # a scripted failure stands for a model that did not load
            self.loaded[name] = ctx
        room = min(int(body.get("max_tokens") or ctx), ctx - _tokens(_prompt(body)))
        return _cut(plan, room)

    # ---- the native API
    async def _extra_route(
        self, method: str, path: str, rec: Recorded, writer: asyncio.StreamWriter
    ) -> bool:
        if method == "GET" and path == "/api/version":
            await self._json(writer, 200, {"version": self.version})
        elif method == "GET" and path == "/api/tags":
            tags = [{"name": m, "model": m, "size": 1, "digest": "0" * 12} for m in self.models]
            await self._json(writer, 200, {"models": tags})
        elif method == "GET" and path == "/api/ps":
            ps = [
                {"name": m, "model": m, "context_length": ctx, "size_vram": 1}
                for m, ctx in self.loaded.items()
            ]
            await self._json(writer, 200, {"models": ps})
        elif method == "POST" and path == "/api/show":
            body = rec.body or {}
            name = self._find(str(body.get("model") or body.get("name") or ""))
            if name is None:
                missing = body.get("model") or body.get("name")
                await self._json(writer, 404, {"error": f"model '{missing}' not found"})
                return True
            info = self.models[name]
            params = ['stop                           "<|im_end|>"']
            if info.num_ctx is not None:
                params.insert(0, f"num_ctx                        {info.num_ctx}")
            show = {
                "parameters": "\n".join(params),
                "details": {"format": "gguf", "family": info.architecture},
                "model_info": {
                    "general.architecture": info.architecture,
                    f"{info.architecture}.context_length": info.trained_context,
                },
                "capabilities": ["completion"],
            }
            await self._json(writer, 200, show)
        elif path.startswith("/api/"):
            await self._json(writer, 404, {"error": f"no route {path}"})
        else:
            return False
        return True


@dataclass
class LlamaCppStandIn(StandInEndpoint):
    model: str = "kimina-prover-distill-8b"  # --alias
    slot_context: int = 4096  # -c divided among the slots
    parallel: int | None = 1  # --parallel
    trained_context: int = 40960
    takes_n: bool = False  # False: an older build ("Only one completion choice is allowed")
    loading: bool = False

    def _auth_error(self, path: str, headers: dict[str, str]) -> dict[str, Any] | None:
        if self.require_key is None or path in ("/health", "/v1/health", "/models", "/v1/models"):
            return None
        if headers.get("authorization", "") == f"Bearer {self.require_key}":
            return None
        return self._error_json(401, "Invalid API Key")

    def _models_body(self) -> dict[str, Any]:
        meta = {"n_ctx_train": self.trained_context, "n_params": 8_000_000_000}
        entry = {
            "id": self.model,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "llamacpp",
            "meta": meta,
        }
        return {"object": "list", "data": [entry], "models": [{"name": self.model}]}

    def _error_json(self, status: int, message: str) -> dict[str, Any]:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
            503: "unavailable_error",
        }.get(status, "server_error")
        return {"error": {"code": status, "message": message, "type": kind}}

    def _refuse(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if self.loading:
            return 503, self._error_json(503, "Loading model")
        n = body.get("n", 1)
        slots = self.parallel or 1
        if not self.takes_n and n != 1:
            return 500, self._error_json(500, "Only one completion choice is allowed")
        if self.takes_n and not 1 <= int(n) <= slots:
            why = f"Field 'n': Value must be between 1 <= value <= {slots}, but got {n}"
            return 400, self._error_json(400, why)
        prompt = _tokens(_prompt(body))
        if prompt >= self.slot_context:
            why = (
                f"request ({prompt} tokens) exceeds the available context size "
                f"({self.slot_context} tokens), try increasing it"
            )
            return 400, {"error": {**self._error_json(400, why)["error"],
                                   "type": "exceed_context_size_error"}}  # fmt: skip
        return None

    def _choice_count(self, body: dict[str, Any]) -> int:
        return int(body.get("n", 1))

    def _adjust(self, plan: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        room = self.slot_context - _tokens(_prompt(body))
        return _cut(plan, min(int(body.get("max_tokens") or room), room))

    async def _extra_route(
        self, method: str, path: str, rec: Recorded, writer: asyncio.StreamWriter
    ) -> bool:
        if method == "GET" and path in ("/health", "/v1/health"):
            if self.loading:
                await self._json(writer, 503, self._error_json(503, "Loading model"))
            else:
                await self._json(writer, 200, {"status": "ok"})
        elif method == "GET" and path == "/props":
            props = {
                "default_generation_settings": {
                    "n_ctx": self.slot_context,
                    "params": {"temperature": 0.8, "top_p": 0.95, "n_predict": -1},
                },
                "total_slots": self.parallel or 1,
                "model_alias": self.model,
                "model_path": f"/models/{self.model}.gguf",
                "build_info": "b6000-standin",
            }
            await self._json(writer, 200, props)
        elif method == "GET" and path == "/api/tags":
            await self._json(writer, 200, self._models_body())
        else:
            return False
        return True
