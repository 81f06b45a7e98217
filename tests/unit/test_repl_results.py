"""Reading the REPL's sorries (lean-interact's typed values): source order, the one at a position."""

from __future__ import annotations

from lean_interact.interface import Sorry

from lean_bridge.repl_results import CommandResult, by_position, sorry_at

# The shape of the REPL's answer (its own test suite: `sorries` with pos/endPos/goal/proofState).
SORRIES = [
    {
        "pos": {"line": 3, "column": 4},
        "endPos": {"line": 3, "column": 9},
        "goal": "⊢ b",
        "proofState": 1,
    },
    {
        "pos": {"line": 1, "column": 30},
        "endPos": {"line": 1, "column": 35},
        "goal": "⊢ a",
        "proofState": 0,
    },
    {
        "pos": {"line": 3, "column": 0},
        "endPos": {"line": 3, "column": 5},
        "goal": "⊢ c",
        "proofState": 2,
    },
]


def _typed(raw: list[dict[str, object]]) -> list[Sorry]:
    return [Sorry.model_validate(s) for s in raw]


def test_goals_come_in_source_order() -> None:
    assert CommandResult(0, [], by_position(_typed(SORRIES))).goals() == ["⊢ a", "⊢ c", "⊢ b"]
    assert CommandResult(0, [], by_position([])).goals() == []


def test_the_sorry_at_a_position() -> None:
    hit = sorry_at(_typed(SORRIES), 3, 4)
    assert hit is not None and hit.proof_state == 1
    assert sorry_at(_typed(SORRIES), 3, 5) is None
    assert sorry_at(_typed([{"goal": "⊢ x"}]), 0, 0) is None  # no position: never matched
