"""The stand-ins replayed against real Lean: same shapes, fields and positions.

Facts (what Lean decided: goal texts, error texts, proof statuses) are taken from the real
answers; everything else (positions, ranges, ids, which fields appear) is the stand-in's own
doing and must match Lean's. Where a stand-in cannot match, the transcript is listed in
``REPL_EXCEPTIONS`` with the reason, and the test checks that the list is exact.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.standins import repl as standin
from tests.test_golden_corpus import Transcript, repl_transcripts

STANDIN = Path(__file__).parent / "standins" / "repl.py"

# Transcripts the REPL stand-in does not reproduce, and why (it does not elaborate Lean).
REPL_EXCEPTIONS: dict[str, str] = {
    "calc": "allTactics: the stand-in builds no tactic info trees",
    "self_proof_check": "allTactics: the stand-in builds no tactic info trees",
    "name_generator": "traces of an info tree option: not modelled",
    "root_goals": "rootGoals: not modelled",
    "options": "setOptions (pp.*) change how Lean prints; the stand-in prints nothing itself",
    "incomplete": "two errors in one declaration (one per case): the stand-in reports one",
    "no_goal_sorry": "two errors in one declaration: the stand-in reports one",
    "line_breaks": "a parse error plus an elaboration error: the stand-in does not parse Lean",
    "no_goal_sorry_2": "'No goals to be solved' on the second sorry: the stand-in does not run "
    "tactics, so it cannot know the first sorry closed the goal",
    "dup_msg": "messages of a tactic run on a proof state: the stand-in has no positions for them",
    "invalid_tactic": "messages of a tactic run on a proof state: not modelled",
    "trace_simp": "trace messages of a tactic run on a proof state: not modelled",
    "variables": "`variable` commands: the stand-in does not elaborate them",
}


def _decls(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, signature, body) of each declaration, cut as the stand-in cuts them."""
    matches = list(standin.DECL.finditer(text))
    out = []
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        chunk = text[m.end() : end]
        axioms = standin.PRINT_AXIOMS.search(chunk)
        if axioms:
            end = m.end() + axioms.start()
            chunk = text[m.end() : end]
        assign = re.search(r":=|\bwhere\b", chunk)
        sig = standin.squash(chunk[: assign.start()] if assign else chunk)
        body = standin.squash(chunk[assign.end() :]) if assign else ""
        out.append((m.start(), end, sig, body))
    return out


def _offset(text: str, pos: dict[str, int]) -> int:
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: pos["line"] - 1]) + pos["column"]


def facts_from(t: Transcript) -> dict[str, Any]:
    """What Lean decided in this transcript, in the stand-in's facts format."""
    facts: dict[str, Any] = {"sorryMessage": "declaration uses `sorry`", "proofs": {}}
    facts["tactics"], facts["info"] = {}, {}
    state_goal: dict[int, str] = {}
    for req, resp in zip(t.requests, t.responses, strict=True):
        for s in resp.get("sorries", []):
            state_goal[s["proofState"]] = s["goal"]
        if "cmd" in req:
            text = req["cmd"]
            for start, end, sig, body in _decls(text):
                inside = [
                    x
                    for x in resp.get("sorries", []) + resp.get("messages", [])
                    if "pos" in x and start <= _offset(text, x["pos"]) < max(end, start + 1)
                ]
                errors = [m["data"] for m in inside if m.get("severity") == "error"]
                goals = [x["goal"] for x in inside if "goal" in x]
                info = facts["proofs"].setdefault(sig, {"accepted": [], "errors": {}})
                info.setdefault("goals_by_body", {})[body] = goals
                if errors:
                    info["errors"][body] = errors[0]
                else:  # elaborated (with its sorries, if any): a partial proof Lean accepts
                    info["accepted"].append(body)
            for m in resp.get("messages", []):
                line = text.split("\n")[m["pos"]["line"] - 1]
                if m["severity"] == "info" and line.startswith("#") and "axioms" not in line:
                    facts["info"][standin.squash(line[m["pos"]["column"] :])] = m["data"]
        elif "tactic" in req and req["proofState"] in state_goal:
            goal = state_goal[req["proofState"]]
            outcome: dict[str, Any]
            if set(resp) == {"message"}:
                msg = resp["message"]
                if not msg.startswith("Lean error:\n"):
                    continue
                outcome = {"parseError": msg.removeprefix("Lean error:\n")}
            else:
                outcome = {"status": resp["proofStatus"], "goals": resp["goals"]}
                outcome["sorries"] = [s["goal"] for s in resp.get("sorries", [])]
                state_goal[resp["proofState"]] = (resp["goals"] or [""])[0]
                for s in resp.get("sorries", []):
                    state_goal[s["proofState"]] = s["goal"]
            facts["tactics"].setdefault(goal, {})[req["tactic"].strip()] = outcome
    return facts


def run_standin(t: Transcript, tmp: Path) -> list[dict[str, Any]]:
    facts = tmp / f"{t.name}.json"
    facts.write_text(json.dumps(facts_from(t), ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(STANDIN), "--facts", str(facts)],
        input=t.raw_input,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [json.loads(c) for c in done.stdout.split("\n\n") if c.strip()]


def _first_difference(real: Any, ours: Any, path: str = "") -> str | None:
    if isinstance(real, dict) and isinstance(ours, dict):
        for key in sorted(set(real) | set(ours)):
            if key not in ours or key not in real:
                return f"{path}.{key}: {'missing' if key not in ours else 'extra'}"
            diff = _first_difference(real[key], ours[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(real, list) and isinstance(ours, list):
        if len(real) != len(ours):
            return f"{path}: {len(ours)} items, Lean has {len(real)}"
        for i, (a, b) in enumerate(zip(real, ours, strict=True)):
            diff = _first_difference(a, b, f"{path}[{i}]")
            if diff:
                return diff
        return None
    return None if real == ours else f"{path}: {ours!r}, Lean has {real!r}"


def test_repl_standin_answers_as_the_real_repl(tmp_path: Path) -> None:
    agree, differ = [], {}
    for t in repl_transcripts():
        ours = run_standin(t, tmp_path)
        diffs = [
            d
            for i, real in enumerate(t.responses)
            if (d := _first_difference(real, ours[i] if i < len(ours) else {}, f"[{i}]"))
        ]
        if diffs:
            differ[t.name] = diffs[0]
        else:
            agree.append(t.name)
    print(f"\nREPL stand-in: {len(agree)}/{len(agree) + len(differ)} transcripts as Lean answers")
    for name, diff in sorted(differ.items()):
        print(f"  exception {name}: {diff} — {REPL_EXCEPTIONS.get(name, '?')}")
    assert set(differ) == set(REPL_EXCEPTIONS)


# ------------------------------------------------------------------ the language-server stand-in
def _section(text: str, marker: str) -> str:
    """One `-- RESET` section of an interactive test file, as Lean's test runner cuts it."""
    parts = re.split(r"(?m)^(?=-- RESET$)", text)
    return next(p for p in parts if marker in p)


def _elaborate(text: str, facts: dict[str, Any], silent: bool = False) -> list[dict[str, Any]]:
    from tests.standins.lean_server import Elaboration

    return Elaboration(text, facts, silent).diagnostics


def test_language_server_standin_places_diagnostics_as_lean_does() -> None:
    from tests.test_golden_corpus import GOLDEN, interactive

    tally = [0, 0]

    def same(ours: list[dict[str, Any]], real: list[dict[str, Any]]) -> None:
        tally[1] += 1
        assert ours == real
        tally[0] += 1

    folder = GOLDEN / "interactive"
    # Silent "Goals accomplished!" for a client that supports silent diagnostics, none otherwise.
    text = (folder / "goalsAccomplished.lean").read_text(encoding="utf-8")
    real = interactive("goalsAccomplished.lean.expected.out")[0]["diagnostics"]
    same(_elaborate(text, {}, silent=True), real)
    assert _elaborate(text, {}) == []
    # "unsolved goals" at the `by`: range cut at the end of its line, fullRange to the block's end,
    # leanTags [1]; a tactic's error on its syntax.
    source = (folder / "incrementalTactic.lean").read_text(encoding="utf-8")
    reports = interactive("incrementalTactic.lean.expected.out")
    reports = [r for r in reports if isinstance(r, dict) and "diagnostics" in r]
    have_bug = next(r for r in reports if r["version"] == 3)["diagnostics"]
    facts = {
        "declarations": {
            "haveBug": {
                "errors": [
                    {"match": "by", "message": have_bug[0]["message"]},
                    {"match": "m", "message": have_bug[1]["message"]},
                ]
            }
        }
    }
    same(_elaborate(_section(source, "def haveBug"), facts), have_bug)
    # `code` on unknown identifiers; a one-line block: range == fullRange.
    other = next(r for r in reports if any(d.get("code") for d in r["diagnostics"]))
    other_diags = other["diagnostics"]
    facts = {
        "declarations": {
            "otherMessage": {
                "errors": [
                    {"match": "no", "message": other_diags[0]["message"]},
                    {"match": "by", "message": other_diags[1]["message"]},
                ]
            }
        }
    }
    same(_elaborate(_section(source, "def otherMessage"), facts), other_diags)
    print(f"\nlanguage-server stand-in: {tally[0]}/{tally[1]} diagnostics reports as Lean's")


def test_language_server_standin_answers_plain_goal_before_and_after_tactics() -> None:
    from tests.standins.lean_server import Elaboration, pos_to_index, rendered
    from tests.test_golden_corpus import plain_goal_answers

    answers = plain_goal_answers()
    # Lean renders one or several goals (and none) exactly so:
    for _, answer in answers:
        if answer is not None:
            assert rendered(answer["goals"]) == answer
    by_pos = {(q["position"]["line"], q["position"]["character"]): a for q, a in answers[:46]}
    g0, g1 = by_pos[(0, 20)]["goals"], by_pos[(3, 3)]["goals"]
    text = "example : α → α := by\n  --^\n   --^\n  intro a\n"
    facts = {
        "declarations": {
            "example": {
                "tactics": [
                    {"match": "by", "before": g0, "after": g0},
                    {"match": "intro", "before": g0, "after": g1},
                ]
            }
        }
    }
    elab = Elaboration(text, facts)
    checked = 0
    for pos in [(0, 20), (0, 21), (3, 2), (3, 3)]:
        idx = pos_to_index(text, {"line": pos[0], "character": pos[1]})
        assert elab.plain_goal(idx) == by_pos[pos], pos
        checked += 1
    text = "example : α → α := by\n  intro a; apply a\n"
    facts["declarations"]["example"]["tactics"].append(
        {"match": "apply", "before": g1, "after": []}
    )
    elab = Elaboration(text, facts)
    for col in (9, 10, 11):
        assert (
            elab.plain_goal(pos_to_index(text, {"line": 1, "character": col})) == by_pos[(21, col)]
        )
        checked += 1
    print(
        f"\nlanguage-server stand-in: {checked} plainGoal answers as Lean's, "
        f"{len(answers)} rendered as Lean renders"
    )


def _run_raw(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(STANDIN)], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_repl_standin_answers_a_last_request_without_a_blank_line() -> None:
    done = _run_raw('{"cmd": "def f : Nat := by sorry"}')  # no newline at all, as a pipe may end
    (answer,) = [json.loads(c) for c in done.stdout.split("\n\n") if c.strip()]
    assert answer["env"] == 0 and answer["sorries"][0]["pos"] == {"line": 1, "column": 18}
    assert done.returncode == 0


def test_repl_standin_exits_on_json_that_is_no_command() -> None:
    """The REPL throws out of its loop on such input: the process ends, later requests are lost."""
    done = _run_raw('{"what": 1}\n\n{"cmd": "def f := 2"}\n\n')
    assert done.returncode == 1 and done.stdout == ""
    assert "Could not parse as a valid JSON command" in done.stderr
    done = _run_raw('{"cmd": \n\n')
    assert done.returncode == 1 and "Could not parse JSON" in done.stderr
