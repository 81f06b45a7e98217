"""Misreads of Lean's output that real transcripts exposed; each test fails on the old readers.

The diagnostics and goals below are real Lean output (tests/fixtures/lean-golden), or built
exactly in their shape.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lean_bridge.declarations import find_declarations
from lean_bridge.goal_parse import Lemma, to_lemma
from lean_bridge.hole_fill import fill
from lean_bridge.holes import TextModel, collect_holes, unsolved_goals
from lean_bridge.positions import Pos
from lean_bridge.sorry_scan import scan_sorries
from lean_sidecar.prover.sketch import negation_statement
from lean_sidecar.prover.task import decline_reason, goal_to_statement


def _holes(text: str, diags: list[dict[str, Any]], goal_at: dict[Pos, str] | None = None) -> Any:
    asked: list[Pos] = []

    async def plain_goal(pos: Pos) -> str | None:
        asked.append(pos)
        return (goal_at or {}).get(pos)

    async def term_goal(pos: Pos) -> str | None:
        return None

    holes = asyncio.run(collect_holes(TextModel(text), diags, plain_goal, term_goal))
    return holes, asked


def _rng(a: tuple[int, int], b: tuple[int, int]) -> dict[str, Any]:
    return {
        "start": {"line": a[0], "character": a[1]},
        "end": {"line": b[0], "character": b[1]},
    }


# --------------------------------------------------------------- "unsolved goals" at `by`
HAVE_BUG = "def haveBug : True := by\n  have h : 1 = 1 := rfl\n  skip\n"
UNSOLVED = {  # as Lean sends it: at `by`, range cut at the line's end, fullRange to the block's end
    "source": "Lean 4",
    "severity": 1,
    "range": _rng((0, 22), (1, 0)),
    "message": "unsolved goals\nh : 1 = 1\n⊢ True",
    "leanTags": [1],
    "fullRange": _rng((0, 22), (2, 6)),
}


def test_unsolved_goals_hole_takes_the_message_goal_and_sits_after_the_block() -> None:
    before_block = "⊢ True"  # what plainGoal answers at `by`: the goal before the block
    holes, asked = _holes(HAVE_BUG, [UNSOLVED], {Pos(0, 22): before_block})
    (hole,) = holes
    assert hole.goal == "h : 1 = 1\n⊢ True"  # the hypotheses the message lists
    assert Pos(0, 22) not in asked
    assert hole.range.start == hole.range.end == Pos(2, 6)  # after the block's last tactic
    assert hole.reported is not None and hole.reported.start == Pos(0, 22)  # Lean's squiggle
    filled = fill(HAVE_BUG, hole.start, hole.end, "trivial", "tactic")
    assert filled == "def haveBug : True := by\n  have h : 1 = 1 := rfl\n  skip\n  trivial\n"


def test_a_fill_after_a_one_line_block_keeps_by_and_its_column() -> None:
    text = "theorem t : True ∧ True := by constructor\n"
    diag = dict(UNSOLVED, range=_rng((0, 27), (0, 41)), fullRange=_rng((0, 27), (0, 41)))
    diag["message"] = "unsolved goals\ncase left\n⊢ True\n\ncase right\n⊢ True"
    (hole,) = _holes(text, [diag])[0]
    filled = fill(text, hole.start, hole.end, "all_goals trivial", "tactic")
    assert filled == (
        "theorem t : True ∧ True := by constructor\n" + " " * 30 + "all_goals trivial\n"
    )


def test_unsolved_goals_with_two_goals_are_two_goals() -> None:
    message = (
        "unsolved goals\ncase pos\nx : Bool\nh✝ : x = true\n⊢ Nat\n\ncase neg\nx : Bool\n⊢ Nat"
    )
    assert unsolved_goals(message) == [
        "case pos\nx : Bool\nh✝ : x = true\n⊢ Nat",
        "case neg\nx : Bool\n⊢ Nat",
    ]
    assert unsolved_goals(message)[0] == "case pos\nx : Bool\nh✝ : x = true\n⊢ Nat"
    assert goal_to_statement("case pos\n⊢ Nat\n\ncase neg\n⊢ Nat") is None
    assert decline_reason("case pos\n⊢ Nat\n\ncase neg\n⊢ Nat") is not None


def test_failing_tactic_hole_covers_the_tactic_lean_blames() -> None:
    text = "theorem t (n : Nat) : n = n := by\n  exact foo n\n"
    diag = {  # Lean blames the identifier inside the tactic
        "source": "Lean 4",
        "severity": 1,
        "range": _rng((1, 8), (1, 11)),
        "message": "Unknown identifier `foo`",
        "fullRange": _rng((1, 8), (1, 11)),
        "code": "lean.unknownIdentifier",
    }
    (hole,) = _holes(text, [diag])[0]
    assert text[hole.start : hole.end] == "exact foo n"
    assert fill(text, hole.start, hole.end, "rfl", "tactic").endswith(":= by\n  rfl\n")


# --------------------------------------------------------------- goals as lemma statements
def test_inaccessible_names_are_fresh_binders_substituted_in_every_type() -> None:
    goal = "case succ\nn✝ : Nat\na✝ : 0 + n✝ = n✝\n⊢ 0 + (n✝ + 1) = n✝ + 1"  # plainGoal, real
    statement = goal_to_statement(goal)
    assert statement == (
        "theorem sidecar_goal (anon0_0 : Nat) (anon1_0 : 0 + anon0_0 = anon0_0) :\n"
        "    0 + (anon0_0 + 1) = anon0_0 + 1 := by"
    )
    negation = negation_statement(goal)
    assert negation is not None and "✝" not in negation


def test_let_values_are_kept_as_equalities() -> None:
    parts = to_lemma("x : ℕ := 5\n⊢ x = 5")
    assert isinstance(parts, Lemma)
    assert (list(parts.binders), parts.target) == (["(x : ℕ)", "(x_def : x = 5)"], "x = 5")
    assert negation_statement("x : ℕ := 5\n⊢ x = 5") == (
        "theorem sidecar_negation : ¬(∀ (x : ℕ) (x_def : x = 5), x = 5) := by"
    )


def test_assignments_inside_a_type_are_not_let_values() -> None:
    parts = to_lemma("p : Point\nh : p = { x := 1, y := 2 }\n⊢ p.x = 1")
    assert isinstance(parts, Lemma)
    assert (list(parts.binders), parts.target) == (
        ["(p : Point)", "(h : p = { x := 1, y := 2 })"],
        "p.x = 1",
    )


def test_goals_with_metavariables_are_declined_with_a_reason() -> None:
    goal = "α : Sort ?u\n⊢ α → α"  # plainGoal, real
    assert goal_to_statement(goal) is None and negation_statement(goal) is None
    reason = decline_reason(goal)
    assert reason is not None and "?u" in reason
    assert decline_reason("n : Nat\nh : n = ?m.5\n⊢ True") is not None


def test_auto_bound_universes_become_universe_parameters() -> None:
    goal = "α : Type u_1\nbs cs : List α\n⊢ [] ++ bs ++ cs = [] ++ (bs ++ cs)"  # plainGoal, real
    statement = goal_to_statement(goal)
    assert statement is not None and statement.startswith(
        "theorem sidecar_goal.{u_1} (α : Type u_1)"
    )


# --------------------------------------------------------------- declarations
def _names(text: str) -> list[tuple[str, str | None, str]]:
    return [(d.kind, d.name, text[d.start : d.end]) for d in find_declarations(text)]


def test_declarations_start_at_their_in_prefix() -> None:
    for prefix in (
        "set_option maxHeartbeats 400000 in\n",
        "open Nat in\n",
        "#guard_msgs in\n",
        "unseal foo in\n",
        "set_option linter.unusedVariables false in\nopen Nat in\n",
    ):
        text = f"import Mathlib\n\n{prefix}theorem t : True := by\n  trivial\n"
        ((kind, name, body),) = _names(text)
        assert (kind, name) == ("theorem", "t")
        assert body == f"{prefix}theorem t : True := by\n  trivial"


def test_declaration_names_and_forms() -> None:
    text = (
        "theorem «my thm» : True := trivial\n"
        "instance (priority := 100) fooInst : Inhabited Nat := ⟨0⟩\n"
        "meta def m1 : Nat := 1\n"
        "public meta def m2 : Nat := 2\n"
        "local instance : Inhabited Bool := ⟨true⟩\n"
        "scoped instance sc : Inhabited Int := ⟨0⟩\n"
        "mutual\n  theorem ev : True := sorry\n  theorem od : True := sorry\nend\n"
    )
    assert [(k, n) for k, n, _ in _names(text)] == [
        ("theorem", "«my thm»"),
        ("instance", "fooInst"),
        ("def", "m1"),
        ("def", "m2"),
        ("instance", None),
        ("instance", "sc"),
        ("theorem", "ev"),
        ("theorem", "od"),
    ]


def test_every_command_ends_the_declaration_before_it() -> None:
    for command in (
        "alias t2 := t",
        "grind_pattern foo => bar",
        "proof_wanted w : False",
        'library_note "n" /-- text -/',
        "register_option o : Bool := { defValue := false }",
        "run_meta pure ()",
    ):
        text = f"theorem t : True := by\n  trivial\n{command}\n"
        decls = find_declarations(text)
        assert text[decls[0].start : decls[0].end] == "theorem t : True := by\n  trivial", command


def test_sketch_goals_are_paired_by_position_not_from_the_end() -> None:
    from lean_interact.interface import Sorry

    from lean_bridge.repl_results import CommandResult

    command = (
        "theorem t (x : Nat) : x = x ∧ True := by\n"
        "  have h1 : x = x := by sorry\n"  # the sketch's hole
        "  exact ⟨h1, sorry⟩"  # another sorry of the declaration, after the sketch
    )
    sorries = [  # as the REPL reports them (have_by_sorry.expected.out's shape)
        {
            "proofState": 0,
            "pos": {"line": 2, "column": 24},
            "goal": "x : Nat\n⊢ x = x",
            "endPos": {"line": 2, "column": 29},
        },
        {
            "proofState": 1,
            "pos": {"line": 3, "column": 13},
            "goal": "x : Nat\nh1 : x = x\n⊢ True",
            "endPos": {"line": 3, "column": 18},
        },
    ]
    lo = command.index("have")
    hi = command.index("\n", lo)
    (decl,) = find_declarations(command)
    result = CommandResult(0, [], [Sorry.model_validate(s) for s in sorries])
    in_region = [t.start for t in scan_sorries(command) if lo <= t.start < hi]
    assert result.goals_at(command, decl, in_region) == ["x : Nat\n⊢ x = x"]
    # what pairing from the end gives:
    assert [s["goal"] for s in sorries][-1:] != ["x : Nat\n⊢ x = x"]


def test_an_error_in_a_term_proof_is_not_widened_past_the_proof() -> None:
    text = "theorem t (n : Nat) : n = n := foo n\n"
    diag = {
        "source": "Lean 4",
        "severity": 1,
        "range": _rng((0, 31), (0, 34)),
        "message": "Unknown identifier `foo`",
        "fullRange": _rng((0, 31), (0, 34)),
    }
    (hole,) = _holes(text, [diag])[0]
    assert text[hole.start : hole.end] == "foo"


def test_a_module_doc_ends_a_declaration_and_starts_none() -> None:
    text = "theorem a : True := by\n  trivial\n\n/-! ## Section doc -/\n\ntheorem b : True := trivial\n"
    decls = find_declarations(text)
    assert [text[d.start : d.end] for d in decls] == [
        "theorem a : True := by\n  trivial",
        "theorem b : True := trivial",
    ]


def test_a_let_value_lean_elided_is_declined_with_the_reason() -> None:
    """Lean prints a `let`/`set` variable whose value it elides as `name : type := ⋯` (a goal
    as the infoview showed it, quoted in a public repository's proof: `n_val : ℕ := ⋯`,
    `max_idx : WithBot ℕ := ⋯`). `n_val = ⋯` cannot elaborate, and dropping the value would
    state another goal: the hole is declined, with the reason, instead of a lemma that fails."""
    goal = (
        "n m : ℕ\nn_val : ℕ := ⋯\nn_pos : 0 < n_val\nmax_idx : WithBot ℕ := ⋯\np : ℕ\n⊢ n_val ≠ 0"
    )
    why = decline_reason(goal)
    assert why is not None and "elided the value of `n_val`" in why
    assert goal_to_statement(goal) is None
    kept = "x : ℕ\ny : ℕ := x + 1\n⊢ y = x + 1"  # a value Lean printed stays an equation
    assert decline_reason(kept) is None
    assert "(y_def : y = x + 1)" in (goal_to_statement(kept) or "")


# The outer block is unsolved (Lean's "unsolved goals" at the outer `by`, line 0); its last line
# holds a `have` with a `by` of its own. A tactic for the outer goal belongs at column 2.
NESTED = (
    "example (p q : Prop) (hq : q) : p ∧ q := by\n  constructor\n  have h : True := by trivial\n"
)
NESTED_UNSOLVED = dict(
    UNSOLVED,
    range=_rng((0, 41), (1, 0)),
    fullRange=_rng((0, 41), (2, 29)),
    message="unsolved goals\ncase left\np q : Prop\nhq : q\nh : True\n⊢ p",
)


def test_a_fill_after_a_nested_by_lands_in_the_block_lean_reported() -> None:
    from lean_bridge.hole_fill import block_column, replacement

    model = TextModel(NESTED)
    (hole,) = _holes(NESTED, [NESTED_UNSOLVED])[0]
    assert hole.reported is not None
    column = block_column(model.masked, model.index.offset(hole.reported.start))
    assert column == 2
    a, b, new = replacement(NESTED, hole.start, hole.end, "exact sorry_free", "tactic", column)
    filled = NESTED[:a] + new + NESTED[b:]
    assert filled.endswith("  have h : True := by trivial\n  exact sorry_free\n"), filled
    # the probe the hover asks Lean about: its `sorry` on a line of its own, not `triviasorry`
    a, b, new = replacement(NESTED, hole.start, hole.end, "sorry", "tactic", column)
    assert new == "\n  sorry"
