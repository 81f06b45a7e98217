"""Verified proofs kept on disk, so that a hole solved once is offered at once next time.

The key is the hole's goal (whitespace-normalised), a hash of everything Lean elaborated before
it (the file's prefix and the declaration's statement) and the model: the same key means the
same check, so a hit needs no endpoint call and no new verification.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path


def context_hash(prefix: str, statement: str) -> str:
    return hashlib.sha256(prefix.encode() + b"\0" + statement.encode()).hexdigest()


def normalize_goal(goal: str | None) -> str:
    return " ".join((goal or "").split())


class ProofCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS proofs (goal TEXT, context TEXT, model TEXT, script TEXT, "
            "how TEXT, created REAL, PRIMARY KEY (goal, context, model))"
        )
        self._db.commit()
        self.hits = 0

    def get(self, goal: str | None, context: str, model: str) -> tuple[str, str] | None:
        row = self._db.execute(
            "SELECT script, how FROM proofs WHERE goal=? AND context=? AND model=?",
            (normalize_goal(goal), context, model),
        ).fetchone()
        if row:
            self.hits += 1
            return str(row[0]), str(row[1])
        return None

    def put(self, goal: str | None, context: str, model: str, script: str, how: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO proofs VALUES (?, ?, ?, ?, ?, ?)",
            (normalize_goal(goal), context, model, script, how, time.time()),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
