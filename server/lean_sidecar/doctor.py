"""``lean-sidecar doctor``: check a real setup piece by piece and say what to fix, one line each.

Every check is a pure function of the settings, the project folder and a set of probes (which,
run, HTTP, sandbox detection), so that tests can feed each one a broken piece. A check that
fails with ``essential=True`` means proof search cannot work: the command then exits non-zero.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lean_bridge import sandbox
from lean_bridge.lean_versions import kernel_warning, project_version
from lean_bridge.repl_pool import sandbox_policy
from lean_sidecar import __version__
from lean_sidecar.doctor_endpoint import Check, check_endpoint
from lean_sidecar.settings import Settings

REPL_REPO = "https://github.com/leanprover-community/repl"
#: In the first lines of the `lake` shim the VS Code extension writes (lakeShim in
#: vscode-extension/src/config.ts): how doctor tells that shim from Lean's own `lake`.
LAKE_SHIM_MARK = "lean-sidecar's lake shim"


def is_lake_shim(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return LAKE_SHIM_MARK in f.read(4096)
    except OSError:
        return False


def search_path(path: str) -> tuple[str, list[str]]:
    """PATH as proof search has it, and the lake shims taken out of it. In VS Code's shim route
    the Lean extension's PATH (which the extension host shares, so Run doctor gets it too)
    starts with the folder of the lake shim; the shim starts the sidecar with that folder
    removed from PATH (and `--upstream "<the real lake> serve ..."`), so the `lake` that the
    search starts the REPL with, and shows in its sandbox, is the real one. Doctor checks
    that one: the shim itself, run in the sandbox, finds no real lake."""
    kept: list[str] = []
    shims: list[str] = []
    for folder in path.split(os.pathsep):
        if not folder:
            continue  # the shim drops empty entries too
        lake = os.path.join(folder, "lake")
        if os.path.isfile(lake) and is_lake_shim(lake):
            shims.append(lake)
        else:
            kept.append(folder)
    return os.pathsep.join(kept), shims


def _which(name: str) -> str | None:
    return shutil.which(name, path=search_path(os.environ.get("PATH", ""))[0])


def _lake_shims() -> list[str]:
    return search_path(os.environ.get("PATH", ""))[1]


def _run(argv: list[str], cwd: Path | None, stdin: str, timeout: float) -> tuple[int, str]:
    env = {**os.environ, "PATH": search_path(os.environ.get("PATH", ""))[0]}
    try:
        done = subprocess.run(
            argv, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return 124, f"no answer within {timeout:g} s"
    except OSError as exc:
        return 127, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


def _sandbox(enabled: bool) -> tuple[str, str]:
    """(mechanism, description): what the REPL runs under, as the pool itself decides it."""
    if not enabled:
        return "off", sandbox.describe(False)
    return sandbox.detect(), sandbox.describe(True)


def _run_repl(
    argv: list[str], project: Path, stdin: str, timeout: float, s: Settings
) -> tuple[int, str]:
    """Run the REPL as the pool does: in the sandbox the pool would give it."""
    repl_dir = Path(s.repl_path).expanduser() if s.repl_path else None
    policy = sandbox_policy(s.repl(project), repl_dir=repl_dir)
    return sandbox.run_once(argv, policy, project, stdin, timeout)


@dataclass
class Probes:
    """What the checks ask of the machine; tests replace any of them."""

    which: Callable[[str], str | None] = _which  # on PATH as the search has it (no lake shim)
    run: Callable[[list[str], Path | None, str, float], tuple[int, str]] = _run
    run_repl: Callable[[list[str], Path, str, float, Settings], tuple[int, str]] = _run_repl
    http: Callable[[], httpx.Client] = field(default=lambda: httpx.Client(timeout=15.0))
    sandbox: Callable[[bool], tuple[str, str]] = _sandbox
    lake_shims: Callable[[], list[str]] = _lake_shims  # VS Code's lake shims on PATH


def check_python() -> Check:
    ok = sys.version_info >= (3, 10)
    version = ".".join(map(str, sys.version_info[:3]))
    msg = f"Python {version} ({sys.executable})"
    return Check("python", "ok" if ok else "fail", msg if ok else msg + ": Python 3.10+ is needed")


def check_package() -> Check:
    versions = [f"lean-sidecar {__version__}"]
    for dist in ("lean-interact", "pygls", "httpx"):
        try:
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            return Check(
                "package", "fail", f"{dist} is not installed: reinstall with `pip install .`"
            )
    return Check("package", "ok", ", ".join(versions))


def project_toolchain(project: Path) -> str | None:
    f = project / "lean-toolchain"
    return f.read_text(encoding="utf-8").strip() if f.is_file() else None


def check_toolchain(settings: Settings, project: Path, p: Probes) -> list[Check]:
    out: list[Check] = []
    lake = p.which(settings.lake_path)
    if lake is None:
        out.append(
            Check(
                "lake",
                "fail",
                f"`{settings.lake_path}` not found: install elan (https://github.com/leanprover/elan)"
                " or set --lake-path / LEAN_SIDECAR_LAKE_PATH",
            )
        )
    else:
        rc, text = p.run([lake, "--version"], project, "", 60)
        first = text.splitlines()[0] if text else ""
        out.append(
            Check("lake", "ok", f"{lake}: {first}")
            if rc == 0
            else Check("lake", "fail", f"{lake} --version failed ({rc}): {first}")
        )
    lean = p.which("lean")
    out.append(
        Check("lean", "ok", lean, essential=False)
        if lean
        else Check(
            "lean",
            "warn",
            "`lean` not on PATH: fine inside a Lake project (lake finds it through elan);"
            " outside one, install elan",
            essential=False,
        )
    )
    tc = project_toolchain(project)
    out.append(
        Check("toolchain", "ok", f"{project}/lean-toolchain: {tc}")
        if tc
        else Check(
            "toolchain",
            "fail",
            f"no lean-toolchain in {project}: run doctor in your Lake project (or --project DIR)",
        )
    )
    return out


def _tag(toolchain: str | None) -> str:
    return toolchain.rsplit(":", 1)[-1] if toolchain else "<your Lean version>"


def check_repl(settings: Settings, project: Path, p: Probes) -> Check:
    tc = project_toolchain(project)
    build = (
        f"git clone {REPL_REPO} && cd repl && git checkout {_tag(tc)} && lake build,"
        " then set LEAN_SIDECAR_REPL_PATH (or --repl-path) to that folder"
    )
    if not settings.repl_path:
        if p.which("git") is None:
            return Check(
                "repl", "fail", f"no REPL set and no git to build one: install git, or {build}"
            )
        return Check(
            "repl",
            "warn",
            f"no REPL set: it is cloned and built for {_tag(tc)} on first use (needs network);"
            f" offline: {build}",
        )
    repl_dir = Path(settings.repl_path).expanduser()
    binary = repl_dir / ".lake" / "build" / "bin" / "repl"
    if not binary.is_file() or not os.access(binary, os.X_OK):
        return Check("repl", "fail", f"{binary} is not built: cd {repl_dir} && lake build")
    built_for = project_toolchain(repl_dir)
    if tc and built_for and built_for != tc:
        return Check(
            "repl",
            "fail",
            f"REPL in {repl_dir} is for {built_for}, the project uses {tc}: {build}",
        )
    lake = p.which(settings.lake_path) or settings.lake_path
    rc, text = p.run_repl(
        [lake, "env", str(binary)],
        project,
        '{"cmd": "example : True := trivial"}\n\n',
        120,
        settings.model_copy(update={"lake_path": lake}),  # the sandbox shows this lake's folder
    )
    if rc not in (0,) or '"env"' not in text:
        last = text.splitlines()[-1] if text else ""
        where = (
            " in the REPL sandbox, which shows only the project, the REPL's folder, lake's folder"
            " and the toolchain (LEAN_SIDECAR_REPL_SANDBOX=false runs it without, to compare)"
            if settings.repl_sandbox
            else ""
        )
        return Check("repl", "fail", f"{binary} did not answer a command{where} ({rc}): {last}")
    return Check("repl", "ok", f"{binary} ({built_for or 'toolchain unknown'}) answers")


def check_cache(settings: Settings) -> Check:
    folder = Path(settings.cache_path).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return Check(
            "cache",
            "fail",
            f"{folder} is not writable ({exc.strerror}):"
            " set LEAN_SIDECAR_CACHE_PATH to a file in a writable folder",
        )
    return Check("cache", "ok", f"{settings.cache_path} (folder writable)")


def check_sandbox(settings: Settings, p: Probes) -> Check:
    """Without a working sandbox a model's candidates are not run (the symbolic tactics still
    are): a FAIL, though not essential, unless the user accepted the risk."""
    mechanism, text = p.sandbox(settings.repl_sandbox)
    if mechanism == "bwrap":
        return Check("sandbox", "ok", text, essential=False)
    if mechanism == "unshare":
        return Check(
            "sandbox", "warn", f"{text}; install bubblewrap (apt install bubblewrap)",
            essential=False,
        )  # fmt: skip
    if settings.allow_unsandboxed:
        return Check(
            "sandbox", "warn", f"{text}; model candidates run unconfined (allow_unsandboxed)",
            essential=False,
        )  # fmt: skip
    fix = (
        "turn replSandbox back on"
        if mechanism == "off"
        else "install bubblewrap (apt install bubblewrap)"
    )
    return Check(
        "sandbox",
        "fail",
        f"{text}; a model's candidates are not run, only the symbolic tactics: {fix}, "
        "or set LEAN_SIDECAR_ALLOW_UNSANDBOXED=1 to accept the risk",
        essential=False,
    )


def check_kernel(project: Path) -> Check:
    """A toolchain without the kernel fixes for the known routes to False."""
    version = project_version(project)
    warning = kernel_warning(version)
    if warning:
        return Check("kernel", "warn", warning, essential=False)
    known = f"Lean {'.'.join(map(str, version))}" if version else "toolchain version unknown"
    return Check("kernel", "ok", f"{known}: no known kernel soundness bug", essential=False)


def check_editor_route(p: Probes) -> Check:
    lake = p.which("lake")
    shims = p.lake_shims()
    if lake and is_lake_shim(lake):
        shims, lake = [lake, *shims], None
    if shims:
        behind = (
            f"searches use the lake behind it ({lake})"
            if lake
            else "no real lake behind it: install elan"
        )
        return Check(
            "editor",
            "ok",
            f"the VS Code lake shim is first on PATH ({shims[0]}); {behind}",
            essential=False,
        )
    return Check(
        "editor",
        "ok",
        "no lake shim on PATH: editors start `lean-sidecar serve` themselves"
        " (in VS Code the extension puts its shim first on the Lean extension's PATH)",
        essential=False,
    )


def run_checks(settings: Settings, project: Path, probes: Probes | None = None) -> list[Check]:
    p = probes or Probes()
    return [
        check_python(),
        check_package(),
        *check_toolchain(settings, project, p),
        check_repl(settings, project, p),
        *check_endpoint(settings, p.http),
        check_cache(settings),
        check_sandbox(settings, p),
        check_kernel(project),
        check_editor_route(p),
    ]


def can_search(checks: list[Check]) -> bool:
    """Proof search works only when no essential check failed."""
    return not any(c.status == "fail" and c.essential for c in checks)
