"""The ``doctor`` subcommand: print one line per check, exit 0 only when proof search can work."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from lean_sidecar.doctor import can_search, run_checks
from lean_sidecar.settings import Settings


def add_doctor_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common_flags: Callable[[argparse.ArgumentParser], None],
    settings_from: Callable[[argparse.Namespace], Settings],
) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the toolchain, REPL, endpoint, cache and sandbox; say what to fix",
        description="Check this machine's setup for proof search, one line per piece, with what"
        " to fix. Exit code 0 when proof search can work, 1 when something must be fixed.",
    )
    p.add_argument(
        "--project",
        type=Path,
        default=None,
        help="the Lean project (the folder with lean-toolchain); default: the current folder",
    )
    common_flags(p)

    def run(args: argparse.Namespace) -> int:
        settings = settings_from(args)
        project = (args.project or Path.cwd()).resolve()
        checks = run_checks(settings, project)
        for check in checks:
            print(check.line())
        if can_search(checks):
            print("proof search can work here")
            return 0
        print("proof search cannot work until the FAIL lines above are fixed", file=sys.stderr)
        return 1

    p.set_defaults(func=run)
