"""Verified proofs kept on disk, so that a hole solved once is offered at once next time.

A cached proof is only as good as the check that accepted it, so the key holds everything that
check depended on: the Lean toolchain, the Lake manifest (Mathlib's version), the project, the
policy (native evaluation allowed or not), the declaration's statement, the hole's position in
it, its goal and the model. The file's prefix is stored beside the entry: a hit whose prefix
changed since is returned flagged ``recheck`` (Lean must check it again before it is offered).
Every hit goes through the candidate gate again (the gate may have grown stricter since), a
hole whose goal is unknown is neither stored nor looked up, and the file is private (0600).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from lean_bridge.candidate_filter import check_candidate
from lean_bridge.hole_site import HoleSite

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS proofs_v2 (scope TEXT, goal TEXT, context TEXT, hole INTEGER, "
    "model TEXT, prefix TEXT, script TEXT, how TEXT, created REAL, "
    "PRIMARY KEY (scope, goal, context, hole, model))"
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalize_goal(goal: str | None) -> str:
    return " ".join((goal or "").split())


@dataclass(frozen=True)
class CacheScope:
    """What a proof's validity depends on beyond the file: the project and its Lean, and the
    policy it was checked under."""

    project: str = ""
    toolchain: str = ""
    manifest: str = ""  # sha256 of lake-manifest.json (pins Mathlib and every dependency)
    allow_native_decide: bool = False

    @classmethod
    def of(cls, project_dir: Path | None, allow_native_decide: bool = False) -> CacheScope:
        if project_dir is None:
            return cls(allow_native_decide=allow_native_decide)
        root = project_dir.resolve()

        def read(name: str) -> bytes:
            try:
                return (root / name).read_bytes()
            except OSError:
                return b""

        return cls(
            str(root),
            read("lean-toolchain").decode(errors="replace").strip(),
            _sha(read("lake-manifest.json")),
            allow_native_decide,
        )

    def key(self) -> str:
        parts = (self.project, self.toolchain, self.manifest, str(self.allow_native_decide))
        return _sha("\0".join(parts).encode())


class CacheHit(NamedTuple):
    script: str
    how: str
    recheck: bool = False  # the file's prefix changed since: Lean must check it again


def unusable(path: Path, exc: BaseException) -> str:
    """What the user is told once when the cache cannot be used: the search goes on without."""
    why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return (
        f"the proof cache {path} cannot be used ({why}): searching without it. Set "
        "cache_path to a file in a writable folder, free some space, or delete a damaged file"
    )


def open_cache(
    path: Path, scope: CacheScope | None = None, on_failure: Callable[[str], None] | None = None
) -> tuple[ProofCache | None, str | None]:
    """The cache at ``path``, or None and why it cannot be used (a read-only or full folder, a
    file that is not a database): a cache is a speed-up, never a reason for a search to fail."""
    try:
        return ProofCache(path, scope, on_failure), None
    except (OSError, sqlite3.Error) as exc:
        return None, unusable(path, exc)


class ProofCache:
    def __init__(
        self,
        path: Path,
        scope: CacheScope | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        """``on_failure`` is told, once, when the cache stops working while in use (the disk
        fills, the file is damaged); from then on it is a cache that holds nothing."""
        self.scope = scope or CacheScope()
        self.path = path
        self.failure: str | None = None
        self._on_failure = on_failure
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)  # also an older file created with the umask's permissions
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        try:
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error:
            self._db.close()
            raise
        self.hits = 0

    def _failed(self, exc: sqlite3.Error) -> None:
        if self.failure is None:
            self.failure = unusable(self.path, exc)
            if self._on_failure is not None:
                self._on_failure(self.failure)

    # ---- by hole site (what callers should use) -----------------------------------------------
    def lookup(self, site: HoleSite, goal: str | None, model: str) -> CacheHit | None:
        """A proof for this hole, re-gated; ``recheck`` set when the file's prefix changed."""
        if self.failure is not None:
            return None
        prefix, statement, hole = _site_parts(site)
        try:
            return self._get(goal, _sha(statement.encode()), hole, model, _sha(prefix.encode()))
        except sqlite3.Error as exc:
            self._failed(exc)
            return None

    def store(self, site: HoleSite, goal: str | None, model: str, script: str, how: str) -> None:
        if self.failure is not None:
            return
        prefix, statement, hole = _site_parts(site)
        try:
            self._put(
                goal, _sha(statement.encode()), hole, model, _sha(prefix.encode()), script, how
            )
        except sqlite3.Error as exc:
            self._failed(exc)

    # ---- storage ----------------------------------------------------------------------------
    def _get(
        self, goal: str | None, context: str, hole: int, model: str, prefix: str
    ) -> CacheHit | None:
        """``prefix`` is a hash of the file's prefix, stored to flag hits whose prefix changed."""
        g = normalize_goal(goal)
        if not g:
            return None  # an unknown goal: nothing says the cached proof is for this hole
        key = (self.scope.key(), g, context, hole, model)
        row = self._db.execute(
            "SELECT script, how, prefix FROM proofs_v2 "
            "WHERE scope=? AND goal=? AND context=? AND hole=? AND model=?",
            key,
        ).fetchone()
        if row is None:
            return None
        script, how, stored_prefix = str(row[0]), str(row[1]), str(row[2])
        if not check_candidate(script, allow_native_decide=self.scope.allow_native_decide).ok:
            self._db.execute(
                "DELETE FROM proofs_v2 WHERE scope=? AND goal=? AND context=? AND hole=? "
                "AND model=?",
                key,
            )
            self._db.commit()
            return None
        self.hits += 1
        return CacheHit(script, how, stored_prefix != prefix)

    def _put(
        self,
        goal: str | None,
        context: str,
        hole: int,
        model: str,
        prefix: str,
        script: str,
        how: str,
    ) -> None:
        g = normalize_goal(goal)
        if not g:
            return
        if not check_candidate(script, allow_native_decide=self.scope.allow_native_decide).ok:
            return
        self._db.execute(
            "INSERT OR REPLACE INTO proofs_v2 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.scope.key(), g, context, hole, model, prefix, script, how, time.time()),
        )
        self._db.commit()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()


def _site_parts(site: HoleSite) -> tuple[str, str, int]:
    """The file's prefix, the declaration's statement and the hole's offset in the declaration."""
    return (
        site.text[: site.decl.start],
        site.decl.statement(site.text),
        site.start - site.decl.start,
    )
