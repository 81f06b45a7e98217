"""``lean-sidecar fill FILE.lean``: fill every sorry it can, outside any editor."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lean_bridge.kernel_replay import replay
from lean_bridge.lean_versions import project_version
from lean_bridge.repl_pool import ReplUnavailable
from lean_sidecar.search.build import build_engine
from lean_sidecar.search.fill_file import FileHole, file_holes, fill_holes
from lean_sidecar.search.trace import Attempt
from lean_sidecar.settings import CLI_FLAGS, Settings, cli_spelling, name_settings

EXIT_FILLED, EXIT_UNSOLVED, EXIT_SETUP = 0, 1, 2
#: the flags `fill` has (errors name what the user can set)
FILL_FLAGS = {k: v for k, v in CLI_FLAGS.items() if k != "upstream"}


def _spell(name: str) -> str:
    return cli_spelling(name, FILL_FLAGS)


def warn(message: str) -> None:
    """A warning the user must see once (stderr), naming the flag or variable to set."""
    print(f"lean-sidecar fill: warning: {name_settings(message, _spell)}", file=sys.stderr)


def error(message: str) -> None:
    """A usage or setup error: one line on stderr, naming the flag or variable to set."""
    print(f"lean-sidecar fill: error: {name_settings(message, _spell)}", file=sys.stderr)


def read_lean_file(path: Path) -> str | None:
    """The file's text, or None after one line on stderr saying why it cannot be filled."""
    if not path.exists():
        error(f"no such file: {path}")
    elif path.is_dir():
        error(f"{path} is a directory; give a .lean file")
    elif path.suffix != ".lean":
        error(f"{path} is not a Lean file (expected a .lean file)")
    else:
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            error(f"{path} is not UTF-8 text (byte {exc.start}); Lean files are UTF-8")
        except OSError as exc:
            error(f"cannot read {path}: {exc.strerror or exc}")
    return None


def find_project(path: Path) -> Path | None:
    for parent in [path.parent, *path.parents]:
        if (parent / "lean-toolchain").exists():
            return parent
    return None


class ProgressBar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.tty = sys.stderr.isatty()

    def show(self, label: str) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * self.done / max(1, self.total))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label}"
        sys.stderr.write(("\r" + line[:100].ljust(100)) if self.tty else line + "\n")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


async def run_fill(
    path: Path,
    settings: Settings,
    write: bool,
    diff: bool,
    trace: bool,
    quiet: bool = False,
    paranoid: bool = False,
    out: Callable[[str], None] = print,
) -> int:
    """Exit code: 0 every hole filled (or none), 1 some unsolved or errored (or the paranoid
    kernel replay failed), 2 setup error."""
    text = read_lean_file(path)
    if text is None:
        return EXIT_SETUP
    project = find_project(path.resolve())
    built = await build_engine(settings, project, notify=warn)
    pool, engine = built.pool, built.engine
    try:
        if built.setup_error is not None:
            error(built.setup_error)
            return EXIT_SETUP
        try:
            rows = await file_holes(text, pool)
        except ReplUnavailable as exc:  # the REPL cannot run this file: nothing can be checked
            error(str(exc))
            return EXIT_SETUP
        if not rows:
            out(f"{path}: no sorry to fill")
            return EXIT_FILLED
        for notice in built.notices:  # said once, as the first search starts
            warn(notice)
        bar = ProgressBar(len(rows), enabled=not quiet)
        started: list[FileHole] = []

        def progress(hole: FileHole, message: str) -> None:
            if hole not in started:
                started.append(hole)
                bar.done = len(started) - 1
            label = f"{hole.declaration} (line {hole.line})"
            bar.show(f"{label}: {message}" if message else label)

        filled = await fill_holes(text, rows, engine, progress=progress)
        for row in rows:
            refuted = row.result.refuted if row.result else None
            if row.result and row.result.status == "refuted" and refuted is not None:
                row.result.error = (
                    "the goal is false (Lean proved its negation: "
                    f"{refuted.statement} {' '.join(refuted.proof.split())})"
                )
        bar.done = len(rows)
        bar.show("done")
        bar.finish()
        new_text = filled.text
    finally:
        await built.close()
    print_table(rows, out)
    if trace:
        for row in rows:
            out(
                f"\n{row.declaration} (line {row.line}): {row.result.status if row.result else '-'}"
            )
            for a in row.result.attempts if row.result else []:
                print_attempt(a, 1, out)
    if diff:
        out(
            "".join(
                difflib.unified_diff(
                    text.splitlines(True),
                    new_text.splitlines(True),
                    str(path),
                    str(path) + " (filled)",
                )
            )
        )
    if write and new_text != text:
        path.write_text(new_text, encoding="utf-8")
        out(f"wrote {path}")
        if paranoid:
            check = await replay(project, path, project_version(project), settings.lake_path)
            out(f"paranoid: kernel replay {check.status}: {check.detail}")
            if check.status == "failed":
                return EXIT_UNSOLVED
    solved = all(r.result is not None and r.result.status == "solved" for r in rows)
    return EXIT_FILLED if solved else EXIT_UNSOLVED


def print_attempt(a: Attempt, depth: int, out: Callable[[str], None]) -> None:
    candidate = a.candidate.splitlines()[0] if a.candidate else ""
    detail = f"  — {a.detail.splitlines()[0]}" if a.detail else ""
    out(f"{'  ' * depth}{a.kind:8} {a.outcome:11} {a.seconds:6.2f}s  {candidate[:70]}{detail[:80]}")
    for child in a.children:
        print_attempt(child, depth + 1, out)


def print_table(rows: list[FileHole], out: Callable[[str], None]) -> None:
    out(f"{'hole':32} {'status':10} {'how':8} {'seconds':>8}  proof")
    for row in rows:
        r = row.result
        how = r.found[0].how if r and r.found else "-"
        if r and r.found:
            lines = r.found[0].script.strip().splitlines() or [""]
            shown = lines[0] + (f"  (+{len(lines) - 1} lines)" if len(lines) > 1 else "")
        else:
            shown = " ".join((r.error or "").split()) if r else ""  # the whole reason, one line
        hole = f"{row.declaration}:{row.line}"
        status = r.status if r else "-"
        seconds = r.seconds if r else 0.0
        out(f"{hole:32} {status:10} {how:8} {seconds:8.2f}  {shown}")
    solved = sum(1 for r in rows if r.result and r.result.status == "solved")
    out(f"{solved}/{len(rows)} holes filled")


def add_fill_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
    settings_from: Callable[..., Settings],
    setup_logging: Callable[[str], None],
) -> None:
    p = sub.add_parser("fill", help="fill every sorry of a Lean file with verified proofs")
    p.add_argument("file", type=Path)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the filled file in place")
    mode.add_argument("--diff", action="store_true", help="print a unified diff")
    p.add_argument(
        "--paranoid",
        action="store_true",
        help="with --write: replay the written file in the kernel (Lean 4.35+; else skipped)",
    )
    p.add_argument("--trace", action="store_true", help="print every attempt per hole")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p)

    def run(args: argparse.Namespace) -> int:
        settings = settings_from(args)
        setup_logging(settings.log_level if args.log_level else "WARNING")
        t0 = time.perf_counter()
        if args.paranoid and not args.write:
            error("--paranoid checks the written file: use it with --write")
            return EXIT_SETUP
        code = asyncio.run(
            run_fill(
                args.file, settings, args.write, args.diff, args.trace, args.quiet, args.paranoid
            )
        )
        if code != EXIT_SETUP:  # a setup error is its one line, nothing more
            print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        return code

    p.set_defaults(func=run)
