"""Lay out a fake Lean toolchain that lean-interact accepts: a `lake` that runs `lake env CMD`,
and a REPL directory whose `.lake/build/bin/repl` starts the stand-in REPL."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def install_script(root: Path, name: str) -> Path:
    """A copy of the stand-in script ``name`` inside the toolchain folder ``root``. The REPL runs
    in the sandbox, which shows it only the project, the toolchain and the REPL's folders: the
    test tree itself may sit where the sandbox hides everything (a checkout under /tmp)."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    shutil.copyfile(HERE / name, target)
    shutil.copyfile(HERE / "lean_syntax.py", root / "lean_syntax.py")  # the REPL's parser
    return target


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
    bin_dir = repl_dir / ".lake" / "build" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (repl_dir / "lean-toolchain").write_text(f"leanprover/lean4:{lean_version}\n")
    # Everything the stand-in REPL reads lives inside the REPL's own folder, as a real REPL's
    # binary does: the sandbox shows that folder, the project and `lake`'s folder, and the
    # `lake` in use may be another one (the user's, on PATH).
    if facts.resolve().parent != bin_dir.resolve():
        shutil.copyfile(facts, bin_dir / "facts.json")
        facts = bin_dir / "facts.json"
    args = [sys.executable, str(install_script(bin_dir, "repl.py")), "--facts", str(facts)]
    if log is not None:
        args += ["--log", str(log)]
    repl = bin_dir / "repl"
    repl.write_text("#!/bin/sh\nexec " + shlex.join(args) + "\n")
    repl.chmod(0o755)
    return lake, repl_dir


def make_editor_toolchain(root: Path, lean_server: list[str], lean_version: str = "4.24.0") -> Path:
    """A `bin/` folder with `lake` and `lean` that answer what an editor's Lean extension runs
    (vscode-lean4 0.0.239 at startup: `lean --version`, `lake --version`, then `lake serve --`
    in a Lake project or `lean --server` outside one), starting `lean_server` as Lean's server.
    `lake env CMD` runs CMD (what lean-interact uses). Every other command fails loudly, so
    that a test sees an unexpected call instead of a silent success. Returns the folder."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    server = shlex.join(lean_server)
    calls = root / "calls.log"
    common = f'echo "$(basename "$0") $*" >> {shlex.quote(str(calls))}\n'
    lake = bin_dir / "lake"
    lake.write_text(
        "#!/bin/sh\n" + common + 'case "$1" in\n'
        f'  serve) shift; [ "$1" = "--" ] && shift; exec {server} "$@" ;;\n'
        '  env) shift; exec "$@" ;;\n'
        f'  --version) echo "Lake version 5.0.0-src (Lean version {lean_version})"; exit 0 ;;\n'
        "esac\n"
        'echo "stand-in lake: unsupported command: $*" >&2; exit 2\n'
    )
    lean = bin_dir / "lean"
    lean.write_text(
        "#!/bin/sh\n" + common + 'case "$1" in\n'
        f'  --server) shift; exec {server} "$@" ;;\n'
        f'  --version) echo "Lean (version {lean_version}, x86_64-unknown-linux-gnu, commit 0000000000000000000000000000000000000000, Release)"; exit 0 ;;\n'
        f"  --print-prefix) echo {shlex.quote(str(root))}; exit 0 ;;\n"
        "esac\n"
        'echo "stand-in lean: unsupported command: $*" >&2; exit 2\n'
    )
    for exe in (lake, lean):
        exe.chmod(0o755)
    return bin_dir
