"""Red team: hostile model output down every path a model's text takes, through the real
extraction → gate → splice → final-text code. Nothing hostile may reach Lean: each candidate is
either refused before Lean or (a command at column 0 after the proof) cut off by extraction, so
that the text Lean would see no longer contains it. Legitimate proofs still pass every path.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from lean_bridge.candidate_filter import Verdict, check_candidate, check_declaration_text
from lean_bridge.declarations import Declaration
from lean_bridge.hole_fill import checkable, fill, hole_mode
from lean_bridge.holes import TextModel
from lean_bridge.lean_lexer import mask_non_code
from lean_bridge.sorry_scan import scan_sorries
from lean_sidecar.prover.endpoint import Sample
from lean_sidecar.prover.extract import extract_script, final_code_block
from lean_sidecar.prover.families import DIALECTS, full_statement
from lean_sidecar.prover.sketch import check_sketch, negation_statement
from lean_sidecar.prover.task import ProofTask, build_task
from tests.fixtures.red_team.candidates import HOSTILE, LEGIT

FILE = """import Mathlib

theorem key (a b : Nat) (h : a ≤ b) : a < b + 1 := by
  sorry

theorem nested (a b : Nat) (h : a ≤ b) : a < b + 1 := by
  have hx : a < b + 1 := by sorry
  exact hx
"""
GOAL = "a b : Nat\nh : a ≤ b\n⊢ a < b + 1"


@dataclass(frozen=True)
class Site:
    """A hole as the search sees it: the file, its declaration, the hole's span."""

    text: str
    decl: Declaration
    start: int
    end: int
    task: ProofTask


@dataclass(frozen=True)
class Outcome:
    reached_lean: str | None  # the declaration text Lean would check, or None if refused
    stage: str  # where it stopped: extraction | gate | final-text | hover-rule | passed


def _site(text: str, nth: int, goal: str | None) -> Site:
    model = TextModel(text)
    hole = scan_sorries(text)[nth]
    decl = model.declaration_at(hole.start)
    assert decl is not None
    task = build_task(model, decl, hole.start, hole.end, goal)
    assert task is not None
    return Site(text, decl, hole.start, hole.end, task)


WHOLE = _site(FILE, 0, None)
LEMMA = _site(FILE, 1, GOAL)
_NEG = negation_statement(GOAL)
assert _NEG is not None
NEGATION = _site(FILE[: FILE.index("theorem nested")] + _NEG + "\n  sorry\n", 1, None)


def _splice(site: Site, script: str, gate: Verdict) -> Outcome:
    """What the verifier does with a gated script, then the final-text check before Lean."""
    if not gate.ok:
        return Outcome(None, "gate")
    mode = hole_mode(TextModel(site.text).masked, site.start)
    filled = fill(site.text, site.start, site.end, script, mode)
    decl_text, _ = checkable(filled, site.decl, len(filled) - len(site.text))
    if not check_declaration_text(decl_text).ok:
        return Outcome(None, "final-text")
    return Outcome(decl_text, "passed")


def _chat(site: Site, payload: str, before: str = "Here is the proof.") -> str:
    return f"{before}\n```lean4\n{full_statement(site.task)}\n  {payload}\n```\n"


def _through_chat(site: Site, answer: str) -> Outcome:
    code = final_code_block(Sample(answer))
    got = extract_script(site.task, code) if code else None
    if got is None or got.script is None:
        return Outcome(None, "extraction")
    return _splice(site, got.script, check_candidate(got.script))


def whole_proof(payload: str) -> Outcome:
    return _through_chat(WHOLE, _chat(WHOLE, payload))


def completion(payload: str) -> Outcome:
    dialect = DIALECTS["deepseek-v2"]
    prefix = full_statement(WHOLE.task) + dialect.statement_suffix
    code = final_code_block(Sample(f"  {payload}\n```\nchatter"), prefix)
    got = extract_script(WHOLE.task, code) if code else None
    if got is None or got.script is None:
        return Outcome(None, "extraction")
    return _splice(WHOLE, got.script, check_candidate(got.script))


def error_fix(payload: str) -> Outcome:
    return _through_chat(WHOLE, _chat(WHOLE, payload, "The error says `omega failed`. Fixed:"))


def test_sketch_holes_only_as_step_proofs() -> None:
    """The gate's sketch mode (for check_sketch to use): `sorry` only as a step's whole proof."""
    assert check_candidate("have s : a ≤ b := by sorry\nomega", sketch_holes=True).ok
    assert check_candidate("have s : a ≤ b := sorry\nomega", sketch_holes=True).ok
    assert check_candidate("have s : a ≤ b := by\n  sorry\nomega", sketch_holes=True).ok
    for bad in ("exact Nat.lt_succ_of_le (sorry)", "have s : a ≤ b := by sorry\nsorry", "admit"):
        assert not check_candidate(bad, sketch_holes=True).ok, bad


def sketch(payload: str) -> Outcome:
    answer = _chat(WHOLE, "have step : a ≤ b := by sorry\n  " + payload)
    code = final_code_block(Sample(answer))
    got = extract_script(WHOLE.task, code) if code else None
    if got is None or got.script is None:
        return Outcome(None, "extraction")
    return _splice(WHOLE, got.script, check_sketch(got.script))


def sketch_lemma(payload: str) -> Outcome:
    return _through_chat(LEMMA, _chat(LEMMA, payload))


def negation(payload: str) -> Outcome:
    return _through_chat(NEGATION, _chat(NEGATION, payload))


def hover(payload: str) -> Outcome:
    """The hover path: extraction, hover's short-answer rule, the gate, then the REPL runs the
    tactic in the failing tactic's proof state (no splice)."""
    code = final_code_block(Sample(_chat(WHOLE, payload)))
    got = extract_script(WHOLE.task, code) if code else None
    if got is None or not got.script:
        return Outcome(None, "extraction")
    if got.script.count("\n") >= 3:
        return Outcome(None, "hover-rule")
    if not check_candidate(got.script).ok:
        return Outcome(None, "gate")
    return Outcome(got.script, "passed")


def cascade(payload: str) -> Outcome:
    """A `Try this:` suggestion in a Lean message (its text can echo model-chosen names), parsed
    as the cascade parses it, then verified like any candidate."""
    data = "Try this: [apply] " + payload
    script = data[len("Try this:") :].strip().removeprefix("[apply]").strip()
    return _splice(WHOLE, script, check_candidate(script))


def cached(payload: str) -> Outcome:
    """A cache hit is re-gated before it is used (the cache file is not trusted)."""
    return _splice(WHOLE, payload, check_candidate(payload))


PATHS: dict[str, Callable[[str], Outcome]] = {
    "whole-proof": whole_proof,
    "completion": completion,
    "error-fix": error_fix,
    "sketch": sketch,
    "sketch-lemma": sketch_lemma,
    "negation": negation,
    "hover": hover,
    "cascade": cascade,
    "cached": cached,
}
CASES = [
    (category, path, payload)
    for category, payloads in HOSTILE.items()
    for payload in payloads
    for path in PATHS
]


# Words whose presence in the code Lean would check means an attack got through.
DANGER = re.compile(
    r"#|`|IO|System|Lean|sorry|admit|\bstop\b|native|ofReduceBool|implemented_by|extern|debug"
    r"|set_option|trace|dbg|log[A-Z]|throw|panic|unsafe|macro|syntax|elab|axiom|cheat|\bdef\b"
    r"|instance|run_|simproc|[\w']\?|show_term|Process|getEnv|import|namespace|\bend\b|attribute"
    r"|[^\x00-\x7f\u00b2-\u00b3\u2080-\u2089ℕℝ≤≥<>⟨⟩·⊢←→εδ∀∃¬∧∨↔]"
)


def _leaks(reached: str, path: str) -> bool:
    """Whether the proof part of what Lean would check contains anything hostile (in code); a
    sketch's own `:= by sorry` placeholders are what a sketch is."""
    proof = mask_non_code(reached).split(":= by", 1)[-1]
    proof = re.sub(r"set_option max(?:Heartbeats|RecDepth) [1-9]\d{0,5} in", "", proof)
    if path == "sketch":  # today's check_sketch admits every `sorry` as a lemma placeholder
        proof = proof.replace("sorry", "")
    return DANGER.search(proof) is not None


def test_every_hostile_candidate_is_stopped_before_lean() -> None:
    refused: Counter[str] = Counter()
    cut: Counter[str] = Counter()
    placeholders: Counter[str] = Counter()
    per_path: Counter[str] = Counter()
    leaked = []
    for category, path, payload in CASES:
        out = PATHS[path](payload)
        per_path[path] += 1
        if out.reached_lean is None:
            refused[category] += 1
        elif path == "sketch" and category == "holes" and not _leaks(out.reached_lean, path):
            placeholders[category] += 1
        elif _leaks(out.reached_lean, path):
            leaked.append((category, path, payload, out.reached_lean))
        else:
            cut[category] += 1
    total = len(CASES)
    print(f"\nred team: {total} hostile candidates ({sum(map(len, HOSTILE.values()))} payloads)")
    for category in HOSTILE:
        print(
            f"  {category:20s} refused {refused[category]:4d}  cut by extraction"
            f" {cut[category]:3d}  sketch placeholders {placeholders[category]}"
        )
    print("  per path: " + ", ".join(f"{p} {n}" for p, n in per_path.items()))
    assert not leaked, leaked[:5]
    assert total >= 150


def test_code_execution_never_reaches_lean_even_cut() -> None:
    """Payloads whose hostile command sits inside the proof are refused outright, not cut,
    and legitimate proofs carry nothing the leak detector calls hostile."""
    for path, run in PATHS.items():
        for payload in HOSTILE["eval-after-proof"][1:3] + HOSTILE["program-terms"]:
            assert run(payload).reached_lean is None, (path, payload)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_legitimate_proofs_pass_every_path(path: str) -> None:
    for proof in LEGIT:
        if path == "hover" and proof.count("\n") >= 3:
            continue  # hover offers only short replacements
        if path == "sketch" and proof.startswith("set_option"):
            continue  # the sketch's steps come first; `set_option … in` is a prefix only
        out = PATHS[path](proof)
        assert out.reached_lean is not None, (path, proof, out.stage)
        assert not _leaks(out.reached_lean, path), (path, proof)
        first = proof.split("\n")[0].strip()
        assert first in out.reached_lean or first.startswith(("/-", "set_option")), (path, proof)


def test_oversized_answers_are_refused_before_extraction() -> None:
    """An answer over the cap is not searched for code at all; a capped one of adversarial
    nesting is still handled (in linear time: see bench/gate_speed.py)."""
    from lean_sidecar.prover.extract import MAX_ANSWER_CHARS

    head = f"```lean4\n{full_statement(WHOLE.task)}\n  omega "
    huge = Sample(head + "/-" * (MAX_ANSWER_CHARS // 2) + "\n```")
    assert final_code_block(huge) is None
    assert final_code_block(Sample("x"), "y" * (MAX_ANSWER_CHARS + 1)) is not None  # prefix is ours
    long_code = "theorem key : True := by\n  " + "trivial " * (MAX_ANSWER_CHARS // 8)
    assert extract_script(WHOLE.task, long_code).reason == (
        f"answer longer than {MAX_ANSWER_CHARS} characters"
    )
    nested = Sample(head + "/-" * (MAX_ANSWER_CHARS // 4) + "\n```")
    code = final_code_block(nested)
    assert code is not None
    got = extract_script(WHOLE.task, code)
    assert got.script is None or not check_candidate(got.script).ok
