"""Lean's errors, written back to the model in the error-fix format it was trained on.

- Kimina (project-numina/verl@77d0d4c:recipe/kimina_prover_rl/kimina_prover_rl/reward/
  error_fixing.py, the same as MoonshotAI/Kimina-Prover-Preview@3c46bc0:kimina_prover_demo/
  utils.py): ``# Error k:`` with the goals *at the error* (from the infotree node closest to the
  error span), the message, and a ±2-line snippet numbered from the code after its ``import``
  lines; the first 3 errors; feedback over 3,000 characters is not used at all
  (dataset.py@c93e0a4, ``multiturn_max_feedback_length``); one fix turn.
- Goedel (sean-lamont/Goedel-Prover-V2@4e6bda0:src/utils.py, ``get_error_str`` with
  ``error_thres=True`` and ``generate_correction_prompt``): the first 8 errors, 4 lines before,
  ``<error>…</error>`` around the span, 1 line after; the first correction says ``Round 0``.
- DeepSeek-Prover-V2 CoT: no published format; we use Goedel's, which Goedel's harness sends
  to DeepSeek-Prover-V2 (``DeepSeekCoTHandler``). The raw-completion family gets no fix turn.

Feedback is derived from running untrusted code: :func:`sanitize_messages` keeps only Lean's
error messages located in the candidate, and removes file paths and any given secret values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lean_interact.interface import Message

from lean_sidecar.prover.endpoint import GenerationRequest
from lean_sidecar.prover.presets import PRESETS

KIMINA_MAX_ERRORS = 3
KIMINA_MAX_FEEDBACK = 3000
GOEDEL_MAX_ERRORS = 8
MAX_MESSAGE_CHARS = 2000
_PATH = re.compile(r"(?<![\w.])(?:/[\w.@+-]+){2,}/?|[A-Za-z]:\\[^\s:]+")


@dataclass(frozen=True)
class LeanError:
    """One error of Lean's, 1-based lines and 0-based columns as the REPL reports them."""

    line: int
    column: int
    end_line: int | None
    end_column: int | None
    data: str


def _pos(raw: object) -> tuple[int, int] | None:
    if not isinstance(raw, dict):
        return None
    line, col = raw.get("line"), raw.get("column")
    if not isinstance(line, int) or not isinstance(col, int) or line < 1 or col < 0:
        return None
    return line, col


def sanitize_messages(
    messages: Iterable[Message | object], code: str, secrets: Iterable[str] = ()
) -> list[LeanError]:
    """Lean's messages about the candidate, and nothing else: only ``severity == "error"``
    entries whose position lies inside ``code``; message text as a string, absolute file paths
    replaced by ``<path>``, every given secret value by ``<redacted>``, each message capped.
    The verifier hands over lean-interact's typed messages; a raw REPL message (a dict, as a
    recorded transcript has them) is read too. Anything malformed is dropped, not guessed at."""
    n_lines = code.count("\n") + 1
    hidden = [s for s in secrets if len(s) >= 4]
    out: list[LeanError] = []
    for msg in messages:
        read = _read_message(msg)
        if read is None:
            continue
        start, end, data = read
        if start is None or start[0] > n_lines:
            continue
        if end is not None and (end[0] > n_lines or end < start):
            end = None
        for secret in hidden:
            data = data.replace(secret, "<redacted>")
        data = _PATH.sub("<path>", data)[:MAX_MESSAGE_CHARS]
        end_line, end_col = end if end is not None else (None, None)
        out.append(LeanError(start[0], start[1], end_line, end_col, data))
    return out


Point = tuple[int, int] | None


def _read_message(msg: object) -> tuple[Point, Point, str] | None:
    """(start, end, text) of an error message, typed or raw; None for anything else."""
    if isinstance(msg, Message):
        if msg.severity != "error":
            return None
        end = msg.end_pos
        return (
            _pos({"line": msg.start_pos.line, "column": msg.start_pos.column}),
            _pos({"line": end.line, "column": end.column}) if end is not None else None,
            msg.data,
        )
    if not isinstance(msg, dict) or msg.get("severity") != "error":
        return None
    data = msg.get("data")
    if not isinstance(data, str):
        return None
    return _pos(msg.get("pos")), _pos(msg.get("endPos")), data


# ---- Kimina ------------------------------------------------------------------------------------
def import_line_count(code: str) -> int:
    """Lines the Kimina recipe's ``split_proof_header`` treats as the header: the leading run of
    ``import`` lines after leading blank lines (kimina-lean-server ran them as a separate, cached
    command, so error positions and snippet numbers count from the code after them)."""
    stripped = code.strip()
    lead = code[: len(code) - len(code.lstrip())].count("\n")
    k = 0
    for line in stripped.split("\n"):
        if not line.startswith("import"):
            break
        k += 1
    return lead + k


def goals_at_error(infotree: object, error: LeanError, line_offset: int = 0) -> str | None:
    """The goals Kimina shows for an error: the infotree node whose syntax range lies inside the
    error span and is closest to it (``10·|Δline| + |Δcolumn|`` at both ends), its
    ``goalsBefore`` (else ``goalsAfter``) joined by newlines. ``line_offset`` is subtracted from
    the infotree's lines when the tree is file-relative and the error body-relative."""
    if error.end_line is None or error.end_column is None or not isinstance(infotree, list):
        return None
    start, end = (error.line, error.column), (error.end_line, error.end_column)
    best: tuple[int, dict[object, object]] | None = None
    stack = list(infotree)
    while stack:
        tree = stack.pop()
        node = tree.get("node") if isinstance(tree, dict) else None
        stx = node.get("stx") if isinstance(node, dict) else None
        rng = stx.get("range") if isinstance(stx, dict) else None
        if not isinstance(tree, dict) or not isinstance(node, dict) or not isinstance(rng, dict):
            continue  # as in the recipe, a node without a range is not descended into
        a, b = _pos(rng.get("start")), _pos(rng.get("finish"))
        if a is not None and b is not None:
            a, b = (a[0] - line_offset, a[1]), (b[0] - line_offset, b[1])
            if a >= start and end >= b:
                dist = 10 * abs(a[0] - start[0]) + abs(a[1] - start[1])
                dist += 10 * abs(b[0] - end[0]) + abs(b[1] - end[1])
                if best is None or dist < best[0]:
                    best = (dist, node)
        children = tree.get("children")
        if isinstance(children, list):
            stack.extend(children)
    if best is None:
        return None
    goals = best[1].get("goalsBefore") or best[1].get("goalsAfter")
    if not isinstance(goals, list) or not goals:
        return None
    return "\n".join(str(g) for g in goals)


def kimina_tool_message(
    code: str, errors: Sequence[LeanError], goals: Sequence[str | None] = ()
) -> str:
    """The tool message. ``errors`` carry lines counted in ``code`` (the whole checked file);
    they are renumbered from the body after the ``import`` lines, as the model saw them.
    ``goals[i]`` is the goal state at error ``i`` (see :func:`goals_at_error`), or None."""
    offset = import_line_count(code)
    lead = code[: len(code) - len(code.lstrip())].count("\n")
    body = code.strip().split("\n")[offset - lead :]
    out = ""
    for i, err in enumerate(errors[:KIMINA_MAX_ERRORS]):
        out += f"# Error {i + 1}:\n"
        goal = goals[i] if i < len(goals) else None
        if goal:
            out += f"Goals state before error position: \n{goal}\n\n"
        out += f"Error message: \n{err.data.strip()}\n\n"
        at = err.line - 1 - offset
        snippet = "```lean4\n"
        for ln in range(max(0, at - 2), min(len(body), at + 3)):
            text = body[ln].replace("count_heartbeats in", "")
            snippet += f"{ln + 1:03d}{' >' if ln == at else '  '}| {text}\n"
        out += f"Lean 4 code snippet with error:\n{snippet}```\n"
    return out


def kimina_feedback(
    code: str, errors: Sequence[LeanError], goals: Sequence[str | None] = ()
) -> str | None:
    """The tool message, or None where the recipe would not use it (no errors, or over 3,000
    characters: the RL recipe drops such feedback rather than cutting it)."""
    text = kimina_tool_message(code, errors, goals)
    if not text or len(text) > KIMINA_MAX_FEEDBACK:
        return None
    return text


# ---- Goedel ------------------------------------------------------------------------------------
def goedel_error_message(code: str, errors: Sequence[LeanError]) -> str:
    """``get_error_str(code, errors, error_thres=True)``: positions count in ``code`` (Goedel
    compiles the whole file as one command)."""
    lines = code.split("\n")
    out = ""
    for i, err in enumerate(errors[:GOEDEL_MAX_ERRORS]):
        sl, sc = err.line - 1, err.column
        if sl >= len(lines):
            continue
        if err.end_line is None or err.end_column is None:
            el, ec = sl, len(lines[sl])
        else:
            el, ec = min(err.end_line - 1, len(lines) - 1), err.end_column
        out += f"\nError {i + 1}:\n\nCorresponding Code:\n```lean4\n"
        block = "".join(f"{lines[sl + k]}\n" for k in range(-4, 0) if sl + k >= 0)
        if sl != el:
            block += lines[sl][:sc] + "<error>" + lines[sl][sc:] + "\n"
            j = sl
            for j in range(sl + 1, min(el, sl + 6)):
                block += f"{lines[j]}\n"
            if el > sl + 6:
                lead = len(lines[j]) - len(lines[j].lstrip(" "))
                block += "\n" + " " * lead + "... --[Truncated]-- ...\n"
            block += lines[el][:ec] + "</error>" + lines[el][ec:] + "\n"
        else:
            line = lines[sl]
            block += line[:sc] + "<error>" + line[sc:ec] + "</error>" + line[ec:] + "\n"
        if el + 1 < len(lines):
            block += f"{lines[el + 1]}\n"
        out += block + "\n```\n" + f"\nError Message: {err.data}\n"
    if len(errors) > GOEDEL_MAX_ERRORS:
        out += f"\n... [Omitted {len(errors) - GOEDEL_MAX_ERRORS} more errors] ...\n"
    return out


def goedel_feedback(code: str, errors: Sequence[LeanError], correction: int) -> str:
    """The user turn of correction number ``correction`` (1 for the first), which the trained
    format calls ``Round {correction - 1}``."""
    return (
        f"The proof (Round {correction - 1}) is not correct. Following is the compilation error "
        "message, where we use <error></error> to signal the position of the error.\n\n"
        f"{goedel_error_message(code, errors)}\n\nBefore producing the Lean 4 code to formally "
        "prove the given theorem, provide a detailed analysis of the error message."
    )


# ---- the fix turn ------------------------------------------------------------------------------
def previous_turn(text: str, reasoning: str, keep_reasoning: bool) -> str:
    """The model's previous answer as it goes back into the conversation. The recipes send the
    raw output, ``<think>`` part included; when vLLM's reasoning parser split it off into
    ``reasoning``, the tags are put back around it so the model sees what it wrote."""
    if keep_reasoning and reasoning and "<think>" not in text:
        return f"<think>{reasoning}</think>{text}"
    return text


def fix_feedback(
    fix_format: str,
    code: str,
    errors: Sequence[LeanError],
    goals: Sequence[str | None],
    correction: int,
) -> str | None:
    """The next user turn in ``fix_format`` ("kimina", "goedel"), or None where the trained
    format has no such turn (no errors, Kimina feedback over 3,000 characters, or "none")."""
    if not errors:
        return None
    if fix_format == "kimina":
        return kimina_feedback(code, errors, goals)
    if fix_format == "goedel":
        return goedel_feedback(code, errors, correction)
    return None


def fix_turn(
    previous: GenerationRequest,
    answer: str,
    family: str,
    code: str,
    errors: Sequence[Message | object],
    correction: int,
    n: int,
    *,
    reasoning: str = "",
    infotree: object = None,
    secrets: Iterable[str] = (),
) -> GenerationRequest | None:
    """The conversation continued in the family's trained fix format: the previous answer
    (with its reasoning where the family was trained so), then Lean's sanitized errors. None
    where the format has no such turn: a completion family, no errors about the candidate,
    Kimina feedback over 3,000 characters, or more corrections than the family was trained
    with. ``correction`` is 1 for the first correction."""
    preset = PRESETS[family]
    if preset.kind != "chat" or correction > preset.fix_rounds:
        return None
    clean = sanitize_messages(errors, code, secrets)
    goals = [goals_at_error(infotree, e) for e in clean] if infotree is not None else []
    feedback = fix_feedback(preset.fix_format, code, clean, goals, correction)
    if feedback is None:
        return None
    messages = [
        *previous.messages,
        {
            "role": "assistant",
            "content": previous_turn(answer, reasoning, preset.reasoning == "keep"),
        },
        {"role": "user", "content": feedback},
    ]
    return GenerationRequest(
        "chat",
        previous.model,
        n,
        previous.temperature,
        previous.top_p,
        previous.max_tokens,
        messages=messages,
        stop=list(previous.stop),
    )
