"""Reading the REPL's sorries: source order, and the one at a position."""

from __future__ import annotations

from lean_sidecar.search.repl_sorries import goals_in_source_order, sorry_at

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


def test_goals_come_in_source_order() -> None:
    assert goals_in_source_order(SORRIES) == ["⊢ a", "⊢ c", "⊢ b"]
    assert goals_in_source_order([]) == []


def test_the_sorry_at_a_position() -> None:
    hit = sorry_at(SORRIES, 3, 4)
    assert hit is not None and hit["proofState"] == 1
    assert sorry_at(SORRIES, 3, 5) is None
    assert sorry_at([{"goal": "⊢ x"}], 0, 0) is None  # no position: never matched
