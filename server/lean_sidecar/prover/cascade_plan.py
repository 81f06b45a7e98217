"""Which symbolic tactics to try on a goal before any model, for the project's Lean version.

Read from the project's ``lean-toolchain`` (and, when present, Mathlib's entry in
``lake-manifest.json``): fast, cheap closers first, each with a heartbeat and a wall-time cap,
then generators (``try?``, ``exact?``, ``apply?``, ``hint``) whose *suggestions* are re-checked
and never accepted themselves. Version facts (Lean's release notes, leanprover/lean4 releases/):

- ``decide!`` (kernel reduction) came in v4.14.0 (#5665) and was replaced by ``decide +kernel``
  in v4.15.0 (#6016); before v4.14 only plain ``decide``.
- ``grind`` is core Lean since v4.22.0; ``try?`` (which builds on ``grind``) is used from the
  same version, a deliberately conservative bound.
- ``omega`` and ``exact?``/``apply?`` are core Lean from v4.7/v4.8 and always available with
  Mathlib; the rest (``norm_num``, ``ring_nf``, ``linarith``, ``positivity``, ``field_simp``,
  ``nlinarith``, ``aesop``, ``hint``) need Mathlib.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lean_bridge.lean_versions import Version, parse_toolchain

Role = Literal["closer", "generator"]


@dataclass(frozen=True)
class CascadeStep:
    tactic: str
    heartbeats: int  # ``set_option maxHeartbeats N in`` around the check
    seconds: float  # wall-time cap of the REPL command
    role: Role = "closer"

    def wrap(self, command: str) -> str:
        """The REPL command with this step's heartbeat cap."""
        return f"set_option maxHeartbeats {self.heartbeats} in\n{command}"


@dataclass(frozen=True)
class _Spec:
    tactic: str
    heartbeats: int
    seconds: float
    role: Role = "closer"
    since: Version = (4, 0, 0)
    before: Version | None = None  # absent from this version on
    mathlib: bool = False  # needs Mathlib (or Aesop, which Mathlib brings)
    core_since: Version | None = None  # in core from this version, else needs Mathlib


# Cheap first: definitional and decision procedures, then normalisers, then arithmetic
# closers, then the expensive searches.
_SPECS: tuple[_Spec, ...] = (
    _Spec("rfl", 20_000, 2.0),
    _Spec("trivial", 20_000, 2.0),
    _Spec("decide", 50_000, 5.0),
    _Spec("decide!", 50_000, 5.0, since=(4, 14, 0), before=(4, 15, 0)),
    _Spec("decide +kernel", 50_000, 5.0, since=(4, 15, 0)),
    _Spec("norm_num", 100_000, 10.0, mathlib=True),
    _Spec("simp", 100_000, 10.0),
    _Spec("omega", 100_000, 10.0, mathlib=True, core_since=(4, 7, 0)),
    _Spec("ring_nf", 100_000, 10.0, mathlib=True),
    _Spec("linarith", 100_000, 10.0, mathlib=True),
    _Spec("positivity", 100_000, 10.0, mathlib=True),
    _Spec("field_simp", 100_000, 10.0, mathlib=True),
    _Spec("grind", 200_000, 20.0, since=(4, 22, 0)),
    _Spec("nlinarith", 200_000, 20.0, mathlib=True),
    _Spec("simp_all", 200_000, 20.0),
    _Spec("aesop", 200_000, 20.0, mathlib=True),
    _Spec("try?", 400_000, 40.0, role="generator", since=(4, 22, 0)),
    _Spec("exact?", 400_000, 40.0, role="generator", mathlib=True, core_since=(4, 8, 0)),
    _Spec("apply?", 400_000, 40.0, role="generator", mathlib=True, core_since=(4, 8, 0)),
    _Spec("hint", 400_000, 40.0, role="generator", mathlib=True),
)


def mathlib_rev(manifest_text: str) -> str | None:
    """Mathlib's ``rev`` (or ``inputRev``) in a ``lake-manifest.json``; None without Mathlib."""
    try:
        data = json.loads(manifest_text)
    except ValueError:
        return None
    packages = data.get("packages") if isinstance(data, dict) else None
    for pkg in packages if isinstance(packages, list) else []:
        if isinstance(pkg, dict) and pkg.get("name") == "mathlib":
            rev = pkg.get("inputRev") or pkg.get("rev")
            return str(rev) if rev else "unknown"
    return None


def cascade_plan(version: Version | None, has_mathlib: bool) -> list[CascadeStep]:
    """The ordered tactic list for a Lean version. ``version=None`` (a nightly or unreadable
    toolchain) keeps only what every Lean 4 release has."""
    steps = []
    for spec in _SPECS:
        if version is None:
            if spec.since != (4, 0, 0) or spec.before is not None:
                continue
        elif version < spec.since or (spec.before is not None and version >= spec.before):
            continue
        in_core = spec.core_since is not None and version is not None and version >= spec.core_since
        if spec.mathlib and not has_mathlib and not in_core:
            continue
        steps.append(CascadeStep(spec.tactic, spec.heartbeats, spec.seconds, spec.role))
    return steps


_IMPORTS_MATHLIB = re.compile(r"^import\s+(?:Mathlib|Aesop)\b", re.M)


def imports_mathlib(text: str) -> bool:
    """Whether a file imports Mathlib (or Aesop): then its tactics are there whatever the
    manifest says (a file that imports Mathlib only elaborates where Mathlib is built)."""
    return _IMPORTS_MATHLIB.search(text) is not None


def plan_for_project(project_dir: Path, file_text: str = "") -> list[CascadeStep]:
    """The plan for a Lake project folder (the one with ``lean-toolchain``) and, when given,
    the file being searched (its ``import Mathlib`` counts as Mathlib being there)."""
    toolchain = project_dir / "lean-toolchain"
    manifest = project_dir / "lake-manifest.json"
    version = parse_toolchain(toolchain.read_text()) if toolchain.is_file() else None
    has_mathlib = manifest.is_file() and mathlib_rev(manifest.read_text()) is not None
    return cascade_plan(version, has_mathlib or imports_mathlib(file_text))
