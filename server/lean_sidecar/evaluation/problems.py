"""Benchmarks: a JSONL of ``{name, header, formal_statement}`` (DeepSeek's field convention),
or a named set from ``shared/data`` (never copied into the project)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

NAMED = {
    "minif2f-test": ("minif2f-lean4-v4.24/minif2f_lean4_v4.24.jsonl", "test"),
    "minif2f-valid": ("minif2f-lean4-v4.24/minif2f_lean4_v4.24.jsonl", "valid"),
    "minif2f-ds-test": ("deepseek-prover-v1.5/minif2f.jsonl", "test"),
    "proofnet-test": ("deepseek-prover-v1.5/proofnet.jsonl", "test"),
}


@dataclass(frozen=True)
class Problem:
    name: str
    header: str
    formal_statement: str
    informal: str = ""

    def text(self) -> str:
        """The file to fill: header, statement, and one ``sorry`` as the proof."""
        stmt = self.formal_statement.rstrip()
        if stmt.endswith(":= by"):
            body = stmt + "\n  sorry\n"
        elif stmt.endswith(":="):
            body = stmt + " by\n  sorry\n"
        else:
            body = stmt + " := by\n  sorry\n"
        header = (
            self.header if self.header.endswith("\n") or not self.header else self.header + "\n"
        )
        return header + self.informal + body


def data_dir() -> Path | None:
    env = os.environ.get("LEAN_SIDECAR_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [parent / "shared" / "data" for parent in here.parents]
    return next((c for c in candidates if c.is_dir()), None)


def load(spec: str, split: str | None = None, limit: int | None = None) -> list[Problem]:
    """A benchmark by file path or by name (minif2f-test, …); ``split`` filters the rows."""
    path = Path(spec)
    if not path.exists():
        if spec not in NAMED:
            raise FileNotFoundError(
                f"no benchmark file {spec!r} and no named benchmark of that name "
                f"(known: {', '.join(NAMED)})"
            )
        root = data_dir()
        if root is None:
            raise FileNotFoundError("shared/data not found: set LEAN_SIDECAR_DATA to its folder")
        rel, named_split = NAMED[spec]
        path, split = root / rel, split or named_split
    problems = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if split and row.get("split") not in (None, split):
            continue
        problems.append(
            Problem(
                row["name"],
                row.get("header", ""),
                row["formal_statement"],
                row.get("informal_prefix", ""),
            )
        )
        if limit is not None and len(problems) >= limit:
            break
    return problems
