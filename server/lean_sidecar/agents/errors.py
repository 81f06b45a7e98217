"""The one error a tool raises: what went wrong, said so that an agent can act on it, with a
kind it can branch on. The server turns it into an MCP error (never a traceback)."""

from __future__ import annotations

from typing import Literal

from lean_sidecar.settings import env_name, name_settings

#: arguments: the call does not match the tool's schema; path: outside the project or not a
#: .lean file; size: over a bound; position: no hole there; lean: Lean cannot check anything;
#: endpoint: the model endpoint failed; changed: the file changed while the tool worked;
#: internal: a bug (the server's log has the details)
ErrorKind = Literal[
    "arguments", "path", "size", "position", "lean", "endpoint", "changed", "internal"
]
INVALID_INPUT: frozenset[ErrorKind] = frozenset({"arguments", "path", "size", "position"})


class AgentError(Exception):
    """A tool's failure: ``str()`` says what happened and what to do."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


def settings_named(text: str) -> str:
    """``text`` with each settings field written as an agent's user sets it: the editor's
    camelCase key and the variable (``repl_path`` → ``replPath`` (LEAN_SIDECAR_REPL_PATH))."""
    return name_settings(text, _spell)


def _spell(name: str) -> str:
    head, *rest = name.split("_")
    return f"`{head}{''.join(w.title() for w in rest)}` ({env_name(name)})"
