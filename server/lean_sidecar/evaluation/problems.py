"""Benchmarks: a JSONL of ``{name, header, formal_statement}`` (DeepSeek's field convention), a
folder of ``.lean`` files (miniF2F-lean4's layout), or a named set from a data folder
(``eval --data``, else ``shared/data`` beside a checkout; never copied into the project)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Named:
    """A benchmark by name: where its rows are in the data folder, and what to tell a user
    who has no data folder (what it is, where it comes from, how to run it from there)."""

    path: str  # inside the data folder
    split: str
    what: str
    upstream: str
    run_from_upstream: str


_MINIF2F_V424 = (
    "https://github.com/yangky11/miniF2F-lean4 (MiniF2F/Test and MiniF2F/Valid, one .lean "
    "file per problem; the copy we test with is commit 5746b7d, on Lean/Mathlib v4.24)"
)
_DEEPSEEK = (
    "https://github.com/deepseek-ai/DeepSeek-Prover-V1.5 (datasets/, in DeepSeek's JSONL "
    "format, Lean 4.9-era Mathlib)"
)
NAMED = {
    "minif2f-test": Named(
        "minif2f-lean4-v4.24/minif2f_lean4_v4.24.jsonl",
        "test",
        "miniF2F's 244 test problems (AMC, AIME, IMO, the MATH dataset and others) as Lean 4 "
        "theorems",
        _MINIF2F_V424,
        "lean-sidecar eval miniF2F-lean4/MiniF2F/Test",
    ),
    "minif2f-valid": Named(
        "minif2f-lean4-v4.24/minif2f_lean4_v4.24.jsonl",
        "valid",
        "miniF2F's 244 validation problems as Lean 4 theorems",
        _MINIF2F_V424,
        "lean-sidecar eval miniF2F-lean4/MiniF2F/Valid",
    ),
    "minif2f-ds-test": Named(
        "deepseek-prover-v1.5/minif2f.jsonl",
        "test",
        "miniF2F's 244 test problems as DeepSeek-Prover-V1.5 evaluated them (uncorrected: "
        "six statements are known to be defective)",
        _DEEPSEEK,
        "lean-sidecar eval DeepSeek-Prover-V1.5/datasets/minif2f.jsonl --split test",
    ),
    "proofnet-test": Named(
        "deepseek-prover-v1.5/proofnet.jsonl",
        "test",
        "ProofNet's 186 test theorems from undergraduate textbooks (analysis, algebra, "
        "topology), originally https://github.com/zhangir-azerbayev/ProofNet (Lean 3)",
        _DEEPSEEK,
        "lean-sidecar eval DeepSeek-Prover-V1.5/datasets/proofnet.jsonl --split test",
    ),
}


class BenchmarkNotFound(FileNotFoundError):
    """No file, folder or named benchmark of that name, or the named one's data is missing."""


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


def data_dir(given: Path | None = None) -> Path | None:
    """The data folder: ``given`` (``eval --data``) or LEAN_SIDECAR_DATA when set, and then
    only it; else ``shared/data`` beside the checkout this code runs from."""
    env = os.environ.get("LEAN_SIDECAR_DATA")
    chosen = given or (Path(env) if env else None)
    if chosen is not None:
        return chosen if chosen.is_dir() else None
    here = Path(__file__).resolve()
    candidates = [parent / "shared" / "data" for parent in here.parents]
    return next((c for c in candidates if c.is_dir()), None)


def missing_data(spec: str, root: Path | None, given: Path | None = None) -> str:
    """Why the named benchmark cannot be loaded, what it is, and how to get it."""
    named = NAMED[spec]
    env = os.environ.get("LEAN_SIDECAR_DATA")
    if root is not None:
        where = f"{root} has no {named.path}"
    elif given is not None:
        where = f"--data {given} is not a folder"
    elif env:
        where = f"LEAN_SIDECAR_DATA={env} is not a folder"
    else:
        where = "no --data folder given"
    return (
        f"{spec}: its data is not on this machine ({where}).\n"
        f"  {spec} is {named.what}.\n"
        f"  Get it from {named.upstream}; after git clone, run\n"
        f"    {named.run_from_upstream}\n"
        f"  or give --data a folder holding {named.path}.\n"
        "  Any benchmark runs the same way from a JSONL file, one "
        '{"name", "header", "formal_statement"} object per line (optional "split"), or from '
        "a folder of .lean files with one `theorem … := by sorry` each."
    )


def load(
    spec: str, split: str | None = None, limit: int | None = None, data: Path | None = None
) -> list[Problem]:
    """A benchmark by file path, folder of ``.lean`` files, or name (minif2f-test, …, looked
    up in the data folder: ``data``, see data_dir); ``split`` filters the rows of a JSONL."""
    path = Path(spec)
    if not path.exists():
        if spec not in NAMED:
            raise BenchmarkNotFound(
                f"no benchmark file {spec!r} and no named benchmark of that name "
                f"(known: {', '.join(NAMED)})"
            )
        root = data_dir(data)
        named = NAMED[spec]
        if root is None or not (root / named.path).is_file():
            raise BenchmarkNotFound(missing_data(spec, root, data))
        path, split = root / named.path, split or named.split
    if path.is_dir():
        return lean_folder(path, limit)
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


_DECLARATION = re.compile(r"^(?:theorem|lemma)\s+(\S+)", re.M)


def lean_folder(folder: Path, limit: int | None = None) -> list[Problem]:
    """One problem per ``.lean`` file (sorted by name), as miniF2F-lean4 lays them out: the
    lines before the first ``theorem`` are the header, the rest is the statement with its
    trailing ``sorry`` taken off."""
    problems = []
    for file in sorted(folder.glob("*.lean")):
        text = file.read_text(encoding="utf-8")
        m = _DECLARATION.search(text)
        if m is None:
            continue
        statement = text[m.start() :].rstrip()
        if statement.endswith("sorry"):
            statement = statement[: -len("sorry")].rstrip()
        problems.append(Problem(m.group(1), text[: m.start()], statement + "\n"))
        if limit is not None and len(problems) >= limit:
            break
    if not problems:
        raise BenchmarkNotFound(f"{folder}: no .lean file with a theorem in it")
    return problems
