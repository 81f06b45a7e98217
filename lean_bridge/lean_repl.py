"""What the verifier and the search need of "a Lean REPL": commands in the environment of a file's
prefix, with their typed answers (``repl_results``), and one REPL held for tactic steps.

Two backends satisfy it: ``repl_pool.ReplPool`` (local processes through lean-interact, in the
sandbox) and ``remote_pool.RemotePool`` (Kimina Lean Servers over HTTP, round-robin). The
verifier's trust chain (the gate before, the parse of record and the axiom audit after) runs on
our side over either: a backend only has to return the same ``CommandResult``s, with Lean's info
tree for the commands that ask for it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

from lean_bridge.repl_results import CommandResult, StepResult

if TYPE_CHECKING:
    from lean_bridge.repl_pool import ReplSettings


class TacticRepl(Protocol):
    """One REPL held for a sequence of requests (proof-state ids live in that process)."""

    async def command(self, prefix: str, cmd: str) -> CommandResult: ...

    async def tactic(self, proof_state: int, tactic: str) -> StepResult: ...


class LeanRepl(Protocol):
    """Commands in the environment of a prefix, as ``ReplPool`` runs them."""

    @property
    def settings(self) -> ReplSettings:
        """The project the checks are for and the per-command time limit (``timeout``)."""
        ...

    async def start(self) -> None:
        """Ready to check (raises ``ReplUnavailable`` with the reason when it cannot be)."""
        ...

    async def close(self) -> None: ...

    async def command(
        self, prefix: str, cmd: str, timeout: float | None = None
    ) -> CommandResult: ...

    async def commands(
        self,
        prefix: str,
        cmds: list[str],
        timeout: float | None = None,
        *,
        infotree: frozenset[int] = frozenset(),
    ) -> list[CommandResult]:
        """``cmds`` one after another, each in the environment the previous one left; each
        command's messages are its own; those whose index is in ``infotree`` carry Lean's full
        info tree."""
        ...

    def session(self) -> AbstractAsyncContextManager[TacticRepl]:
        """One REPL held for tactic-mode steps (``ReplUnavailable`` where there is none)."""
        ...
