"""``lean-sidecar doctor`` on a model server: which kind it is (Ollama, llama.cpp, vLLM), and
whether the context it serves the model with holds a prover's answers.

Each server says it its own way:

- Ollama answers ``GET /api/version``; a model's context is what ``GET /api/ps`` lists for it
  once loaded (``context_length``), else its Modelfile's ``num_ctx`` (``POST /api/show``,
  ``parameters``), else the server's default: ``OLLAMA_CONTEXT_LENGTH``, or 4,096 tokens below
  24 GiB of VRAM (ollama/ollama@fb30760: server/routes.go, ``ShowHandler``, ``PsHandler``,
  ``modelOptions``; docs/context-length.mdx). The OpenAI API cannot set it per request
  (docs/api/openai-compatibility.mdx, "Setting the context size").
- llama.cpp's llama-server answers ``GET /props``: ``default_generation_settings.n_ctx`` is the
  context of one slot (``-c`` divided among the ``--parallel`` slots), ``total_slots`` the
  slots (ggml-org/llama.cpp: tools/server/README.md "GET /props"; server-context.cpp
  ``get_props``). It also answers ``/api/tags`` and ``/api/show`` for Ollama's clients, so it is
  asked first.
- vLLM lists ``max_model_len`` with each model in ``/v1/models`` and is ``owned_by: "vllm"``.

A context below what the family's answers need is not an error anywhere: Ollama and llama.cpp
stop the answer at the context (``finish_reason: "length"``), so the proof at its end is never
written. This module turns that into a line that says so, and what to run instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import httpx

from lean_sidecar.prover.presets import PRESETS

Kind = Literal["ollama", "llama.cpp", "vllm", "openai"]
Status = Literal["ok", "warn", "fail"]

# Below this, most answers of a chain-of-thought prover are cut: they average about 4,500
# tokens (docs/gpu-endpoint.md), after a prompt of about a thousand, and an error-fix turn
# carries the previous answer too.
MOST_CUT = 8192
AVERAGE_ANSWER = 4500
LOCAL_KINDS = ("ollama", "llama.cpp")


@dataclass
class ServerInfo:
    kind: Kind
    version: str | None = None
    context: int | None = None  # tokens one request may fill, prompt and answer together
    context_from: str = ""  # where `context` was read
    slots: int | None = None  # answers generated at once (llama.cpp)
    model_names: tuple[str, ...] = ()


def root_of(url: str) -> str:
    """The server's root: the URL without a trailing ``/v1`` (Ollama's own routes live at
    ``/api``, llama.cpp's at ``/props``)."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _json(r: httpx.Response) -> object:
    try:
        return r.json() if r.status_code == 200 else None
    except ValueError:
        return None


def detect(http: httpx.Client, url: str, headers: dict[str, str], models: object) -> ServerInfo:
    """The kind of server at ``url``, from its ``/v1/models`` answer (``models``) and the routes
    only one kind has. Never raises: an unknown server is ``openai``."""
    entries = models.get("data", []) if isinstance(models, dict) else []
    entries = [e for e in entries if isinstance(e, dict)]
    names = tuple(str(e.get("id")) for e in entries)
    owners = {str(e.get("owned_by", "")) for e in entries}
    root = root_of(url)

    def get(path: str) -> object:
        try:
            return _json(http.get(f"{root}{path}", headers=headers))
        except httpx.HTTPError:
            return None

    if "vllm" in owners:
        lens = [e.get("max_model_len") for e in entries if isinstance(e.get("max_model_len"), int)]
        ctx = min(lens) if lens else None
        return ServerInfo("vllm", None, ctx, "max_model_len in /v1/models", None, names)
    props = get("/props")
    if "llamacpp" in owners or (isinstance(props, dict) and "default_generation_settings" in props):
        info = ServerInfo("llama.cpp", model_names=names)
        if isinstance(props, dict):
            settings = props.get("default_generation_settings")
            n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
            info.context = n_ctx if isinstance(n_ctx, int) else None
            info.context_from = "n_ctx of one slot in /props"
            slots = props.get("total_slots")
            info.slots = slots if isinstance(slots, int) else None
            build = props.get("build_info")
            info.version = str(build) if build else None
        return info
    version = get("/api/version")
    if isinstance(version, dict) and "version" in version:
        return ServerInfo("ollama", str(version["version"]), model_names=names)
    version = get("/version")
    if isinstance(version, dict) and "version" in version:
        return ServerInfo("vllm", str(version["version"]), model_names=names)
    return ServerInfo("openai", model_names=names)


def ollama_name(name: str) -> str:
    """Ollama's full name of a model: ``:latest`` when no tag is given, any case."""
    last = name.rsplit("/", 1)[-1]
    return (name if ":" in last else f"{name}:latest").lower()


def serves(info: ServerInfo, model: str) -> bool:
    if info.kind == "ollama":
        return ollama_name(model) in {ollama_name(n) for n in info.model_names}
    return model in info.model_names


def read_ollama_context(
    http: httpx.Client, url: str, headers: dict[str, str], model: str, info: ServerInfo
) -> None:
    """Fill in the context an Ollama server gives ``model`` (see the module docstring)."""
    root = root_of(url)
    try:
        ps = _json(http.get(f"{root}/api/ps", headers=headers))
    except httpx.HTTPError:
        ps = None
    loaded = ps.get("models", []) if isinstance(ps, dict) else []
    for entry in loaded if isinstance(loaded, list) else []:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("model") or entry.get("name") or "")
        ctx = entry.get("context_length")
        if ollama_name(name) == ollama_name(model) and isinstance(ctx, int) and ctx > 0:
            info.context, info.context_from = ctx, "as /api/ps lists it, loaded"
            return
    try:
        show = _json(http.post(f"{root}/api/show", headers=headers, json={"model": model}))
    except httpx.HTTPError:
        show = None
    params = show.get("parameters") if isinstance(show, dict) else None
    m = re.search(r"(?m)^\s*num_ctx\s+(\d+)", params) if isinstance(params, str) else None
    if m:
        info.context, info.context_from = int(m.group(1)), "its Modelfile's num_ctx"


def _fix(info: ServerInfo, need: int) -> str:
    if info.kind == "ollama":
        return (
            f"give it {need}: a copy of the model with `PARAMETER num_ctx {need}` (`lean-sidecar"
            f" endpoint serve --backend ollama --model NAME` prints the commands), or start the"
            f" server with OLLAMA_CONTEXT_LENGTH={need}"
        )
    if info.kind == "llama.cpp":
        slots = info.slots or 1
        shared = f" (shared by its {slots} slots)" if slots > 1 else ""
        return f"restart llama-server with -c {need * slots}{shared}"
    if info.kind == "vllm":
        return f"serve it with --max-model-len {need}"
    return f"serve it with a context of {need} tokens"


def context_check(
    info: ServerInfo, model: str, family: str, context_tokens: int | None
) -> tuple[Status, str]:
    """Whether the served context holds the family's answers, and what to do if not."""
    need = PRESETS[family].context
    if info.context is None:
        if info.kind == "ollama":
            return (
                "warn",
                f"cannot tell the context Ollama gives {model} (not loaded, no num_ctx): its"
                f" default is OLLAMA_CONTEXT_LENGTH, else 4,096 tokens on a machine with less"
                f" than 24 GiB of VRAM, and answers are cut there; {_fix(info, need)}",
            )
        return "ok", f"the server does not say its context; family {family} needs {need:,} tokens"
    ctx, where = info.context, info.context_from
    head = f"{ctx:,} tokens ({where}); family {family} needs {need:,}"
    if info.kind == "vllm":  # vLLM refuses a request that asks for more than its context
        if ctx < need and (context_tokens is None or context_tokens > ctx):
            return "warn", (
                f"{head}: requests would ask for more and be refused; set"
                f" LEAN_SIDECAR_CONTEXT_TOKENS={ctx}, or {_fix(info, need)}"
            )
        return "ok", head
    if ctx < MOST_CUT:
        return "fail", (
            f"{head}: most answers (about {AVERAGE_ANSWER:,} tokens each) will be cut before"
            f" their proof; {_fix(info, need)}"
        )
    if ctx < need:
        keep = (
            ""
            if context_tokens is not None and context_tokens <= ctx
            else f"; or set LEAN_SIDECAR_CONTEXT_TOKENS={ctx} to ask for no more than it holds"
        )
        return "warn", f"{head}: the longer answers will be cut; {_fix(info, need)}{keep}"
    return "ok", head


def server_check(info: ServerInfo, concurrency: int) -> tuple[Status, str]:
    """What kind of server it is, how it gives samples, and whether the sidecar would send it
    more requests at once than it answers (the rest would wait silently and stall)."""
    if info.kind == "ollama":
        head = f"Ollama {info.version or ''}".rstrip() + (
            ": one sample per request (the sidecar asks again for the rest)"
        )
        if concurrency > 1:  # Ollama does not say its OLLAMA_NUM_PARALLEL; its default is 1
            return "warn", (
                f"{head}; the sidecar sends up to {concurrency} requests at once, Ollama answers"
                " OLLAMA_NUM_PARALLEL of them (default 1) and queues the rest without a byte,"
                " where they may end as stalled: set LEAN_SIDECAR_ENDPOINT_CONCURRENCY to"
                " OLLAMA_NUM_PARALLEL"
            )
        return "ok", f"{head}, one at a time"
    if info.kind == "llama.cpp":
        slots = info.slots
        if slots is not None and concurrency > slots:
            return "warn", (
                f"llama.cpp with {slots} slot(s), but the sidecar sends up to {concurrency}"
                f" requests at once: the others wait without a byte and may end as stalled;"
                f" set LEAN_SIDECAR_ENDPOINT_CONCURRENCY={slots} or start llama-server with"
                f" --parallel {concurrency}"
            )
        return "ok", f"llama.cpp with {slots or '?'} slot(s)"
    if info.kind == "vllm":
        return "ok", f"vLLM {info.version or ''}".rstrip()
    return "ok", "an OpenAI-compatible server of unknown kind"
