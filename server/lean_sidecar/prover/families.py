"""Prompt dialects of the prover families: published prompt (server/lean_sidecar/prover/prompts.py),
endpoint kind and sampling (server/lean_sidecar/prover/presets.py), put together as one request.

The request builder is data-driven so that adding a family is a table entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lean_sidecar.prover.endpoint import GenerationRequest
from lean_sidecar.prover.presets import PRESETS, Sampling, resolve_sampling
from lean_sidecar.prover.prompts import (
    STATEMENT_ENDINGS,
    chat_messages,
    formal_statement,
    informal_statement,
    user_prompt,
)
from lean_sidecar.prover.task import ProofTask
from lean_sidecar.settings import Settings

Family = Literal["kimina", "kimina-preview", "deepseek-v2-cot", "deepseek-v2", "goedel-v2"]


@dataclass(frozen=True)
class Dialect:
    family: Family
    kind: Literal["chat", "completion"]
    statement_suffix: str  # appended to a statement that ends in ":= by"


DIALECTS: dict[str, Dialect] = {
    name: Dialect(name, PRESETS[name].kind, STATEMENT_ENDINGS[name])  # type: ignore[arg-type]
    for name in ("kimina", "kimina-preview", "deepseek-v2-cot", "goedel-v2", "deepseek-v2")
}


def guess_family(model_name: str | None) -> Family:
    name = (model_name or "").lower()
    if "kimina" in name:
        return "kimina-preview" if "preview" in name else "kimina"
    if "deepseek-prover-v2" in name or "deepseek-prover" in name:
        return "deepseek-v2-cot"
    if "goedel" in name:
        return "goedel-v2"
    return "kimina"


def full_statement(task: ProofTask) -> str:
    """The statement block the model sees, without the family's ending (for the completion
    prefix: the prompt's open block is this plus ``DIALECTS[family].statement_suffix``)."""
    return formal_statement(task.header, task.context, task.statement, "kimina")


def problem_text(task: ProofTask) -> str:
    """Kimina's ``# Problem:``: the informal statement from the declaration's docstring."""
    return informal_statement(task.statement)


def prompt_text(task: ProofTask, family: str) -> str:
    """The whole prompt as characters (for fitting ``max_tokens`` into the context)."""
    formal = formal_statement(task.header, task.context, task.statement, family)
    return "".join(m["content"] for m in chat_messages(family, formal, problem_text(task)))


def request_for(
    task: ProofTask, family: str, model: str | None, n: int, sampling: Sampling
) -> GenerationRequest:
    """The first-turn request with the given sampling (see ``presets.resolve_sampling``)."""
    formal = formal_statement(task.header, task.context, task.statement, family)
    problem = problem_text(task)
    s = sampling
    if DIALECTS[family].kind == "completion":
        return GenerationRequest(
            "completion",
            model,
            n,
            s.temperature,
            s.top_p,
            s.max_tokens,
            prompt=user_prompt(family, formal, problem),
            stop=list(s.stop),
        )
    return GenerationRequest(
        "chat",
        model,
        n,
        s.temperature,
        s.top_p,
        s.max_tokens,
        messages=chat_messages(family, formal, problem),
        stop=list(s.stop),
    )


def build_request(
    task: ProofTask,
    family: str,
    model: str | None,
    n: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
    use_preset: bool = True,
    context: int | None = None,
) -> GenerationRequest:
    """The first-turn request; settings that differ from the generic defaults override the
    family's published sampling, and ``max_tokens`` is fitted to the model's context."""
    sampling = resolve_sampling(
        family, temperature, top_p, max_tokens, len(prompt_text(task, family)), use_preset, context
    )
    return request_for(task, family, model, n, sampling)


def settings_request(task: ProofTask, family: str, s: Settings, n: int) -> GenerationRequest:
    """:func:`build_request` with the user's sampling settings: the one way a search, a sketch
    and a failing tactic's replacements ask a chat or whole-proof model."""
    return build_request(
        task,
        family,
        s.model,
        n,
        s.temperature,
        s.top_p,
        s.max_tokens,
        use_preset=s.family_sampling,
        context=s.context_tokens,
    )
