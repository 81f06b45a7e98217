"""The first-turn prompt of each prover family, character for character as published.

Models are sensitive to the exact text they were trained on: the blank lines of the file header
(``import Mathlib\\nimport Aesop\\n\\nset_option maxHeartbeats 400000\\n\\nopen …``), the
spelling ``# Formal Statement:`` vs ``# Formal statement:``, whether the statement ends in
``:= by``, ``:= by sorry`` or ``:= by\\n  sorry``, whether a newline precedes the closing fence.
Each template below names its source; tests/test_prompt_golden.py pins the exact strings.
"""

from __future__ import annotations

import re

# project-numina/verl@3528a43:recipe/kimina_prover_rl/prepare_data.py (PROMPT, SYSTEM_PROMPT)
KIMINA_SYSTEM = "You are an expert in mathematics and proving theorems in Lean 4."
KIMINA_PROMPT = (
    "Think about and solve the following problems step by step in Lean 4.\n\n"
    "# Problem:\n{problem}\n\n# Formal Statement:\n```lean4\n{statement}\n```\n"
)
# HF card AI-MO/Kimina-Prover-Preview-Distill-1.5B ("Quick Start with vLLM")
KIMINA_PREVIEW_SYSTEM = "You are an expert in mathematics and Lean 4."
KIMINA_PREVIEW_PROMPT = (
    "Think about and solve the following problem step by step in Lean 4."
    "\n# Problem:{problem}\n# Formal statement:\n```lean4\n{statement}\n```\n"
)
# deepseek-ai/DeepSeek-Prover-V2@24ec082:README.md; Goedel-LM/Goedel-Prover-V2@357c1fa:README.md
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
# deepseek-ai/DeepSeek-Prover-V1.5@da2a54b:prover/utils.py (non-CoT); the statement ends ":= by"
# as in sean-lamont/Goedel-Prover-V2@4e6bda0:src/utils.py (DeepSeekNonCoTHandler).
COMPLETION_PROMPT = "Complete the following Lean 4 code:\n\n```lean4\n{statement}"

# How the statement ends in each family's training data.
STATEMENT_ENDINGS = {
    "kimina": "",  # ":= by"
    "kimina-preview": "\n",  # the card's formal_statement is a triple-quoted ":= by\n"
    "deepseek-v2-cot": "\n  sorry",  # README: ":= by\n  sorry" (after .strip())
    "goedel-v2": " sorry",  # harness: statement.split(":= by")[0] + ":= by sorry"
    "deepseek-v2": "",  # ":= by"; the completion continues the proof
}

_HEADER_GROUPS = ("import", "set_option", "open")
_DOCSTRING = re.compile(r"\A\s*/--(.*?)-/", re.S)


def layout_header(header: str) -> str:
    """The file header laid out as in the models' training data: one blank line between a run
    of ``import`` lines, a run of ``set_option`` lines and a run of ``open`` lines (and anything
    else), e.g. ``import Mathlib\\nimport Aesop\\n\\nset_option maxHeartbeats 400000\\n\\nopen
    BigOperators Real Nat Topology Rat``. Existing blank lines collapse to one."""
    out: list[str] = []
    previous: str | None = None
    for line in header.split("\n"):
        if not line.strip():
            continue
        word = line.split(None, 1)[0]
        group = word if word in _HEADER_GROUPS else "other"
        if previous is not None and group != previous:
            out.append("")
        out.append(line.rstrip())
        previous = group
    return "\n".join(out)


def informal_statement(statement: str) -> str:
    """The docstring in front of the declaration (miniF2F puts the informal problem there), with
    its delimiters and surrounding whitespace removed; empty when there is none."""
    m = _DOCSTRING.match(statement)
    return m.group(1).strip() if m else ""


def formal_statement(header: str, context: str, statement: str, family: str) -> str:
    """Header (laid out), earlier declarations, then the statement with the family's ending.
    ``statement`` ends in ``:= by``."""
    parts = [p for p in (layout_header(header), context.strip("\n"), statement) if p.strip()]
    return "\n\n".join(parts) + STATEMENT_ENDINGS[family]


def user_prompt(family: str, formal: str, problem: str) -> str:
    """The user turn (or, for ``deepseek-v2``, the raw completion prompt)."""
    if family == "kimina":
        return KIMINA_PROMPT.format(problem=problem, statement=formal)
    if family == "kimina-preview":
        return KIMINA_PREVIEW_PROMPT.format(problem=problem, statement=formal)
    if family == "deepseek-v2-cot":
        return DEEPSEEK_PROMPT.format(statement=formal)
    if family == "goedel-v2":
        return GOEDEL_PROMPT.format(statement=formal)
    if family == "deepseek-v2":
        return COMPLETION_PROMPT.format(statement=formal)
    raise KeyError(family)


def system_prompt(family: str) -> str | None:
    return {"kimina": KIMINA_SYSTEM, "kimina-preview": KIMINA_PREVIEW_SYSTEM}.get(family)


def chat_messages(family: str, formal: str, problem: str) -> list[dict[str, str]]:
    system = system_prompt(family)
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user_prompt(family, formal, problem)})
    return messages
