#!/usr/bin/env python3
"""A stand-in for the Lean REPL (leanprover-community/repl) that lean-interact drives through
its real code path (`LeanREPLConfig(local_repl_path=..., build_repl=False, lake_path=...)`).

Protocol (shared/reference/lean-protocols.md part B): requests are JSON read line by line until a
blank line, the lines joined with their trailing whitespace removed; responses are pretty JSON
followed by a blank line; `env`/`proofState` ids index ever-growing arrays; lists are omitted
when empty; `{"message": ...}` for errors.

What it accepts comes from a facts file, never from the code under test:

    {"proofs": {"<signature after the name, whitespace-collapsed>": {
        "goal": "x : Nat\n⊢ ...",                 # goal reported for a sorry in this declaration
        "accepted": ["<proof body after :=>", ...], # whitespace-collapsed
        "axioms": {"<accepted body>": ["propext", "Lean.ofReduceBool"]},
        "errors": {"<body>": "message"}, "error": "default error message",
        "delays": {"<body>": seconds}}},          # answered that much later (a slow tactic)
     "tactics": {"<goal>": {"<tactic>": "Completed" | ["remaining goal", ...]}},
     "slow": ["<body that makes the REPL hang>"], "crash": ["<body that kills the REPL>"]}

Options: --facts FILE, --log FILE (every request appended as one JSON line).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any

# A declaration, behind its attributes, modifiers and `set_option … in` / `open … in` prefixes
# (a declaration hidden behind one is still one: Lean reports its sorries and messages).
DECL = re.compile(
    r"^(?:@\[[^\]]*\]\s*)?(?:(?:set_option\s+\S+\s+\S+|open\s+[^\n]*?)\s+in\s+)*"
    r"(?:(?:private|protected|noncomputable|unsafe|partial|nonrec)\s+)*"
    r"(theorem|lemma|def|example|instance|abbrev)\b[ \t]*([^\s:(\[{]*)",
    re.M,
)
PRINT_AXIOMS = re.compile(r"^#print\s+axioms\s+(\S+)", re.M)
INFO_CMD = re.compile(r"^(#check|#eval|#reduce|#print)(?!\s+axioms)\b[^\n]*", re.M)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lean_syntax, beside this file


class _Sorries:
    """`sorry` tokens as Lean's tokenizer finds them: never inside a comment or a literal."""

    @staticmethod
    def finditer(text: str) -> list[Any]:
        from lean_syntax import tokenize

        return [_Hit(t.start) for t in tokenize(text) if t.text == "sorry"]

    @classmethod
    def search(cls, text: str) -> Any:
        hits = cls.finditer(text)
        return hits[0] if hits else None


class _Hit:
    def __init__(self, at: int) -> None:
        self.at = at

    def start(self) -> int:
        return self.at


SORRIES = _Sorries()
# The verifier's own hole marker: an axiom it declares just before a check, used for the
# declaration's *other* holes (tactic `exact sidecarHole_…` or a bare term). Real Lean elaborates
# it like any axiom of type `α`: no sorry warning, no `sorries`, and `#print axioms` lists it.
MARKER = re.compile(r"(?:exact\s+)?(?:_root_\.)?(sidecarHole_[0-9a-f]+)")
STANDARD = ["propext", "Classical.choice", "Quot.sound"]


# A command that redefines `#print axioms` (`elab_rules : command | `(#print axioms $n) => …`)
# replaces Lean's report in every later command of that environment: real Lean runs the newest
# elaborator for a syntax kind first. The stand-in honours one that logs a fixed message.
OVERRIDE = "__print_axioms_elab__"
_OVERRIDE = re.compile(
    r"elab_rules[^\n]*command[\s\S]*?#print\s+axioms[\s\S]*?logInfo\s+(?:m!)?\"([^\"]*)\""
)


def print_axioms_override(text: str) -> str | None:
    m = _OVERRIDE.search(text)
    return m.group(1).replace("{n}", "{name}") if m else None


def parse(text: str) -> list[Any]:
    """Lean's info tree of ``text`` (its top-level commands), as the REPL returns it."""
    from lean_syntax import info_tree

    return info_tree(text)


HEADER = re.compile(r"\s*(?:--[^\n]*\n\s*|/-[\s\S]*?-/\s*)*import\s")
# Tactics the stand-in parses (their first word); anything else is a parse error in tactic mode,
# which the REPL answers with a top-level message (repl-test/unknown_tactic.expected.out).
TACTIC_WORDS = set(
    [
        "rfl",
        "decide",
        "norm_num",
        "simp",
        "simp_all",
        "omega",
        "linarith",
        "nlinarith",
        "positivity",
        "aesop",
        "exact",
        "apply",
        "intro",
        "intros",
        "constructor",
        "cases",
        "rcases",
        "obtain",
        "induction",
        "rw",
        "rwa",
        "field_simp",
        "ring",
        "ring_nf",
        "nlinarith",
        "trivial",
        "assumption",
        "exact?",
        "apply?",
        "use",
        "refine",
        "have",
        "show",
        "calc",
        "by_contra",
        "push_neg",
        "contradiction",
        "exfalso",
        "left",
        "right",
        "norm_cast",
        "gcongr",
        "interval_cases",
        "unfold",
        "subst",
        "specialize",
        "all_goals",
        "any_goals",
        "first",
        "try",
        "repeat",
        "sorry",
        "skip",
        "done",
        "native_decide",
        "bv_decide",
        "grind",
        "try?",
        "hint",
        "set_option",
        "open",
        "by_cases",
        "split_ifs",
        "ext",
        "funext",
        "congr",
        "symm",
        "tauto",
    ]
)


def first_tactic(text: str, idx: int) -> int:
    """Where Lean reports a failing proof: its first tactic (after `by`), else the term."""
    m = re.compile(r"\s*(?:by\b\s*)?").match(text, idx)
    return m.end() if m else idx


def block_opener(text: str, idx: int) -> int:
    """Where Lean reports "unsolved goals": the `by` that opens the proof (else the term)."""
    m = re.compile(r"\s*").match(text, idx)
    return m.end() if m else idx


def syntax_end(text: str, end: int) -> int:
    """The end of a command's syntax: trailing whitespace is not part of it."""
    return len(text[:end].rstrip())


ON_NAME = ("(kernel)", "fail to show termination", "structural recursion cannot be used")


def squash(s: str) -> str:
    return " ".join(s.split())


def position(text: str, idx: int) -> dict[str, int]:
    line = text.count("\n", 0, idx) + 1
    return {"line": line, "column": idx - (text.rfind("\n", 0, idx) + 1)}


class Repl:
    def __init__(self, facts: dict[str, Any]) -> None:
        self.facts = facts
        self.envs: list[dict[str, list[str]]] = []  # env id -> {decl name: axioms}
        self.proof_states: list[str] = []  # proof state id -> goal

    def new_env(self, decls: dict[str, list[str]]) -> int:
        self.envs.append(decls)
        return len(self.envs) - 1

    @staticmethod
    def error_at(
        text: str, msg: str, name_span: tuple[int, int], body_at: int, end: int
    ) -> dict[str, Any]:
        """An error placed as Lean places it: "unsolved goals" at the block's `by` to the end of
        the block; kernel and termination errors on the declaration's name; others at the first
        tactic (a fact's message may name another place, which the stand-in cannot know)."""
        end = syntax_end(text, end)
        if msg.startswith(ON_NAME):
            a, b = name_span
        elif msg.startswith("unsolved goals"):
            a, b = block_opener(text, body_at), end
        else:
            a, b = first_tactic(text, body_at), end
        return {
            "severity": "error",
            "pos": position(text, a),
            "endPos": position(text, b),
            "data": msg,
        }

    def sorry_entries(
        self, text: str, at: int, chunk: str, info: dict[str, Any] | None, body: str
    ) -> list[dict[str, Any]]:
        goals = (info or {}).get("goals_by_body", {}).get(body) or (info or {}).get("goals") or []
        out = []
        for k, h in enumerate(SORRIES.finditer(chunk)):
            goal = goals[k] if k < len(goals) else (info or {}).get("goal", "⊢ ?")
            self.proof_states.append(goal)
            idx = at + h.start()
            out.append(
                {
                    "proofState": len(self.proof_states) - 1,
                    "pos": position(text, idx),
                    "goal": goal,
                    "endPos": position(text, idx + 5),
                }
            )
        return out

    def command(self, req: dict[str, Any]) -> dict[str, Any]:
        text = req["cmd"]
        env = req.get("env")
        if env is not None and not (0 <= env < len(self.envs)):
            return {"message": "Unknown environment."}
        decls = dict(self.envs[env]) if env is not None else {}
        messages: list[dict[str, Any]] = []
        sorries: list[dict[str, Any]] = []
        if env is not None and re.search(r"^import\s", text, re.M):
            m = re.search(r"^import\s", text, re.M)
            assert m is not None
            messages.append(
                {
                    "severity": "error",
                    "pos": position(text, m.start()),
                    "endPos": None,
                    "data": "invalid 'import' command, it must be used in the beginning of the file",
                }
            )
        matches = list(DECL.finditer(text))
        for k, m in enumerate(matches):
            end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
            chunk = text[m.end() : end]
            axioms_cmd = PRINT_AXIOMS.search(chunk)
            if axioms_cmd:
                end = m.end() + axioms_cmd.start()
                chunk = text[m.end() : end]
            name = m.group(2) or f"_example{k}"
            assign = re.search(r":=|\bwhere\b", chunk)
            signature = squash(chunk[: assign.start()]) if assign else squash(chunk)
            body = squash(chunk[assign.end() :]) if assign else ""
            info = self.facts.get("proofs", {}).get(signature)
            if info and body in info.get("delays", {}):
                time.sleep(float(info["delays"][body]))
            if body in self.facts.get("slow", []):
                time.sleep(3600)
            if body in self.facts.get("crash", []):
                os._exit(137)
            name_pos = m.start(2) if m.group(2) else m.start(1)
            name_text = m.group(2) or m.group(1)
            if "exact?" in body:
                suggestion = self.facts.get("search", {}).get(signature)
                at = m.end() + chunk.index("exact?")  # Lean reports on the `exact?` token
                if suggestion:
                    messages.append(
                        {
                            "severity": "info",
                            "pos": position(text, at),
                            "endPos": position(text, at + len("exact?")),
                            "data": f"Try this:\n  [apply] {suggestion}",
                        }
                    )
                    decls[name] = STANDARD
                else:
                    messages.append(
                        {
                            "severity": "error",
                            "pos": position(text, at),
                            "endPos": position(text, at + len("exact?")),
                            "data": "`exact?` could not close the goal. Try `apply?` to see partial suggestions.",
                        }
                    )
                continue
            marks = sorted({mk.group(1) for mk in MARKER.finditer(chunk)})
            if marks and not SORRIES.search(chunk):
                as_sorry = squash(MARKER.sub("sorry", body))
                if info is not None and as_sorry in info.get("accepted", []):
                    decls[name] = [*STANDARD, *marks]
                else:
                    body_at = m.end() + (assign.end() if assign else 0)
                    msg = (info or {}).get("error") or "unsolved goals"
                    messages.append(
                        self.error_at(
                            text, msg, (name_pos, name_pos + len(name_text)), body_at, end
                        )
                    )
                    decls[name] = ["sorryAx", *STANDARD]
                continue
            holes = list(SORRIES.finditer(chunk))
            # A proof that is only `sorry` always elaborates; a partial proof must be listed.
            trivially = body in ("sorry", "by sorry")
            if (
                holes
                and info is not None
                and not trivially
                and body not in info.get("accepted", [])
            ):
                body_at = m.end() + (assign.end() if assign else 0)
                msg = info.get("errors", {}).get(body) or info.get("error") or "unsolved goals"
                # Lean still reports the sorries it elaborated; the error hides the sorry warning.
                sorries.extend(self.sorry_entries(text, m.end(), chunk, info, body))
                messages.append(
                    self.error_at(text, msg, (name_pos, name_pos + len(name_text)), body_at, end)
                )
                decls[name] = ["sorryAx", *STANDARD]
            elif holes:
                sorries.extend(self.sorry_entries(text, m.end(), chunk, info, body))
                messages.append(
                    {
                        "severity": "warning",
                        "pos": position(text, name_pos),
                        "endPos": position(text, name_pos + len(name_text)),
                        "data": self.facts.get("sorryMessage", "declaration uses `sorry`"),
                    }
                )
                decls[name] = ["sorryAx", *STANDARD]
            elif (info is None and env is None and HEADER.match(text)) or (
                info is not None and body in info.get("accepted", [])
            ):
                # What the stand-in knows no fact for is refused (unknown means refused), except
                # in a file's header command (it starts with `import`: the prefix of a file,
                # which elaborates as it is).
                decls[name] = (info or {}).get("axioms", {}).get(body, STANDARD)
            else:
                info = info or {"error": f"the stand-in knows no proof of: {signature}"}
                body_at = m.end() + (assign.end() if assign else 0)
                msg = (
                    info.get("errors", {}).get(body)
                    or info.get("error")
                    or f"unsolved goals\n{info.get('goal', '⊢ ?')}"
                )
                messages.append(
                    self.error_at(text, msg, (name_pos, name_pos + len(name_text)), body_at, end)
                )
                decls[name] = ["sorryAx", *STANDARD]  # Lean adds a failed declaration, with sorryAx
        for q in INFO_CMD.finditer(text):
            data = self.facts.get("info", {}).get(squash(q.group(0)))
            if data is not None:  # Lean's answer (a fact); placed on the command's keyword
                messages.append(
                    {
                        "severity": "info",
                        "pos": position(text, q.start()),
                        "endPos": position(text, q.start() + len(q.group(1))),
                        "data": data,
                    }
                )
        for pa in PRINT_AXIOMS.finditer(text):
            name = pa.group(1)
            if OVERRIDE in decls:  # an `elab_rules` of the environment took `#print axioms` over
                messages.append(
                    {
                        "severity": "info",
                        "pos": position(text, pa.start()),
                        "endPos": None,
                        "data": decls[OVERRIDE][0].replace("{name}", name),
                    }
                )
            elif name not in decls:
                messages.append(
                    {
                        "severity": "error",
                        "pos": position(text, pa.start()),
                        "endPos": None,
                        "data": f"unknown constant '{name}'",
                    }
                )
            elif decls[name]:
                messages.append(
                    {
                        "severity": "info",
                        "pos": position(text, pa.start()),
                        "endPos": None,
                        "data": f"'{name}' depends on axioms: [{', '.join(decls[name])}]",
                    }
                )
            else:
                messages.append(
                    {
                        "severity": "info",
                        "pos": position(text, pa.start()),
                        "endPos": None,
                        "data": f"'{name}' does not depend on any axioms",
                    }
                )
        out: dict[str, Any] = {}
        if sorries:
            out["sorries"] = sorries
        if messages:
            out["messages"] = messages
        override = print_axioms_override(text)
        if override is not None:
            decls[OVERRIDE] = [override]
        out["env"] = self.new_env(decls)
        if req.get("infotree") == "full":  # repl-test/infotree_theorem.expected.out
            out["infotree"] = parse(text)
        return out

    def tactic(self, req: dict[str, Any]) -> dict[str, Any]:
        """A tactic on a proof state. Facts decide the outcome: ``"Completed"``, a list of the
        remaining goals, or ``{"status": …, "goals": […]}`` (e.g. "Incomplete: contains
        metavariable(s)", "Error: kernel type check failed: …") or ``{"parseError": "<input>:1:1:
        unknown tactic"}``, which the REPL answers with a top-level ``{"message": "Lean error:…"}``."""
        ps = req["proofState"]
        if not (0 <= ps < len(self.proof_states)):
            return {"message": "Unknown proof state."}
        goal = self.proof_states[ps]
        tactic = req["tactic"].strip()
        outcome = self.facts.get("tactics", {}).get(goal, {}).get(tactic)
        if isinstance(outcome, dict) and "parseError" in outcome:
            return {"message": f"Lean error:\n{outcome['parseError']}"}
        head = re.match(r"[^\s\[(]*", tactic)
        if outcome is None and head is not None and head.group(0) not in TACTIC_WORDS:
            return {"message": "Lean error:\n<input>:1:1: unknown tactic"}
        out: dict[str, Any] = {}
        holes = list(SORRIES.finditer(tactic))
        if holes and outcome is None:  # `sorry` closes the goal, leaving a sorry proof state
            self.proof_states.append(goal)
            out["sorries"] = [{"proofState": len(self.proof_states) - 1, "goal": goal}]
            outcome = {"status": "Incomplete: contains sorry", "goals": []}
        if outcome is None:
            self.proof_states.append(goal)
            return {
                "proofStatus": "Incomplete: contains sorry",
                "proofState": len(self.proof_states) - 1,
                "messages": [
                    {
                        "severity": "error",
                        "pos": {"line": 0, "column": 0},
                        "endPos": {"line": 0, "column": 0},
                        "data": f"tactic '{req['tactic']}' failed",
                    }
                ],
                "goals": [],
            }
        if isinstance(outcome, dict):
            for sorry_goal in outcome.get("sorries", []):  # Lean's goals at the tactic's sorries
                self.proof_states.append(sorry_goal)
                out.setdefault("sorries", []).append(
                    {"proofState": len(self.proof_states) - 1, "goal": sorry_goal}
                )
            goals = list(outcome.get("goals", []))
            status = str(outcome["status"])
        else:
            goals = [] if outcome == "Completed" else list(outcome)
            status = "Completed" if not goals else "Incomplete: open goals remain"
        self.proof_states.append(goals[0] if goals else "")
        out.update(
            {"proofStatus": status, "proofState": len(self.proof_states) - 1, "goals": goals}
        )
        return out

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        if "tactic" in req and "proofState" in req:
            return self.tactic(req)
        if "pickleTo" in req and "env" in req:
            if not (0 <= req["env"] < len(self.envs)):
                return {"message": "Unknown environment."}
            with open(req["pickleTo"], "w") as f:
                json.dump(self.envs[req["env"]], f)
            return {"env": req["env"]}
        if "unpickleEnvFrom" in req:
            with open(req["unpickleEnvFrom"]) as f:
                return {"env": self.new_env(json.load(f))}
        if "cmd" in req:
            time.sleep(float(self.facts.get("latency", 0)))  # seconds of "elaboration" per command
            return self.command(req)
        raise ValueError("Could not parse as a valid JSON command")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts")
    parser.add_argument("--log")
    args = parser.parse_args()
    facts: dict[str, Any] = {}
    if args.facts:
        with open(args.facts, encoding="utf-8") as f:
            facts = json.load(f)
    repl = Repl(facts)
    log = open(args.log, "a", encoding="utf-8") if args.log else None
    eof = False
    while not eof:
        lines: list[str] = []
        while True:
            line = sys.stdin.readline()
            if not line:
                eof = True  # a last request without a trailing blank line is still answered
                break
            if not line.strip():
                if lines:
                    break
                continue
            lines.append(line.rstrip())
        query = "".join(lines)
        if not query or query.startswith(("#", "--")):
            continue
        try:
            req = json.loads(query)
            if not isinstance(req, dict):
                raise ValueError("Could not parse as a valid JSON command")
        except json.JSONDecodeError as e:
            # The REPL throws out of its loop: the process ends (lean-interact sees it die).
            fail(f"Could not parse JSON:\n{e}")
        except ValueError as e:
            fail(str(e))
        if log:
            log.write(json.dumps(req, ensure_ascii=False) + "\n")
            log.flush()
        try:
            answer = repl.handle(req)
        except (ValueError, KeyError, TypeError):
            fail("Could not parse as a valid JSON command")
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=1) + "\n\n")
        sys.stdout.flush()


def fail(message: str) -> None:
    sys.stderr.write("uncaught exception: " + json.dumps({"message": message}) + "\n")
    sys.exit(1)


if __name__ == "__main__":
    main()
