"""vLLM settings for the provers lean-sidecar knows: what to serve, how much context, how many
GPUs, and how the sidecar should ask (the family's published sampling, from
lean_sidecar.prover.presets, the one source of those values)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from lean_sidecar.prover.presets import PRESETS as FAMILY_PRESETS
from lean_sidecar.prover.presets import describe_preset


@dataclass(frozen=True)
class Preset:
    name: str
    hf_id: str
    family: str
    max_model_len: int
    tensor_parallel: int
    gpus_note: str

    def served_name(self) -> str:
        return self.hf_id.split("/")[-1].lower()

    @property
    def temperature(self) -> float:
        return FAMILY_PRESETS[self.family].temperature

    @property
    def top_p(self) -> float:
        return FAMILY_PRESETS[self.family].top_p

    @property
    def max_tokens(self) -> int:
        return min(FAMILY_PRESETS[self.family].max_tokens, self.max_model_len)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "kimina-distill-1.7b",
            "AI-MO/Kimina-Prover-Distill-1.7B",
            "kimina",
            32768,
            1,
            "1 GPU (any 24 GB card)",
        ),
        Preset(
            "kimina-distill-8b",
            "AI-MO/Kimina-Prover-Distill-8B",
            "kimina",
            32768,
            1,
            "1 GPU (40–80 GB)",
        ),
        Preset(
            "kimina-72b",
            "AI-MO/Kimina-Prover-72B",
            "kimina",
            32768,
            4,
            "4 GPUs of 80 GB (≈145 GB of bf16 weights)",
        ),
        Preset(
            "kimina-preview-7b",
            "AI-MO/Kimina-Prover-Preview-Distill-7B",
            "kimina-preview",
            32768,
            1,
            "1 GPU (40–80 GB)",
        ),
        Preset(
            "deepseek-v2-7b",
            "deepseek-ai/DeepSeek-Prover-V2-7B",
            "deepseek-v2-cot",
            32768,
            1,
            "1 GPU (40–80 GB)",
        ),
        Preset(
            "deepseek-v2-671b",
            "deepseek-ai/DeepSeek-Prover-V2-671B",
            "deepseek-v2-cot",
            32768,
            8,
            "8 GPUs of 141 GB (H200) or more; FP8 weights",
        ),
        Preset(
            "goedel-v2-8b",
            "Goedel-LM/Goedel-Prover-V2-8B",
            "goedel-v2",
            40960,
            1,
            "1 GPU (40–80 GB)",
        ),
        Preset(
            "goedel-v2-32b",
            "Goedel-LM/Goedel-Prover-V2-32B",
            "goedel-v2",
            40960,
            2,
            "2 GPUs of 80 GB (≈64 GB of bf16 weights plus KV cache)",
        ),
    ]
}


def resolve(model: str) -> Preset:
    """A preset by short name or Hugging Face id (case-insensitive)."""
    key = model.lower()
    for p in PRESETS.values():
        if key in (p.name, p.hf_id.lower(), p.served_name()):
            return p
    names = ", ".join(PRESETS)
    raise KeyError(f"unknown prover {model!r}; known: {names}")


def vllm_argv(
    p: Preset,
    host: str = "127.0.0.1",
    port: int = 8000,
    gpu_memory_utilization: float = 0.9,
    tensor_parallel: int | None = None,
    max_model_len: int | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    """The ``vllm serve`` command line. The API key is *not* in it: vLLM reads ``VLLM_API_KEY``
    from the environment, so the key never shows in ``ps``."""
    return [
        "vllm",
        "serve",
        p.hf_id,
        "--host",
        host,
        "--port",
        str(port),
        "--served-model-name",
        p.hf_id,
        "--max-model-len",
        str(max_model_len or p.max_model_len),
        "--gpu-memory-utilization",
        str(gpu_memory_utilization),
        "--tensor-parallel-size",
        str(tensor_parallel or p.tensor_parallel),
        "--enable-prefix-caching",
        "--generation-config",
        "vllm",
        *(extra or []),
    ]


def sidecar_settings(p: Preset, url: str, max_model_len: int | None = None) -> dict[str, object]:
    """What the sidecar needs to talk to this endpoint (docs/configuration.md names). Sampling
    is left to the family's published preset; only a smaller served context is passed on."""
    s: dict[str, object] = {"endpoints": [url], "model": p.hf_id, "modelFamily": p.family}
    if max_model_len is not None and max_model_len < FAMILY_PRESETS[p.family].context:
        s["contextTokens"] = max_model_len
    return s


def describe(
    p: Preset, argv: list[str], url: str, api_key_set: bool, max_model_len: int | None = None
) -> str:
    s = sidecar_settings(p, url, max_model_len)
    lines = [
        f"# {p.hf_id} — {p.gpus_note}",
        shlex.join(argv)
        + (
            "   # with VLLM_API_KEY from the environment"
            if api_key_set
            else "   # no API key: bind to loopback or put an authenticating proxy in front"
        ),
        "",
        "# lean-sidecar settings (environment form):",
        f"export LEAN_SIDECAR_ENDPOINTS={url}",
        f"export LEAN_SIDECAR_MODEL={p.hf_id}",
        f"export LEAN_SIDECAR_MODEL_FAMILY={p.family}",
    ]
    if "contextTokens" in s:
        lines.append(f"export LEAN_SIDECAR_CONTEXT_TOKENS={s['contextTokens']}")
    if api_key_set:
        lines.append("export LEAN_SIDECAR_API_KEY=…   # the same key as VLLM_API_KEY")
    lines += ["", "# or as editor settings (leanSidecar section):", json.dumps(s), ""]
    lines += describe_preset(p.family)
    return "\n".join(lines)
