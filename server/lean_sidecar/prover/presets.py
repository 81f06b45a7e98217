"""Sampling presets per prover family, as the model publishers ran them.

A model samples best the way it was trained and evaluated: Goedel-Prover-V2 at temperature 1.0
with up to ~40k tokens, Kimina's RL recipe at 1.0 with ~24k, DeepSeek-Prover-V2 non-CoT as a raw
completion cut at the closing fence. Each value names its source (``repo@commit:path``) so
docs/provers.md can cite it; values the publishers did not state are marked as our choice.

Settings override presets field by field (see :func:`resolve_sampling`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Reasoning = Literal["keep", "none"]

# Characters per token assumed when fitting ``max_tokens`` into the context. Lean source with
# Unicode symbols tokenises at roughly 2.5-3.5 characters per token; 2 is deliberately low so the
# estimate of the prompt's size errs on the large side and vLLM never rejects the request for
# asking more than the context holds.
CHARS_PER_TOKEN = 2
CONTEXT_MARGIN = 64  # chat-template tokens around the messages


@dataclass(frozen=True)
class SamplingPreset:
    """How one family is asked. ``max_tokens`` is an upper bound; the request gets
    ``min(max_tokens, context - prompt)`` so long reasoning is not cut by a fixed cap."""

    family: str
    kind: Literal["chat", "completion"]
    temperature: float
    top_p: float
    max_tokens: int
    context: int
    stop: tuple[str, ...] = ()
    # "keep": the previous answer goes back into a fix turn with its <think> part, as trained.
    reasoning: Reasoning = "none"
    fix_format: Literal["kimina", "goedel", "none"] = "none"
    fix_rounds: int = 1
    sources: dict[str, str] = field(default_factory=dict)


PRESETS: dict[str, SamplingPreset] = {
    "kimina": SamplingPreset(
        "kimina",
        "chat",
        temperature=1.0,
        top_p=0.95,
        max_tokens=24576,
        context=32768,
        reasoning="keep",
        fix_format="kimina",
        fix_rounds=1,
        sources={
            "temperature, top_p": "project-numina/verl@4615975:recipe/kimina_prover_rl/"
            "kimina_prover_1.7B.sh (val_kwargs.temperature=1, top_p=0.95)",
            "max_tokens, context": "same file: model_max_len=32768, max_prompt_length=8192, "
            "max_response_length=model_max_len-max_prompt_length",
            "prompt": "project-numina/verl@3528a43:recipe/kimina_prover_rl/prepare_data.py",
            "fix turn": "project-numina/verl@77d0d4c:recipe/kimina_prover_rl/kimina_prover_rl/"
            "reward/error_fixing.py; dataset.py@c93e0a4 (previous answer kept verbatim, "
            "feedback over 3000 characters not used, n_turns=2)",
        },
    ),
    "kimina-preview": SamplingPreset(
        "kimina-preview",
        "chat",
        temperature=0.6,
        top_p=0.95,
        max_tokens=32768,
        context=32768,
        reasoning="keep",
        fix_format="kimina",
        fix_rounds=1,
        sources={
            "temperature, top_p": "HF card AI-MO/Kimina-Prover-Preview-Distill-1.5B "
            "(SamplingParams(temperature=0.6, top_p=0.95, max_tokens=8096))",
            "max_tokens": "our choice: the card's 8096 cuts off a quarter of the published "
            "verified Preview answers (over 20,000 characters); the request fills the context",
            "prompt": "same card; also sean-lamont/Goedel-Prover-V2@4e6bda0:src/utils.py "
            "(KiminaCoTHandler)",
        },
    ),
    "deepseek-v2-cot": SamplingPreset(
        "deepseek-v2-cot",
        "chat",
        temperature=1.0,
        top_p=0.95,
        max_tokens=32768,
        context=32768,
        reasoning="keep",
        fix_format="goedel",
        fix_rounds=2,
        sources={
            "prompt": "deepseek-ai/DeepSeek-Prover-V2@24ec082:README.md (Quick Start)",
            "temperature, top_p": "not published by DeepSeek; the Goedel-Prover-V2 harness that "
            "evaluates it: sean-lamont/Goedel-Prover-V2@12afbba:src/inference.py "
            "(temp 1.0, top_p=0.95, max_tokens=max_model_len)",
            "context": "DeepSeek-Prover-V2 paper (arXiv 2504.21801): 32,768-token context",
            "fix turn": "our choice: Goedel's DeepSeekCoTHandler.generate_correction_prompt "
            "(sean-lamont/Goedel-Prover-V2@4e6bda0:src/utils.py); DeepSeek published none",
        },
    ),
    "deepseek-v2": SamplingPreset(
        "deepseek-v2",
        "completion",
        temperature=1.0,
        top_p=0.95,
        max_tokens=32768,
        context=32768,
        stop=("```",),
        reasoning="none",
        fix_format="none",
        fix_rounds=0,
        sources={
            "prompt, stop": "deepseek-ai/DeepSeek-Prover-V1.5@da2a54b:prover/utils.py "
            "(non-CoT prompt; output cut at the first ```); "
            "sean-lamont/Goedel-Prover-V2@4e6bda0:src/utils.py (DeepSeekNonCoTHandler)",
            "temperature, top_p": "deepseek-ai/DeepSeek-Prover-V1.5@2c4ba91:configs/sampling.py "
            "(temperature=1, top_p=0.95)",
            "fix turn": "none: a raw completion has no conversation to continue",
        },
    ),
    "goedel-v2": SamplingPreset(
        "goedel-v2",
        "chat",
        temperature=1.0,
        top_p=0.95,
        max_tokens=32768,
        context=40960,
        reasoning="keep",
        fix_format="goedel",
        fix_rounds=2,
        sources={
            "prompt": "Goedel-LM/Goedel-Prover-V2@357c1fa:README.md (Quick Start)",
            "temperature, top_p, context": "sean-lamont/Goedel-Prover-V2@12afbba:"
            "scripts/pipeline.sh (TEMPERATURE=1.0, MAX_MODEL_LEN=40960, "
            "MAX_CORRECTION_ROUNDS=2); src/inference.py (top_p=0.95)",
            "max_tokens": "Goedel-LM/Goedel-Prover-V2@357c1fa:README.md (32B: 32768 new tokens)",
            "fix turn": "sean-lamont/Goedel-Prover-V2@4e6bda0:src/utils.py "
            "(get_error_str, generate_correction_prompt)",
        },
    ),
}

# Hover asks a completion-style model for the next tactic only: a short continuation that ends
# at a blank line (a new proof paragraph). It does not wait for a closing fence, which the model
# only writes after the whole proof.
HOVER_STOP = ("\n\n", "```")
HOVER_MAX_TOKENS = 256

GENERIC_DEFAULTS = {"temperature": 0.6, "top_p": 0.95, "max_tokens": 8192}


@dataclass(frozen=True)
class Sampling:
    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...]


def fit_max_tokens(
    preset: SamplingPreset,
    prompt_chars: int,
    wanted: int | None = None,
    context: int | None = None,
) -> int:
    """``max_tokens`` that fits the context next to a prompt of ``prompt_chars`` characters
    (vLLM rejects a request whose prompt plus ``max_tokens`` exceeds ``--max-model-len``).
    ``context`` is the served ``--max-model-len`` when it differs from the model's."""
    prompt_tokens = -(-prompt_chars // CHARS_PER_TOKEN) + CONTEXT_MARGIN
    room = (context or preset.context) - prompt_tokens
    return max(1, min(wanted if wanted is not None else preset.max_tokens, room))


def resolve_sampling(
    family: str,
    temperature: float,
    top_p: float,
    max_tokens: int,
    prompt_chars: int = 0,
    use_preset: bool = True,
    context: int | None = None,
) -> Sampling:
    """The sampling for one request. A setting that differs from the generic default (0.6, 0.95,
    8192) is the user's override and wins; otherwise the family's published value is used.
    ``use_preset=False`` (setting ``familySampling: false``) sends the settings as they are."""
    preset = PRESETS[family]
    if not use_preset:
        return Sampling(
            temperature,
            top_p,
            fit_max_tokens(preset, prompt_chars, max_tokens, context),
            preset.stop,
        )
    t = temperature if temperature != GENERIC_DEFAULTS["temperature"] else preset.temperature
    p = top_p if top_p != GENERIC_DEFAULTS["top_p"] else preset.top_p
    wanted = max_tokens if max_tokens != GENERIC_DEFAULTS["max_tokens"] else preset.max_tokens
    return Sampling(t, p, fit_max_tokens(preset, prompt_chars, wanted, context), preset.stop)


def describe_preset(family: str) -> list[str]:
    """Lines for ``lean-sidecar endpoint serve``: each value and where it comes from."""
    p = PRESETS[family]
    lines = [
        f"# sampling for family {family}: {p.kind}, temperature={p.temperature}, "
        f"top_p={p.top_p}, max_tokens<={p.max_tokens} (fitted to a {p.context}-token context)",
        f"#   stop={list(p.stop)}, reasoning in fix turns={p.reasoning}, "
        f"fix format={p.fix_format} x{p.fix_rounds}",
    ]
    lines += [f"#   {what}: {src}" for what, src in p.sources.items()]
    return lines
