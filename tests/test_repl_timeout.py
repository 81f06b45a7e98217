"""A check that Lean does not finish within `repl_timeout` is named in the search's result:
an unsolved hole says that Lean ran out of time, not just "unsolved".

The stand-in REPL hangs on the body its facts file lists under "slow" (as a real REPL does on a
tactic that loops); the pool's timeout is 2 s here so that the case takes seconds. The contrast
(no timeout, no such message) is search logic alone: it runs on the in-process fake of Lean."""

from __future__ import annotations

from pathlib import Path

from lean_bridge.verifier import Verifier
from lean_sidecar.search.engine import SearchEngine
from lean_sidecar.settings import Settings
from tests.fakes import FakeVerifier
from tests.search_helpers import REPL_FACTS, make_pool, site_and_task

TEXT = "import Mathlib\n\ntheorem tactic_mode (a b : Nat) (h : a ≤ b) : a < b + 1 := by\n  sorry\n"
GOAL = "a b : Nat\nh : a ≤ b\n⊢ a < b + 1"


async def test_an_unsolved_hole_says_that_lean_ran_out_of_time(tmp_path: Path) -> None:
    pool = make_pool(tmp_path, size=1, timeout=2)
    await pool.start()
    try:
        settings = Settings(tactics=["slow_tactic"], repl_timeout=2)
        engine = SearchEngine(settings, Verifier(pool))
        site, task = site_and_task(TEXT, 0, GOAL)
        result = await engine.search(site, GOAL, task)
    finally:
        await pool.close()
    assert result.status == "unsolved"
    assert result.error is not None and "did not finish within repl_timeout (2 s)" in result.error
    (tactic,) = [a for a in result.attempts if a.kind == "tactic"]
    assert tactic.detail == "Lean timed out: no answer within 2 s (repl_timeout)"


async def test_a_hole_without_timeouts_stays_a_plain_unsolved() -> None:
    engine = SearchEngine(Settings(tactics=["rfl"]), FakeVerifier.from_file(REPL_FACTS))
    site, task = site_and_task(TEXT, 0, GOAL)
    result = await engine.search(site, GOAL, task)
    assert result.status == "unsolved" and result.error is None
