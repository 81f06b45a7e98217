"""The proof cache is honest: a hit only where the same check would pass again."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

from lean_sidecar.search.cache import CacheScope, ProofCache
from tests.search_helpers import site_and_task

TEXT = """import Mathlib

theorem a_thm (n : Nat) : n + 0 = n := by
  sorry

theorem b_thm (n : Nat) : n = n ∧ n + 0 = n := by
  constructor
  · sorry
  · sorry
"""
GOAL = "n : Nat\n⊢ n + 0 = n"


def project(tmp: Path, toolchain: str = "leanprover/lean4:v4.24.0", mathlib: str = "abc") -> Path:
    p = tmp / "proj"
    p.mkdir(exist_ok=True)
    (p / "lean-toolchain").write_text(toolchain + "\n")
    manifest = {"packages": [{"name": "mathlib", "rev": mathlib}]}
    (p / "lake-manifest.json").write_text(json.dumps(manifest))
    return p


def test_key_holds_toolchain_manifest_project_policy_position_and_model(tmp_path: Path) -> None:
    proj = project(tmp_path)
    db = tmp_path / "c.sqlite"
    site = site_and_task(TEXT, 0, GOAL)[0]
    ProofCache(db, CacheScope.of(proj)).store(site, GOAL, "m", "simp", "model")
    assert ProofCache(db, CacheScope.of(proj)).lookup(site, GOAL, "m") == ("simp", "model", False)
    assert ProofCache(db, CacheScope.of(proj)).lookup(site, GOAL, "other-model") is None
    assert (
        ProofCache(db, CacheScope.of(proj, allow_native_decide=True)).lookup(site, GOAL, "m")
        is None
    )
    project(tmp_path, mathlib="def")  # Mathlib bumped
    assert ProofCache(db, CacheScope.of(proj)).lookup(site, GOAL, "m") is None
    project(tmp_path, mathlib="abc", toolchain="leanprover/lean4:v4.25.0")
    assert ProofCache(db, CacheScope.of(proj)).lookup(site, GOAL, "m") is None
    project(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    for f in ("lean-toolchain", "lake-manifest.json"):
        (other / f).write_bytes((proj / f).read_bytes())
    assert ProofCache(db, CacheScope.of(other)).lookup(site, GOAL, "m") is None
    assert ProofCache(db, CacheScope.of(proj)).lookup(site, GOAL, "m") is not None


def test_same_goal_at_another_hole_position_is_a_miss(tmp_path: Path) -> None:
    cache = ProofCache(tmp_path / "c.sqlite", CacheScope.of(project(tmp_path)))
    first, second = site_and_task(TEXT, 1, GOAL)[0], site_and_task(TEXT, 2, GOAL)[0]
    cache.store(second, GOAL, "m", "simp", "model")
    assert cache.lookup(first, GOAL, "m") is None
    assert cache.lookup(second, GOAL, "m") is not None


def test_no_entry_under_an_unknown_goal(tmp_path: Path) -> None:
    cache = ProofCache(tmp_path / "c.sqlite")
    site = site_and_task(TEXT, 0, GOAL)[0]
    for goal in (None, "", "  \n "):
        cache.store(site, goal, "m", "simp", "model")
        assert cache.lookup(site, goal, "m") is None
    rows = sqlite3.connect(tmp_path / "c.sqlite").execute("SELECT COUNT(*) FROM proofs_v2")
    assert rows.fetchone()[0] == 0


def test_every_hit_is_regated(tmp_path: Path) -> None:
    """An entry the gate refuses today (written by an older version, or by hand) is dropped."""
    db = tmp_path / "c.sqlite"
    cache = ProofCache(db)
    site = site_and_task(TEXT, 0, GOAL)[0]
    cache.store(site, GOAL, "m", "simp", "model")
    con = sqlite3.connect(db)
    con.execute("UPDATE proofs_v2 SET script = ?", ("exact sorryAx _ false",))
    con.commit()
    assert cache.lookup(site, GOAL, "m") is None
    assert con.execute("SELECT COUNT(*) FROM proofs_v2").fetchone()[0] == 0
    cache.store(site, GOAL, "m", "native_decide", "model")  # refused by the default policy
    assert cache.lookup(site, GOAL, "m") is None


def test_a_changed_prefix_flags_the_hit_for_a_lean_recheck(tmp_path: Path) -> None:
    cache = ProofCache(tmp_path / "c.sqlite")
    site = site_and_task(TEXT, 0, GOAL)[0]
    cache.store(site, GOAL, "m", "simp", "model")
    assert cache.lookup(site, GOAL, "m") == ("simp", "model", False)
    edited = TEXT.replace("import Mathlib\n", "import Mathlib\n\ndef helper := 1\n")
    hit = cache.lookup(site_and_task(edited, 0, GOAL)[0], GOAL, "m")
    assert hit is not None and hit.recheck


def test_the_file_is_private(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "c.sqlite"
    old = os.umask(0)
    try:
        ProofCache(db).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    db.chmod(0o644)  # a file left by an older version
    ProofCache(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
