"""Helper declarations from an answer: which are carried, how they are renamed, when refused."""

from __future__ import annotations

from lean_bridge.declarations import find_declarations
from lean_sidecar.prover.helpers import HELPER_PREFIX, collect_helpers, fresh_name

CODE = """import Mathlib

lemma h1 (n : ℕ) : n ≤ n + 1 := by omega

-- h1 is used below; this comment and "h1" in a string are not code
lemma h2 (n : ℕ) : n ≤ n + 2 := by
  have := h1 n
  omega

lemma unused (n : ℕ) : 0 ≤ n := by omega

theorem main (n : ℕ) : n ≤ n + 2 := by
  have h1' := h2 n
  exact h1'
"""


def _collect(code: str, script: str, user: str = ""):
    decls = find_declarations(code)
    main = decls[-1]
    return collect_helpers(code, decls, main, script, user)


def test_used_helpers_are_carried_transitively_and_renamed_on_code_only() -> None:
    got = _collect(CODE, "have h1' := h2 n\nexact h1'")
    assert not isinstance(got, str) and got is not None
    assert got.count == 2  # h2, and h1 through h2; `unused` is not carried
    names = [d.name or "" for d in find_declarations(got.text)]
    assert all(n.startswith(HELPER_PREFIX) for n in names)
    assert names[0].endswith("_h1") and names[1].endswith("_h2")
    assert f"have := {names[0]} n" in got.text
    assert got.script == f"have h1' := {names[1]} n\nexact h1'"  # `h1'` is another name
    assert "unused" not in got.text


def test_no_helper_used_means_none() -> None:
    assert _collect(CODE, "omega") is None


def test_a_qualified_helper_name_is_refused() -> None:
    code = (
        "lemma Nat.my_aux (n : ℕ) : n ≤ n := le_rfl\n\ntheorem t (n : ℕ) : n ≤ n := Nat.my_aux n\n"
    )
    got = _collect(code, "exact Nat.my_aux n")
    assert isinstance(got, str) and "qualified" in got


def test_fresh_names_avoid_the_users_file() -> None:
    first = fresh_name("aux", "lemma aux : True := trivial", "")
    again = fresh_name("aux", "lemma aux : True := trivial", f"theorem {first} : True := trivial")
    assert first != again and first.startswith(HELPER_PREFIX) and again.endswith("_aux")


def test_extraction_keeps_the_answers_own_script_and_offers_the_helpers() -> None:
    """Callers that do not carry helpers (hover) see the proof as written, as before."""
    from lean_sidecar.prover.extract import extract_script
    from lean_sidecar.prover.task import ProofTask

    task = ProofTask("import Mathlib", "", "theorem main (n : ℕ) : n ≤ n + 2 := by", True, None)
    got = extract_script(task, CODE)
    assert got.script == "have h1' := h2 n\nexact h1'"
    assert got.helpers is not None and got.helpers.script != got.script
