"""``--paranoid``: an independent kernel replay of a file ``fill --write`` wrote.

The verifier trusts Lean's elaborator and kernel as the REPL ran them. A replay builds the
written module with Lake and has the toolchain's own checker (``leanchecker``, shipped with
every toolchain since 4.28, run as ``lake env leanchecker <Module>``) re-add every declaration
of the compiled module to a kernel, so that an environment a proof tampered with while it was
elaborated (a route the elaborator's checks miss) is caught. It runs only where Lean has
`lake check` and the kernel fixes (4.35 and later); elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lean_bridge.lean_versions import Version, kernel_replay_reason


@dataclass(frozen=True)
class Replay:
    status: str  # "passed", "failed" or "skipped"
    detail: str


def module_name(project: Path, file: Path) -> str | None:
    """``Foo/Bar.lean`` in ``project`` is module ``Foo.Bar``; None outside the project."""
    try:
        rel = file.resolve().relative_to(project.resolve())
    except ValueError:
        return None
    if rel.suffix != ".lean":
        return None
    return ".".join(rel.with_suffix("").parts)


def _run(argv: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"no answer within {timeout:g} s"
    except OSError as exc:
        return 127, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


async def replay(
    project: Path | None,
    file: Path,
    version: Version | None,
    lake: str = "lake",
    timeout: float = 3600.0,
) -> Replay:
    """Build ``file``'s module and replay it in the kernel (or say why not)."""
    why = kernel_replay_reason(version)
    if why is None and project is None:
        why = "the file is in no Lake project"
    if why is not None:
        return Replay("skipped", why)
    assert project is not None
    module = module_name(project, file)
    if module is None:
        return Replay("skipped", f"{file} is not a module of the project at {project}")
    for argv in ([lake, "build", module], [lake, "env", "leanchecker", module]):
        rc, out = await asyncio.to_thread(_run, argv, project, timeout)
        if rc != 0:
            last = out.splitlines()[-1] if out else ""
            return Replay("failed", f"`{' '.join(argv)}` exited with {rc}: {last}")
    return Replay("passed", f"{module} replayed in the kernel (leanchecker)")
