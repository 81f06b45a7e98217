"""How long the gate and extraction take on adversarial input (targets: gate < 50 ms on 100 KB,
extraction linear). Run: ``.venv/bin/python bench/gate_speed.py``; prints one line per shape
(best of five runs)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's code, not another

from lean_bridge.candidate_filter import check_candidate, check_declaration_text
from lean_bridge.lean_lexer import lex_spans

SIZE = 99_000

GATE_SHAPES: dict[str, str] = {
    "nested comment openers": "by\n  " + "/-" * (SIZE // 2),
    "balanced nested comments": "by\n  " + "/- " * (SIZE // 6) + "-/ " * (SIZE // 6) + "simp",
    "unclosed strings": "by\n  " + '"\\' * (SIZE // 2),
    "interpolation braces": "by\n  " + 's!"{' * (SIZE // 4),
    "one token per char": "by\n  " + "a(" * (SIZE // 2),
    "distinct identifiers": "by\n  " + " ".join(f"h{i}" for i in range(SIZE // 7)),
    "deep indentation lines": "by\n" + ("  simp\n" * (SIZE // 7)),
    "char literals": "by\n  " + "'a' " * (SIZE // 4),
    "line comments": "by\n" + "  --\n" * (SIZE // 5),
    "4,900 comments (under the cap)": "by\n" + "  simp -- c\n" * 4_900 + "  " + "a " * 20_000,
    "2,400 strings (under the cap)": "by\n  " + '"a" ' * 2_400 + "x " * 45_000,
    "empty strings": "by\n  " + '"" ' * (SIZE // 3),
    "one long identifier": "by\n  " + "a" * SIZE,
    "set_option prefixes": "set_option maxHeartbeats 400000 in " * (SIZE // 36),
    "10 MB (refused by length)": "/-" * 5_000_000,
}

FILE = "import Mathlib\n\ntheorem t (a b : Nat) (h : a ≤ b) : a < b + 1 := by\n  sorry\n"


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        lex_spans.cache_clear()  # each run lexes afresh (the lexer caches its last texts)
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    for name, text in GATE_SHAPES.items():

        def gate(text: str = text) -> None:
            check_candidate(text)

        seconds = best_of(gate)
        verdict = check_candidate(text)
        print(f"gate  {name:28s} {len(text):>9,d} chars {seconds * 1000:8.2f} ms  ok={verdict.ok}")
    for label, body in (
        ("nested comments", "/- " * (SIZE // 3)),
        ("identifiers", " ".join(f"h{i}" for i in range(SIZE // 7))),
        ("one token per char", "a(" * (SIZE // 2)),
    ):
        decl = "theorem t : True := by\n  " + body

        def final(decl: str = decl) -> None:
            check_declaration_text(decl)

        seconds = best_of(final)
        print(f"final {label:28s} {len(decl):>9,d} chars {seconds * 1000:8.2f} ms")
    try:
        extraction()
    except ImportError as exc:  # the gate needs only the standard library; extraction does not
        print(f"extraction skipped: {exc}")


def extraction() -> None:
    from lean_bridge.holes import TextModel
    from lean_bridge.sorry_scan import scan_sorries
    from lean_sidecar.prover.endpoint import Sample
    from lean_sidecar.prover.extract import (
        MAX_ANSWER_CHARS,
        extract_script,
        final_code_block,
    )
    from lean_sidecar.prover.task import build_task

    model = TextModel(FILE)
    tok = scan_sorries(FILE)[0]
    found = model.declaration_at(tok.start)
    assert found is not None
    task = build_task(model, found, tok.start, tok.end, None)
    assert task is not None
    head = "```lean4\ntheorem t (a b : Nat) (h : a ≤ b) : a < b + 1 := by\n  "
    for label, body in (
        ("nested comments (at the cap)", "/-" * ((MAX_ANSWER_CHARS - 200) // 2)),
        ("19,000 nested comments", "/-" * 19_000 + " x" * 150_000),
        ("balanced comments", "/- a -/ " * 2_000 + "omega " * 60_000),
        ("unclosed fences", "```lean4\n" * ((MAX_ANSWER_CHARS - 200) // 9)),
        ("1 MB (refused by size)", "/-" * 500_000),
    ):
        answer = Sample(head + body + "\n```")

        def run(answer: Sample = answer) -> None:
            code = final_code_block(answer)
            if code is not None:
                extract_script(task, code)

        seconds = best_of(run, repeat=3)
        size = len(answer.text)
        print(f"extract {label:26s} {size:>9,d} chars {seconds * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
