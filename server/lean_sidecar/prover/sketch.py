"""Decomposition: a proof sketch whose steps are ``have name : stmt := by sorry``
(DeepSeek-Prover-V2 style), and the negation of a sub-goal for the false-lemma filter."""

from __future__ import annotations

import re

from lean_bridge.candidate_filter import Verdict, check_candidate
from lean_bridge.goal_parse import Declined, to_lemma
from lean_sidecar.prover.endpoint import GenerationRequest
from lean_sidecar.prover.families import build_request
from lean_sidecar.prover.task import ProofTask

SKETCH_INSTRUCTION = (
    "\n\nDo not prove the theorem directly. Write a proof sketch in Lean 4: state the key "
    "intermediate facts as `have name : statement := by sorry` steps, then close the goal from "
    "them. Give the whole theorem with the sketch in one final ```lean4 block."
)
_SORRY = re.compile(r"(?<![\w.'])sorry(?![\w'])")
NEGATION_NAME = "sidecar_negation"


def sketch_request(
    task: ProofTask,
    family: str,
    model: str | None,
    n: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
) -> GenerationRequest:
    req = build_request(
        task,
        "kimina" if family == "deepseek-v2" else family,
        model,
        n,
        temperature,
        top_p,
        max_tokens,
    )
    messages = [dict(m) for m in req.messages]
    messages[-1]["content"] += SKETCH_INSTRUCTION
    return GenerationRequest("chat", model, n, temperature, top_p, max_tokens, messages=messages)


def check_sketch(script: str, allow_native_decide: bool = False) -> Verdict:
    """The untrusted-code filter for a sketch: its ``sorry`` placeholders are the only
    exception, and a sketch must have at least one."""
    if not _SORRY.search(script):
        return Verdict(False, "a sketch must leave sorry placeholders")
    return check_candidate(_SORRY.sub("skip", script), allow_native_decide=allow_native_decide)


def negation_statement(goal: str) -> str | None:
    """``x : ℝ⏎h : 0 < x⏎⊢ P x`` becomes
    ``theorem sidecar_negation : ¬(∀ (x : ℝ) (h : 0 < x), P x) := by``; ``None`` for a goal
    that cannot be stated (metavariables), see :func:`lean_sidecar.prover.task.decline_reason`."""
    lemma = to_lemma(goal)
    if isinstance(lemma, Declined):
        return None
    body = f"∀ {' '.join(lemma.binders)}, {lemma.target}" if lemma.binders else lemma.target
    levels = ".{" + ", ".join(lemma.universes) + "}" if lemma.universes else ""
    return f"theorem {NEGATION_NAME}{levels} : ¬({body}) := by"
