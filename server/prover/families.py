"""Prompt dialects of the prover families (shared/reference/prover-models.md §1.8).

Each family gets its published prompt, endpoint kind and sampling defaults; the request builder
is data-driven so that adding a family is a table entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lean_sidecar.prover.endpoint import GenerationRequest
from lean_sidecar.prover.task import ProofTask

Family = Literal["kimina", "kimina-preview", "deepseek-v2-cot", "deepseek-v2", "goedel-v2"]

KIMINA_SYSTEM = "You are an expert in mathematics and proving theorems in Lean 4."
KIMINA_PREVIEW_SYSTEM = "You are an expert in mathematics and Lean 4."
KIMINA_PROMPT = (
    "Think about and solve the following problems step by step in Lean 4.\n\n"
    "# Problem:\n{problem}\n\n# Formal Statement:\n```lean4\n{statement}\n```\n"
)
KIMINA_PREVIEW_PROMPT = (
    "Think about and solve the following problem step by step in Lean 4.\n# Problem:{problem}"
    "\n# Formal statement:\n```lean4\n{statement}\n```\n"
)
PLAN_REQUEST = (
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed "
    "proof plan outlining the main proof steps and strategies.\nThe plan should highlight key "
    "ideas, intermediate lemmas, and proof structures that will guide the construction of the "
    "final formal proof."
)
DEEPSEEK_PROMPT = (
    "Complete the following Lean 4 code:\n\n```lean4\n{statement}\n```\n\n" + PLAN_REQUEST
)
GOEDEL_PROMPT = "Complete the following Lean 4 code:\n\n```lean4\n{statement}```\n\n" + PLAN_REQUEST


@dataclass(frozen=True)
class Dialect:
    family: Family
    kind: Literal["chat", "completion"]
    system: str | None
    template: str
    statement_suffix: str  # appended to a statement that ends in ":= by"


DIALECTS: dict[str, Dialect] = {
    "kimina": Dialect("kimina", "chat", KIMINA_SYSTEM, KIMINA_PROMPT, ""),
    "kimina-preview": Dialect(
        "kimina-preview", "chat", KIMINA_PREVIEW_SYSTEM, KIMINA_PREVIEW_PROMPT, ""
    ),
    "deepseek-v2-cot": Dialect("deepseek-v2-cot", "chat", None, DEEPSEEK_PROMPT, "\n  sorry"),
    "goedel-v2": Dialect("goedel-v2", "chat", None, GOEDEL_PROMPT, " sorry"),
    "deepseek-v2": Dialect(
        "deepseek-v2",
        "completion",
        None,
        "Complete the following Lean 4 code:\n\n```lean4\n{statement}",
        "\n",
    ),
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
    parts = [p for p in (task.header, task.context, task.statement) if p.strip()]
    return "\n\n".join(parts)


def build_request(
    task: ProofTask,
    family: str,
    model: str | None,
    n: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
) -> GenerationRequest:
    dialect = DIALECTS[family]
    statement = full_statement(task) + dialect.statement_suffix
    problem = task.goal or ""
    text = dialect.template.format(statement=statement, problem=problem)
    if dialect.kind == "completion":
        return GenerationRequest(
            "completion", model, n, temperature, top_p, max_tokens, prompt=text, stop=["```"]
        )
    messages = [{"role": "system", "content": dialect.system}] if dialect.system else []
    messages.append({"role": "user", "content": text})
    return GenerationRequest("chat", model, n, temperature, top_p, max_tokens, messages=messages)
