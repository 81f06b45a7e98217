"""Lay out a fake Lean toolchain that lean-interact accepts: a `lake` that runs `lake env CMD`,
and a REPL directory whose `.lake/build/bin/repl` starts the stand-in REPL."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_toolchain(
    root: Path, facts: Path, log: Path | None = None, lean_version: str = "v4.24.0"
) -> tuple[Path, Path]:
    """Return (lake_path, repl_dir)."""
    root.mkdir(parents=True, exist_ok=True)
    lake = root / "lake"
    lake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "env" ]; then shift; exec "$@"; fi\n'
        'if [ "$1" = "--version" ]; then echo "Lake version 5.0.0-stand-in (Lean version 4.24.0)"; exit 0; fi\n'
        'echo "stand-in lake: unsupported command: $*" >&2; exit 2\n'
    )
    lake.chmod(0o755)
    repl_dir = root / "repl"
    (repl_dir / ".lake" / "build" / "bin").mkdir(parents=True, exist_ok=True)
    (repl_dir / "lean-toolchain").write_text(f"leanprover/lean4:{lean_version}\n")
    args = [sys.executable, str(HERE / "repl.py"), "--facts", str(facts)]
    if log is not None:
        args += ["--log", str(log)]
    repl = repl_dir / ".lake" / "build" / "bin" / "repl"
    repl.write_text("#!/bin/sh\nexec " + shlex.join(args) + "\n")
    repl.chmod(0o755)
    return lake, repl_dir
