"""What a run was (evaluation.rows.RunInfo): model, endpoints, stages, budget, toolchain, date,
the sidecar's version and git commit. Shown in the report and kept in the summary JSON."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from lean_bridge.lean_versions import project_version, show
from lean_sidecar import __version__
from lean_sidecar.evaluation.rows import RunInfo
from lean_sidecar.prover.endpoint_errors import safe_url
from lean_sidecar.settings import Settings

PACKAGE = Path(__file__).resolve().parents[1]  # server/lean_sidecar in a checkout


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def git_commit(package: Path = PACKAGE) -> str | None:
    """The commit of the checkout this code runs from ("+dirty" when its files differ from it),
    or None when it is not run from a git checkout (an installed wheel: a checkout that merely
    contains the environment it is installed in is not its source)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(package), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() / "server" / "lean_sidecar" != package:
        return None
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{commit}+dirty" if dirty else commit


def _matplotlib_version() -> str | None:
    try:
        import matplotlib
    except ImportError:
        return None
    return str(matplotlib.__version__)


def run_info(
    settings: Settings,
    *,
    benchmark: str,
    split: str | None,
    limit: int | None,
    stages: list[str],
    concurrency: int,
    project: Path | None,
    resumed: int,
    served_model: str | None = None,
) -> RunInfo:
    toolchain_file = project / "lean-toolchain" if project is not None else None
    try:
        toolchain = (
            toolchain_file.read_text(encoding="utf-8").strip()
            if toolchain_file is not None and toolchain_file.is_file()
            else None
        )
    except OSError:
        toolchain = None
    version = project_version(project)
    return {
        "benchmark": benchmark,
        "split": split,
        "limit": limit,
        "model": settings.model,
        "served_model": served_model,
        "model_family": str(settings.model_family),
        "endpoints": [safe_url(u) for u in settings.endpoints],
        "stages": stages,
        "budget_samples": settings.budget_samples,
        "budget_seconds": settings.budget_seconds,
        "concurrency": concurrency,
        "tactics": list(settings.tactics),
        "toolchain": toolchain,
        "lean_version": show(version) if version is not None else None,
        "started": now(),
        "resumed": resumed,
        "finished": None,
        "sidecar_version": __version__,
        "sidecar_commit": git_commit(),
        "python": platform.python_version(),
        "matplotlib": _matplotlib_version(),
    }
