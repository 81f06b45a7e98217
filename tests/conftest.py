"""Shared test helpers: paths, the stand-in commands, and a pytest-lsp client of the sidecar."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDINS = ROOT / "tests" / "standins"
FIXTURES = ROOT / "tests" / "fixtures"
PROJECT = FIXTURES / "project"
SHARED_DATA = ROOT.parent / "shared" / "data"
#: PYTHONPATH for a `python -m lean_sidecar` subprocess: this checkout's code (the package's
#: source root is server/), whatever the virtualenv's editable install points to
CHECKOUT_PYTHONPATH = f"{ROOT / 'server'}:{ROOT}"


def standin_lean_command(facts: Path | None = None, delay_ms: float = 5) -> list[str]:
    cmd = [sys.executable, str(STANDINS / "lean_server.py"), "--delay-ms", str(delay_ms)]
    if facts is not None:
        cmd += ["--facts", str(facts)]
    return cmd


def sidecar_command(upstream: list[str]) -> list[str]:
    import shlex

    return [sys.executable, "-m", "lean_sidecar", "serve", "--upstream", shlex.join(upstream)]


def pytest_report_header(config: pytest.Config) -> str:
    lake = shutil.which("lake")
    return f"real Lean toolchain: {lake or 'none (tests marked `lean` are skipped: no `lake` on PATH)'}"
