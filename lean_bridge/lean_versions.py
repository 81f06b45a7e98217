"""Facts that depend on the project's Lean version: reading ``lean-toolchain``, the axioms a
native-evaluation proof may use, the kernel fixes a version lacks, and whether Lake can replay a
file's proofs in an independent kernel check.

- Lean before 4.34.1 lacks kernel fixes for three routes to ``False`` found by adversarial
  testing: a model's proof on such a toolchain may be unsound even though Lean accepts it.
- Lean 4.35 removed ``Lean.ofReduceBool`` and ``Lean.trustCompiler`` (native evaluation is
  recorded as a per-proof ``…._native.…`` axiom instead) and added ``lake check``, which replays
  the built declarations in the kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

Version = tuple[int, int, int]

KERNEL_FIXES = (4, 34, 1)
NATIVE_AXIOMS_REMOVED = (4, 35, 0)
LAKE_CHECK_SINCE = (4, 35, 0)
LEGACY_NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.trustCompiler"})

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_toolchain(text: str) -> Version | None:
    """``leanprover/lean4:v4.22.0`` (or ``-rc3``, or a bare ``v4.9.0``) gives (4, 22, 0). A
    release candidate counts as its release: its tactics are already there. A nightly or an
    unrecognised toolchain gives None (the caller decides)."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    tag = line.split(":", 1)[-1]
    m = _VERSION.match(tag)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def project_version(project: Path | None) -> Version | None:
    """The Lean version of the Lake project at ``project`` (its ``lean-toolchain``), if known."""
    if project is None:
        return None
    toolchain = project / "lean-toolchain"
    try:
        return parse_toolchain(toolchain.read_text()) if toolchain.is_file() else None
    except OSError:
        return None


def show(version: Version) -> str:
    return ".".join(map(str, version))


def kernel_warning(version: Version | None) -> str | None:
    """The one-line warning for a toolchain without the kernel fixes, else None."""
    if version is None or version >= KERNEL_FIXES:
        return None
    return (
        f"proofs from a model may be unsound on this toolchain (Lean {show(version)} lacks "
        "kernel fixes for three routes to False found by adversarial testing); "
        f"upgrade to ≥ {show(KERNEL_FIXES)}"
    )


def native_axioms(version: Version | None) -> frozenset[str]:
    """The global axioms native evaluation may add on ``version`` (unknown: the older set)."""
    if version is not None and version >= NATIVE_AXIOMS_REMOVED:
        return frozenset()
    return LEGACY_NATIVE_AXIOMS


def kernel_replay_reason(version: Version | None) -> str | None:
    """Why an independent kernel replay (``lake check``) cannot run here, or None if it can."""
    if version is None:
        return "the project's Lean version is unknown (no lean-toolchain)"
    if version < LAKE_CHECK_SINCE:
        return f"Lean {show(version)} has no `lake check` (it came with {show(LAKE_CHECK_SINCE)})"
    return None
