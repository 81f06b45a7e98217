"""Every reader of Lean output in the project, replayed on real Lean output.

The transcripts are the Lean REPL's own test suite and Lean's interactive test expectations
(tests/fixtures/lean-golden/README.md). Each reader must agree with Lean on all of them; the
counts are printed (``pytest -s``).
"""

from __future__ import annotations

import re
from typing import Any

from lean_interact.interface import CommandResponse, LeanError, ProofStepResponse

from lean_bridge.axiom_audit import parse_print_axioms
from lean_bridge.diagnostics import DiagnosticsLog, uses_sorry
from lean_bridge.goal_parse import Declined, parse_goal, to_lemma
from lean_bridge.holes import is_unsolved_goals, unsolved_goals
from lean_bridge.repl_results import command_result, step_result
from lean_sidecar.prover.sketch import negation_statement
from lean_sidecar.prover.task import decline_reason, goal_to_statement
from tests.test_golden_corpus import (
    all_goal_strings,
    diagnostics_reports,
    plain_goal_answers,
    repl_transcripts,
)

TALLY: dict[str, list[int]] = {}


def _count(parser: str, ok: bool) -> None:
    agree, total = TALLY.setdefault(parser, [0, 0])
    TALLY[parser] = [agree + int(ok), total + 1]


def _hyp_names(goal: str) -> int:
    """Hypothesis names as Lean printed them, counted from the text alone."""
    lines = goal.split("\n")
    lines = lines[1:] if lines and lines[0].startswith("case ") else lines
    count = 0
    for line in lines:
        if line.startswith("⊢"):
            break
        if line and not line[0].isspace():
            count += max(1, len(line.split(" : ", 1)[0].split())) if " : " in line else 1
    return count


def _read_response(resp: dict[str, Any]) -> None:
    """lean-interact's models, then the project's readers of them (repl_pool)."""
    if set(resp) == {"message"}:
        err = LeanError.model_validate(resp)
        _count("lean-interact LeanError", err.message == resp["message"])
        return
    model: Any = (
        ProofStepResponse.model_validate(resp)
        if "proofStatus" in resp
        else CommandResponse.model_validate(resp)
    )
    raw_errors = [m for m in resp.get("messages", []) if m["severity"] == "error"]
    if "proofStatus" in resp:
        step = step_result(model)  # what the pool makes of it
        _count(
            "repl_pool.StepResult",
            step.goals == resp["goals"]
            and step.status == resp["proofStatus"]
            and step.completed == (resp["proofStatus"] == "Completed" and not raw_errors),
        )
        return
    result = command_result(model)  # what the pool makes of it: typed values in source order

    def pos(p: Any) -> Any:
        return None if p is None else {"line": p.line, "column": p.column}

    def order(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted(items, key=repr)

    same_positions = order(
        [(pos(m.start_pos), pos(m.end_pos), m.data) for m in result.lean_messages]
    ) == order(
        [(r["pos"], r.get("endPos"), r["data"]) for r in resp.get("messages", [])]
    ) and order([(pos(x.start_pos), x.goal, x.proof_state) for x in result.lean_sorries]) == order(
        [(r.get("pos"), r["goal"], r.get("proofState")) for r in resp.get("sorries", [])]
    )
    _count(
        "repl_pool.CommandResult",
        result.env == resp.get("env")
        and len(result.lean_errors()) == len(raw_errors)
        and same_positions,
    )


def _read_message(data: str, severity: str) -> None:
    warn = "declaration uses" in data and "sorry" in data
    _count("diagnostics.uses_sorry", uses_sorry(data) == warn)
    axioms = re.match(r"'(.+)' (depends on axioms|does not depend on any axioms)", data)
    if axioms:
        report = parse_print_axioms(data)
        _count("axiom_audit.parse_print_axioms", report is not None and report.name == axioms[1])
    if data.startswith("unsolved goals"):
        goals = unsolved_goals(data)
        turnstiles = len(re.findall(r"^⊢", data, re.M))
        _count(
            "holes.unsolved_goals",
            len(goals) == turnstiles and all(g.count("⊢") == 1 for g in goals),
        )
        for g in goals:
            _read_goal(g)


def _read_goal(goal: str) -> None:
    """A goal must be read whole, and restated with every name accessible, or declined with a
    reason only when it cannot be stated (metavariables, several goals, no `⊢`)."""
    parsed = parse_goal(goal)
    if "⊢" not in goal:
        _count("goal_parse.parse_goal", parsed is None)  # conv goals (`| a = b`) are not goals
        return
    assert parsed is not None, goal
    target = goal[goal.index("⊢") + 1 :].strip()
    _count(
        "goal_parse.parse_goal",
        sum(max(1, len(h.names)) for h in parsed.hypotheses) == _hyp_names(goal)
        and parsed.target == " ".join(x.strip() for x in target.split("\n")),
    )
    lemma = to_lemma(goal)
    meta = re.search(r"(?<![\w.])\?[A-Za-z_]", goal) is not None
    if isinstance(lemma, Declined):
        _count("goal_parse.to_lemma", meta and decline_reason(goal) is not None)
        _count("task.goal_to_statement", goal_to_statement(goal) is None)
        _count("sketch.negation_statement", negation_statement(goal) is None)
        return
    text = " ".join(lemma.binders) + " " + lemma.target
    balanced = all(text.count(a) == text.count(b) for a, b in ("()", "[]", "{}", "⟨⟩"))
    statement = goal_to_statement(goal) or ""
    negation = negation_statement(goal) or ""
    _count("goal_parse.to_lemma", not meta and "✝" not in text and balanced)
    _count("task.goal_to_statement", "✝" not in statement and statement.endswith(":= by"))
    _count("sketch.negation_statement", "✝" not in negation and negation.startswith("theorem"))


def test_every_reader_agrees_with_real_lean_output() -> None:
    transcripts = repl_transcripts()
    for t in transcripts:
        for resp in t.responses:
            _read_response(resp)
            for m in resp.get("messages", []):
                _read_message(m["data"], m["severity"])
    goals = all_goal_strings()
    for g in goals:
        _read_goal(g)
    reports = diagnostics_reports()
    for report in reports:
        log = DiagnosticsLog()
        log.apply(report)
        _count("diagnostics.DiagnosticsLog", log.items == report["diagnostics"])
        for d in report["diagnostics"]:
            _read_message(d["message"], str(d["severity"]))
            if d["message"].startswith("unsolved goals"):
                _count("holes.is_unsolved_goals", is_unsolved_goals(d))
    print(
        f"\nreplayed: {len(transcripts)} REPL transcripts, {len(plain_goal_answers())} plainGoal "
        f"answers, {len(reports)} diagnostics reports, {len(goals)} goals"
    )
    for parser, (agree, total) in sorted(TALLY.items()):
        print(f"  {parser}: {agree}/{total} agree with Lean")
    disagree = {p: c for p, c in TALLY.items() if c[0] != c[1]}
    assert not disagree
    assert len(TALLY) >= 10 and all(total > 0 for _, total in TALLY.values())
