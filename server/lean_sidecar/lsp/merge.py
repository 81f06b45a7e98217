"""How the sidecar's answers combine with Lean's: pure functions over JSON."""

from __future__ import annotations

from typing import Any

SEPARATOR = "\n\n---\n\n"


def combine_own(method: str, answers: list[Any]) -> Any:
    """The features' answers to one request, as one answer (None when they have nothing)."""
    answers = [a for a in answers if a]
    if method == "textDocument/codeAction":
        return [x for a in answers for x in a] or None
    if method == "textDocument/hover":
        return SEPARATOR.join(answers) or None
    return None


def merge_answer(method: str, lean: Any, ours: Any) -> Any:
    """Lean's answer with the sidecar's added: actions appended, hover text below Lean's."""
    if not ours:
        return lean
    if method == "textDocument/codeAction":
        return list(lean or []) + list(ours)
    if method == "textDocument/hover":
        if not lean:
            return {"contents": {"kind": "markdown", "value": ours}}
        value = markdown_of(lean.get("contents"))
        return {**lean, "contents": {"kind": "markdown", "value": f"{value}{SEPARATOR}{ours}"}}
    return lean


def markdown_of(contents: Any) -> str:
    """Hover contents of any LSP shape (MarkupContent, MarkedString, a list) as markdown."""
    if isinstance(contents, dict):
        value = str(contents.get("value", ""))
        return value if contents.get("kind", "markdown") == "markdown" else f"```\n{value}\n```"
    if isinstance(contents, list):
        return "\n\n".join(markdown_of(c) for c in contents)
    return str(contents or "")


def owns_action(action: Any) -> bool:
    """Whether a code action (in codeAction/resolve) is one the sidecar made."""
    data = action.get("data") if isinstance(action, dict) else None
    return isinstance(data, dict) and "leanSidecar" in data
