"""What the search needs of Lean and of the model, as Protocols.

The engine, the cascade (``Checker``, ``Cascade``), sampling, decomposition, ``fill_file`` and
the tactic replacement depend on these, never on the concrete classes: ``lean_bridge.verifier.
Verifier`` over a ``ReplPool`` is Lean, ``lean_sidecar.prover.endpoint.EndpointClient`` is the
model. Both satisfy them structurally (``build.py`` wires them); the tests' in-process fakes
(``tests/fakes/``) do too, so search logic is tested without processes.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from lean_bridge.declarations import Declaration
from lean_bridge.hole_site import HoleSite
from lean_bridge.repl_results import CommandResult, StepResult
from lean_bridge.verifier import Verdict
from lean_sidecar.prover.endpoint_types import Generation, GenerationRequest


class LeanCommands(Protocol):
    """Lean's REPL as the search uses it outside a verdict: one command in the environment of
    everything above a declaration (the cascade's capped screens, a sketch's goals, a file's
    holes)."""

    async def command(
        self, prefix: str, cmd: str, timeout: float | None = None
    ) -> CommandResult: ...


class TacticSession(Protocol):
    """One REPL held for a sequence of requests (proof-state ids live in that process)."""

    async def command(self, prefix: str, cmd: str) -> CommandResult: ...

    async def tactic(self, proof_state: int, tactic: str) -> StepResult: ...


class LeanVerifier(LeanCommands, Protocol):
    """Lean's verdict on a candidate (the one gate, the whole declaration, the axiom audit),
    and the REPL commands the search runs itself."""

    @property
    def allow_native_decide(self) -> bool: ...

    @property
    def project_dir(self) -> Path | None:
        """The Lean project the REPL runs in (its cascade plan follows its Lean and Mathlib)."""
        ...

    async def check(self, site: HoleSite, script: str) -> Verdict:
        """``script`` in the hole of ``site``."""
        ...

    async def check_filled(self, site: HoleSite, filled: str) -> Verdict:
        """``filled``: the site's text with the hole's region replaced (and nothing else)."""
        ...

    async def check_declaration(self, text: str, decl: Declaration, helpers: int = 0) -> Verdict:
        """The whole declaration ``decl`` of ``text`` as it stands (``helpers`` carried
        theorems at its start)."""
        ...

    def session(self) -> AbstractAsyncContextManager[TacticSession]:
        """One REPL held for tactic-mode steps (the tactic replacement)."""
        ...


class ModelEndpoint(Protocol):
    """The prover model: samples for a request; raises ``EndpointError`` when it cannot."""

    @property
    def urls(self) -> list[str]:
        """The configured endpoints, in order of preference (without credentials)."""
        ...

    async def generate(self, request: GenerationRequest) -> Generation: ...

    async def healthy(self) -> str:
        """The URL of the first endpoint that answers (``EndpointError`` when none does)."""
        ...

    async def check(self, url: str) -> list[str]:
        """The model names served at ``url`` (``EndpointError`` when it does not answer)."""
        ...

    async def close(self) -> None: ...
