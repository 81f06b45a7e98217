"""Verification through lean-interact's real code path, against the stand-in REPL."""

from __future__ import annotations

from pathlib import Path

import pytest

from lean_bridge.repl_pool import ReplPool, ReplSettings, ReplUnavailable
from lean_bridge.verifier import HoleSite, Verifier
from tests.conftest import PROJECT
from tests.search_helpers import make_pool, repl_received, site_and_task
from tests.standins.toolchain import make_toolchain

FACTS = PROJECT / "repl_facts.json"
TEXT = """import Mathlib

theorem tactic_mode (a b : Nat) (h : a ≤ b) : a < b + 1 := by
  sorry

theorem term_mode (n : Nat) : n + 0 = n := sorry

theorem with_have (x : Nat) (h : 0 < x) : 1 ≤ x * x := by
  have hx : 1 ≤ x := by sorry
  calc 1 ≤ x := hx
    _ ≤ x * x := by sorry

example : 2 + 2 = 4 := by sorry
"""


def site(text: str, nth: int) -> HoleSite:
    return site_and_task(text, nth, None)[0]


@pytest.fixture
async def pool(tmp_path: Path):
    p = make_pool(tmp_path, FACTS, size=2, timeout=5)
    yield p
    await p.close()


async def test_good_proof_is_verified_and_bad_ones_are_not(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 0)
    assert s.mode == "tactic"
    good = await v.check(s, "omega")
    assert good.ok, good.reason
    assert good.filled_text is not None and "  omega\n" in good.filled_text
    bad = await v.check(s, "linarith")
    assert not bad.ok and bad.errors and "linarith failed" in bad.errors[0]["data"]
    multi = await v.check(s, "have h2 : a < b + 1 := by omega\nexact h2")
    assert multi.ok, multi.reason


async def test_term_holes_take_by_blocks(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 1)
    assert s.mode == "term"
    assert (await v.check(s, "simp")).ok


async def test_other_holes_of_the_declaration_may_stay(pool: ReplPool) -> None:
    v = Verifier(pool)
    first = site(TEXT, 2)
    assert first.other_holes
    assert (await v.check(first, "omega")).ok
    assert (await v.check(site(TEXT, 3), "nlinarith")).ok


async def test_axiom_audit_refuses_native_decide_by_default(pool: ReplPool) -> None:
    s = site(TEXT, 4)
    assert (await Verifier(pool).check(s, "decide")).ok
    refused = await Verifier(pool).check(s, "native_decide")
    assert not refused.ok and refused.filtered  # never reached the REPL
    assert not any("native_decide" in r.get("cmd", "") for r in repl_received(pool))
    allowed = Verifier(pool, allow_native_decide=True)
    assert (await allowed.check(s, "native_decide")).ok


async def test_malicious_candidates_never_reach_the_repl(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 0)
    for script in [
        "sorry",
        "#eval 1",
        "run_cmd pure ()",
        "exact sorryAx _ false",
        "admit",
        "set_option debug.skipKernelTC true in omega",
        "omega\n\naxiom cheat : False",
    ]:
        verdict = await v.check(s, script)
        assert not verdict.ok and verdict.filtered, script
    assert not any(
        word in r.get("cmd", "")
        for r in repl_received(pool)
        for word in ("#eval", "run_cmd", "sorryAx", "admit", "skipKernelTC", "axiom cheat")
    )


async def test_prefix_is_elaborated_once_for_many_candidates(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 0)
    for script in ["omega", "linarith", "simp", "exact Nat.lt_succ_of_le h", "decide", "norm_num"]:
        await v.check(s, script)
    assert pool.prefix_elaborations == 1
    prefix_runs = [r for r in repl_received(pool) if r.get("cmd", "").startswith("import Mathlib")]
    assert len(prefix_runs) == 1
    assert (
        sum("unpickleEnvFrom" in r for r in repl_received(pool)) == 1
    )  # the second REPL of the pool


async def test_a_hanging_or_dying_repl_is_replaced(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 0)
    slow = await v.check(s, "slow_tactic")
    assert not slow.ok and "timed out" in (slow.reason or "")
    crash = await v.check(s, "crash_tactic")
    assert not crash.ok and "died" in (crash.reason or "")
    assert pool.replaced == 2
    assert (await v.check(s, "omega")).ok


async def test_mismatched_repl_toolchain_is_a_clear_error(tmp_path: Path) -> None:
    lake, repl = make_toolchain(tmp_path / "tc", FACTS, lean_version="v4.9.0")
    p = ReplPool(ReplSettings(project_dir=PROJECT, repl_path=repl, lake_path=str(lake)))
    with pytest.raises(ReplUnavailable, match=r"v4\.9\.0.*v4\.24\.0"):
        await p.start()
