"""A fake of Lean as the search uses it (``LeanVerifier``): verdicts by explicit rules, in process.

The rules are facts in the stand-in REPL's format (tests/standins/repl.py), so one fixture serves
the fake and the process-level tests alike; the stand-in's command logic answers here too, called
directly (no process, no lean-interact, no pickled environments):

    {"proofs": {"<what follows the declaration's name up to `:=`, whitespace collapsed>": {
        "accepted": ["<the proof after `:=`, whitespace collapsed>", ...],
        "errors": {"<proof>": "Lean's error"}, "error": "the error for any other proof",
        "goal": "…", "goals": […], "goals_by_body": {"<proof>": […]},  # at each `sorry`
        "axioms": {"<accepted proof>": ["propext", …]}}},
     "search": {"<signature>": "what `exact?` suggests"}}

A verdict (``check``, ``check_filled``, ``check_declaration``):

* the candidate gate first (``check``: the proof whitelist, as ``Verifier.check``); what it
  refuses never reaches "Lean";
* the declaration, its other holes replaced by a hole marker as the verifier does, is verified
  iff every declaration in it has an accepted proof for its signature, Lean reports no `sorry`
  in it, and the axioms the facts give its proof pass the audit's allow-list; else the error is
  the fact's message for that proof (then its default, then "unsolved goals"), placed where
  Lean places it (on the proof's first tactic), with the declaration as ``checked``.

``command`` answers a REPL command as the stand-in does (sorries with their goals, "Try this"
for `exact?`, errors). Every text that reaches "Lean" is recorded in ``received``, in order:
a verdict's declaration (``kind == "check"``) or a command (``kind == "command"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lean_interact.interface import CommandResponse, ProofStepResponse

from lean_bridge.axiom_audit import AxiomReport, disallowed_axioms
from lean_bridge.candidate_filter import check_candidate
from lean_bridge.declarations import Declaration
from lean_bridge.hole_fill import checkable, fill
from lean_bridge.hole_site import HoleSite
from lean_bridge.lean_versions import native_axioms
from lean_bridge.repl_results import CommandResult, StepResult, command_result, step_result
from lean_bridge.verifier import HOLE_AXIOM, Verdict, mark_other_holes
from tests.standins.repl import Repl


@dataclass
class Received:
    kind: str  # "check": a verdict was asked; "command": a plain REPL command
    cmd: str  # the declaration (or command) as Lean would see it
    prefix: str = ""


@dataclass
class FakeVerifier:
    facts: dict[str, Any] = field(default_factory=dict)
    allow_native_decide: bool = False
    project_dir: Path | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        # what makes the stand-in process hang or die is for the process-level tests only
        self._repl = Repl({k: v for k, v in self.facts.items() if k not in ("slow", "crash")})
        self._native = native_axioms(None)

    @classmethod
    def from_file(cls, path: Path, **kw: Any) -> FakeVerifier:
        return cls(json.loads(path.read_text(encoding="utf-8")), **kw)

    def cmds(self) -> list[str]:
        """Every text that reached "Lean", verdicts and commands alike."""
        return [r.cmd for r in self.received]

    # ---- LeanCommands ----------------------------------------------------------------------
    def _run(self, cmd: str) -> tuple[CommandResult, dict[str, list[str]]]:
        answer = self._repl.command({"cmd": cmd})
        env = self._repl.envs[answer["env"]]
        return command_result(CommandResponse.model_validate(answer)), env

    async def command(self, prefix: str, cmd: str, timeout: float | None = None) -> CommandResult:
        await asyncio.sleep(0)  # Lean is never immediate: other checks may run meanwhile
        self.received.append(Received("command", cmd, prefix))
        return self._run(cmd)[0]

    # ---- verdicts --------------------------------------------------------------------------
    async def check(self, site: HoleSite, script: str) -> Verdict:
        gate = check_candidate(script, allow_native_decide=self.allow_native_decide)
        if not gate.ok:
            return Verdict(False, f"refused before Lean: {gate.reason}", filtered=True)
        return await self.check_filled(
            site, fill(site.text, site.start, site.end, script, site.mode)
        )

    async def check_filled(self, site: HoleSite, filled: str) -> Verdict:
        marker = f"{HOLE_AXIOM}_{secrets.token_hex(8)}" if site.other_holes else None
        text = mark_other_holes(site, filled, marker) if marker else filled
        decl_text, name = checkable(text, site.decl, len(text) - len(site.text))
        verdict = await self._verdict(site.text[: site.decl.start], decl_text, name, marker)
        if verdict.ok:
            verdict.filled_text = filled
        return verdict

    async def check_declaration(self, text: str, decl: Declaration, helpers: int = 0) -> Verdict:
        decl_text, name = checkable(text, decl, 0)
        verdict = await self._verdict(text[: decl.start], decl_text, name, None)
        if verdict.ok:
            verdict.filled_text = text
        return verdict

    async def _verdict(self, prefix: str, decl_text: str, name: str, marker: str | None) -> Verdict:
        await asyncio.sleep(0)
        self.received.append(Received("check", decl_text, prefix))
        res, env = self._run(decl_text)
        errors = res.lean_errors()
        if errors:
            return Verdict(False, "Lean reports errors", errors=errors, checked=decl_text)
        if res.lean_sorries or any(
            m.severity == "warning" and "declaration uses" in m.data and "sorry" in m.data
            for m in res.lean_messages
        ):
            return Verdict(False, "Lean reports a sorry in the candidate", checked=decl_text)
        if name not in env:
            return Verdict(False, f"the axiom audit gave no report (unknown constant '{name}')")
        report = AxiomReport(name, frozenset(env[name]))
        bad = disallowed_axioms(
            report,
            allow_native_decide=self.allow_native_decide,
            hole_marker=marker,
            native_axioms=self._native,
        )
        if bad:
            return Verdict(False, f"depends on disallowed axioms: {', '.join(sorted(bad))}")
        return Verdict(True, checked=decl_text)

    # ---- tactic mode -----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[FakeSession]:
        yield FakeSession(self)


class FakeSession:
    """Tactic steps on the proof states of the fake's commands (the stand-in's ``tactics``)."""

    def __init__(self, lean: FakeVerifier) -> None:
        self._lean = lean

    async def command(self, prefix: str, cmd: str) -> CommandResult:
        return await self._lean.command(prefix, cmd)

    async def tactic(self, proof_state: int, tactic: str) -> StepResult:
        answer = self._lean._repl.tactic({"proofState": proof_state, "tactic": tactic})
        if "message" in answer:
            return StepResult(None, [], "", [], str(answer["message"]))
        return step_result(ProofStepResponse.model_validate(answer))
