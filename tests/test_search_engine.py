"""One hole's search: cache, symbolic cascade, model samples — only Lean-verified proofs out.

Search logic on the in-process fakes (tests/fakes: Lean's verdicts from the REPL facts, scripted
samples); the real HTTP client where the assertion is about its streams."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from lean_sidecar.prover.endpoint import EndpointClient
from lean_sidecar.search.cache import ProofCache
from lean_sidecar.search.engine import SearchEngine
from lean_sidecar.search.protocols import ModelEndpoint
from lean_sidecar.settings import Settings
from tests.fakes import FakeEndpoint, FakeVerifier
from tests.search_helpers import REPL_FACTS, lean_answer, site_and_task
from tests.standins.openai_endpoint import StandInEndpoint

TEXT = """import Mathlib

theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by
  sorry

theorem easy (a b : Nat) (h : a ≤ b) : a < b + 1 := by
  sorry

theorem fact_ge (n : ℕ) (h : 2 ≤ n) : n ! ≥ n := by
  sorry
"""
STATEMENT = "theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by"
GOAL = "x : ℝ\nh : 0 < x\n⊢ x / x = 1"


@pytest.fixture
def env(tmp_path: Path):
    return FakeVerifier.from_file(REPL_FACTS), FakeEndpoint(), tmp_path


@pytest.fixture
async def http(tmp_path: Path):
    """The stand-in endpoint over real HTTP, for what only the client's streams show."""
    ep = StandInEndpoint()
    url = await ep.start()
    yield FakeVerifier.from_file(REPL_FACTS), ep, url, tmp_path
    await ep.stop()


def engine(lean: FakeVerifier, ep: ModelEndpoint | None, tmp: Path, **kw) -> SearchEngine:
    settings = Settings(
        budget_samples=kw.pop("budget", 8),
        samples_per_request=kw.pop("n", 4),
        cache_path=tmp / "cache.sqlite",
        tactics=kw.pop("tactics", ["rfl", "omega", "simp", "exact?"]),
        **kw,
    )
    return SearchEngine(settings, lean, ep, ProofCache(settings.cache_path))


async def test_symbolic_cascade_first_and_no_gpu_for_easy_holes(env) -> None:
    lean, ep, tmp = env
    site, task = site_and_task(TEXT, 1, "a b : Nat\nh : a ≤ b\n⊢ a < b + 1")
    result = await engine(lean, ep, tmp).search(site, task.goal if task else None, task)
    assert result.status == "solved"
    assert [(f.script, f.how) for f in result.found] == [("omega", "tactic")]
    # Closers run concurrently: omega won; rfl and simp did not (each failed, or was cancelled
    # when omega closed the goal first), and the search tactic exact? was never needed.
    outcomes = {a.candidate: a.outcome for a in result.attempts}
    assert outcomes["omega"] == "verified"
    assert outcomes["rfl"] in ("rejected", "cancelled")
    assert outcomes["simp"] in ("cancelled", "rejected")
    assert "exact?" not in outcomes
    assert ep.generation_requests() == []


async def test_exact_search_suggestion_is_verified(env) -> None:
    lean, ep, tmp = env
    site, task = site_and_task(TEXT, 2, "n : ℕ\nh : 2 ≤ n\n⊢ n ! ≥ n")
    result = await engine(lean, None, tmp).search(site, "n : ℕ\nh : 2 ≤ n\n⊢ n ! ≥ n", task)
    assert [(f.script, f.how) for f in result.found] == [
        ("exact Nat.self_le_factorial n", "tactic")
    ]


async def test_only_verified_model_proofs_are_offered(env) -> None:
    lean, ep, tmp = env
    wrong = lean_answer(STATEMENT, "  linarith")
    changed = lean_answer("theorem div_self' (x : ℝ) (h : 0 < x) : x / x ≤ 1 := by", "  simp")
    malicious = lean_answer(STATEMENT, '  run_cmd IO.println "pwned"\n  sorry')
    good = lean_answer(STATEMENT, "  field_simp")
    ep.script = [
        {
            "match": "div_self'",
            "responses": [
                {"texts": [wrong, "garbage with no code", changed, malicious]},
                {"texts": [wrong, good, good, wrong]},
            ],
        }
    ]
    offered = []
    result = await engine(
        lean, ep, tmp, budget=8, n=4, endpoint_concurrency=1, fix_rounds=0, decompose_depth=0
    ).search(
        *[site_and_task(TEXT, 0, GOAL)[0]],
        GOAL,
        site_and_task(TEXT, 0, GOAL)[1],
        on_found=lambda f: offered.append(f.script),
    )
    assert offered == ["field_simp"]
    assert result.status == "solved" and result.samples == 8
    outcomes = [(a.kind, a.outcome) for a in result.attempts if a.kind == "sample"]
    assert ("sample", "unparsable") in outcomes and ("sample", "duplicate") in outcomes
    assert any(
        a.outcome == "refused" and a.detail == "the answer changes the statement"
        for a in result.attempts
    )
    cmds = lean.cmds()
    assert not any("run_cmd" in c or "x / x ≤ 1" in c for c in cmds), (
        "refused candidates never reach Lean"
    )
    assert sum("linarith" in c for c in cmds) == 1, "duplicates are checked once"
    assert len(ep.generation_requests()) == 2  # two requests of n=4: no fix round, no sketch


async def test_cache_answers_a_repeated_hole_without_the_endpoint(env) -> None:
    lean, ep, tmp = env
    ep.script = [
        {"match": "div_self'", "responses": [{"texts": [lean_answer(STATEMENT, "  field_simp")]}]}
    ]
    site, task = site_and_task(TEXT, 0, GOAL)
    first = await engine(lean, ep, tmp).search(site, GOAL, task)
    n_requests = len(ep.generation_requests())
    assert first.found[0].how == "model" and n_requests >= 1
    again = await engine(lean, ep, tmp).search(site, GOAL, task)
    assert [(f.script, f.how) for f in again.found] == [("field_simp", "cache")]
    assert len(ep.generation_requests()) == n_requests


async def test_a_poisoned_cache_entry_is_refused_by_the_gate(env) -> None:
    """The cache file lives on disk: a proof in it passes the same gate as a model's. Here a
    stored entry is rewritten behind the sidecar's back (the file is the attacker's)."""
    lean, ep, tmp = env
    ep.script = [
        {"match": "div_self'", "responses": [{"texts": [lean_answer(STATEMENT, "  field_simp")]}]}
    ]
    site, task = site_and_task(TEXT, 0, GOAL)
    eng = engine(lean, ep, tmp)
    assert eng.cache is not None
    eng.cache.store(site, GOAL, eng.model_name, "simp", "model")
    db = sqlite3.connect(str(tmp / "cache.sqlite"))
    db.execute("UPDATE proofs_v2 SET script = ?", ("exact (IO.Process.exit 0 : IO Unit)",))
    db.commit()
    result = await eng.search(site, GOAL, task)
    assert [(f.script, f.how) for f in result.found] == [("field_simp", "model")]
    assert not [a for a in result.attempts if a.kind == "cache" and a.outcome == "verified"]
    assert not [c for c in lean.cmds() if "IO.Process" in c]
    assert db.execute(
        "SELECT COUNT(*) FROM proofs_v2 WHERE script LIKE '%IO.Process%'"
    ).fetchone() == (0,)


async def test_cancelled_search_closes_its_http_stream(http) -> None:
    lean, ep, url, tmp = http
    ep.script = [{"match": "div_self'", "responses": [{"hang": True}]}]
    site, task = site_and_task(TEXT, 0, GOAL)
    client = EndpointClient([url])
    search = asyncio.ensure_future(engine(lean, client, tmp, tactics=[]).search(site, GOAL, task))
    for _ in range(300):
        if ep.generation_requests():
            break
        await asyncio.sleep(0.01)
    search.cancel()
    with pytest.raises(asyncio.CancelledError):
        await search
    for _ in range(300):
        if all(r.disconnected for r in ep.generation_requests()):
            break
        await asyncio.sleep(0.01)
    assert ep.generation_requests() and all(r.disconnected for r in ep.generation_requests())
    await client.close()


async def test_dead_endpoint_is_a_clear_error_not_a_crash(env) -> None:
    lean, _, tmp = env
    site, task = site_and_task(TEXT, 0, GOAL)
    client = EndpointClient(["http://127.0.0.1:9"])
    result = await engine(lean, client, tmp, tactics=["rfl"]).search(site, GOAL, task)
    assert result.status == "error" and "no healthy endpoint" in (result.error or "")
    await client.close()
