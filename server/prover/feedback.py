"""Lean's errors, written back to the model in its family's published error-fix format
(shared/reference/prover-models.md §1.3 Kimina, §1.7 Goedel; DeepSeek-V2 uses Goedel's)."""

from __future__ import annotations

from typing import Any

from lean_sidecar.prover.endpoint import GenerationRequest


def _line_col(error: dict[str, Any], key: str) -> tuple[int, int] | None:
    pos = error.get(key)
    if not isinstance(pos, dict):
        return None
    return int(pos.get("line", 1)) - 1, int(pos.get("column", 0))


def kimina_tool_message(code: str, errors: list[dict[str, Any]], goal: str | None = None) -> str:
    """``# Error k:`` blocks: the goals (when known), the message, a numbered ±2-line snippet
    with `` >`` on the error line; the first 3 errors, at most 3000 characters."""
    lines = code.split("\n")
    parts = []
    for k, err in enumerate(errors[:3]):
        at = _line_col(err, "pos") or (0, 0)
        snippet = []
        for ln in range(max(0, at[0] - 2), min(len(lines), at[0] + 3)):
            marker = " >" if ln == at[0] else "  "
            snippet.append(f"{ln + 1:03d}{marker}| {lines[ln]}")
        block = f"# Error {k + 1}:\n"
        message = str(err.get("data", "")).strip()
        if goal and not message.startswith("unsolved goals"):
            block += f"Goals state before error position: \n{goal}\n\n"
        block += f"Error message: \n{message}\n\nLean 4 code snippet with error:\n```lean4\n"
        block += "\n".join(snippet) + "\n```\n"
        parts.append(block)
    return "".join(parts)[:3000]


def goedel_error_message(code: str, errors: list[dict[str, Any]]) -> str:
    """``Error k:`` with the code around the error and ``<error>…</error>`` around its span;
    the first 8 errors."""
    lines = code.split("\n")
    out = ""
    for k, err in enumerate(errors[:8]):
        start = _line_col(err, "pos") or (0, 0)
        end = _line_col(err, "endPos")
        ln, col = start
        line = lines[ln] if ln < len(lines) else ""
        if end is not None and end[0] == ln:
            marked = line[:col] + "<error>" + line[col : end[1]] + "</error>" + line[end[1] :]
        else:
            marked = line[:col] + "<error>" + line[col:] + "</error>"
        context = [*lines[max(0, ln - 4) : ln], marked, *lines[ln + 1 : ln + 2]]
        out += f"\nError {k + 1}:\n\nCorresponding Code:\n```lean4\n" + "\n".join(context)
        out += f"\n```\n\nError Message: {str(err.get('data', '')).strip()}\n"
    if len(errors) > 8:
        out += f"\n... [Omitted {len(errors) - 8} more errors] ...\n"
    return out


def fix_request(
    previous: GenerationRequest,
    answer: str,
    family: str,
    code: str,
    errors: list[dict[str, Any]],
    goal: str | None,
    round_no: int,
    n: int,
) -> GenerationRequest:
    """The conversation continued: the model's answer verbatim, then Lean's errors."""
    if family.startswith("kimina"):
        feedback = kimina_tool_message(code, errors, goal)
    else:
        feedback = (
            f"The proof (Round {round_no}) is not correct. Following is the compilation error "
            "message, where we use <error></error> to signal the position of the error.\n\n"
            f"{goedel_error_message(code, errors)}\n\nBefore producing the Lean 4 code to formally "
            "prove the given theorem, provide a detailed analysis of the error message."
        )
    messages = [
        *previous.messages,
        {"role": "assistant", "content": answer},
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
    )
