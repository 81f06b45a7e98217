"""Decomposition: a proof sketch whose steps are ``have name : stmt := by sorry``
(DeepSeek-Prover-V2 style), and the negation of a sub-goal for the false-lemma filter."""

from __future__ import annotations

import re
from dataclasses import replace

from lean_bridge.candidate_filter import Verdict, check_candidate
from lean_bridge.goal_parse import Declined, to_lemma
from lean_sidecar.prover.endpoint import GenerationRequest
from lean_sidecar.prover.families import settings_request
from lean_sidecar.prover.task import ProofTask
from lean_sidecar.settings import Settings

SKETCH_INSTRUCTION = (
    "\n\nDo not prove the theorem directly. Write a proof sketch in Lean 4: state the key "
    "intermediate facts as `have name : statement := by sorry` steps, then close the goal from "
    "them. Give the whole theorem with the sketch in one final ```lean4 block."
)
_SORRY = re.compile(r"(?<![\w.'])sorry(?![\w'])")
NEGATION_NAME = "sidecar_negation"


def sketch_request(task: ProofTask, family: str, s: Settings, n: int) -> GenerationRequest:
    """The sketch request: the family's first turn with :data:`SKETCH_INSTRUCTION` appended,
    always as chat (a completion family is asked in Kimina's chat form)."""
    req = settings_request(task, "kimina" if family == "deepseek-v2" else family, s, n)
    messages = [dict(m) for m in req.messages]
    messages[-1]["content"] += SKETCH_INSTRUCTION
    return replace(req, messages=messages, kind="chat", prompt="")


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
