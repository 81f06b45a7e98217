"""``lean-sidecar fill FILE.lean``: fill every sorry it can, outside any editor."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lean_bridge.kernel_replay import replay
from lean_bridge.lean_versions import project_version
from lean_bridge.repl_pool import ReplUnavailable
from lean_sidecar.prover.endpoint import EndpointError, FailureKind
from lean_sidecar.prover.endpoint_errors import safe_url
from lean_sidecar.search.build import BuiltEngine, build_engine
from lean_sidecar.search.engine import HoleResult, SearchEngine
from lean_sidecar.search.fill_file import FileHole, file_holes, fill_holes
from lean_sidecar.search.trace import Attempt
from lean_sidecar.settings import (
    CLI_FLAGS,
    Settings,
    cli_spelling,
    env_name,
    name_settings,
)

EXIT_FILLED, EXIT_UNSOLVED, EXIT_SETUP = 0, 1, 2
#: the flags `fill` has (errors name what the user can set)
FILL_FLAGS = {k: v for k, v in CLI_FLAGS.items() if k != "upstream"}


def _spell(name: str) -> str:
    return cli_spelling(name, FILL_FLAGS)


def cli_terms(text: str) -> str:
    """``text`` with every setting written as a command-line user sets it: a field name such as
    ``repl_path``, and an editor's spelling in backquotes such as ``apiKey`` (the endpoint's
    advice is written for editors)."""
    fields = set(Settings.model_fields)

    def camel(m: re.Match[str]) -> str:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", m.group(1)).lower()
        return _spell(name) if name in fields else m.group(0)

    text = re.sub(r"`([a-z]+[A-Za-z]*)`", camel, name_settings(text, _spell))
    return re.sub(r"\b(LEAN_SIDECAR_[A-Z_]+) \(or \1\)", r"\1", text)


def warn(message: str) -> None:
    """A warning the user must see once (stderr), naming the flag or variable to set."""
    print(f"lean-sidecar fill: warning: {cli_terms(message)}", file=sys.stderr)


def error(message: str) -> None:
    """A usage or setup error: one line on stderr, naming the flag or variable to set."""
    print(f"lean-sidecar fill: error: {cli_terms(message)}", file=sys.stderr)


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
    pool = built.pool
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
        no_model = await check_endpoint(built, settings)
        engine = built.engine
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
    print_table(rows, out, reasons(no_model, settings))
    if trace:
        for row in rows:
            out(
                f"\n{row.declaration} (line {row.line}): {row.result.status if row.result else '-'}"
            )
            print_attempts(row.result.attempts if row.result else [], 1, out)
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


#: what the user is told, per kind of failure of the endpoint, besides what failed
ENDPOINT_ADVICE = {
    FailureKind.UNREACHABLE: "check that the server is running and that {endpoints} has its URL",
    FailureKind.UNAUTHORIZED: "set the server's key in {api_key}",
}
#: the table's phrase for an endpoint left out after its check failed
ENDPOINT_LEFT_OUT = {
    FailureKind.UNREACHABLE: "endpoint unreachable",
    FailureKind.UNAUTHORIZED: "endpoint refused the key",
    FailureKind.NO_MODEL: "endpoint does not serve the model",
}


async def check_endpoint(built: BuiltEngine, settings: Settings) -> str | None:
    """Check the endpoint once, before any hole is searched; None when a model will be asked,
    else why not, as the table's rows say it. An endpoint that fails its check is left out
    (one line on stderr: what failed, what to do) and the symbolic tactics run alone: what
    they fill is worth having, and every hole would otherwise repeat the same failure."""
    endpoint = built.engine.endpoint
    if not settings.endpoints:
        return f"no endpoint (set one with --endpoint or {env_name('endpoints')})"
    if endpoint is None:  # kept out already, and the notice said why (no sandbox)
        return "no sandbox for model output"
    failures: list[EndpointError] = []
    for url in endpoint.urls:
        try:
            models = await endpoint.check(url)
        except EndpointError as exc:
            failures.append(exc)
            continue
        if settings.model and models and settings.model not in models:
            served = ", ".join(models[:5])
            failures.append(
                EndpointError(
                    f"serves {served}, not {settings.model}",
                    kind=FailureKind.NO_MODEL,
                    endpoint=safe_url(url),
                    advice=f"set {_spell('model')} to a model it serves",
                )
            )
            continue
        for failed in failures:  # the search starts with this one: the failed ones are told
            warn(f"endpoint {failed.endpoint}: {failed.detail}; using {safe_url(url)}")
        return None
    first = failures[0]
    if first.kind in ENDPOINT_ADVICE:
        advice = ENDPOINT_ADVICE[first.kind].format(
            endpoints=_spell("endpoints"), api_key=env_name("api_key")
        )
    else:
        advice = first.advice.rstrip(".")
    others = "".join(f"; {e.endpoint} also failed: {e.detail}" for e in failures[1:])
    warn(
        f"endpoint {first.endpoint}: {first.detail}{others}. {advice[:1].upper()}{advice[1:]} "
        "(`lean-sidecar doctor` checks it). Going on with the symbolic tactics only."
    )
    await endpoint.close()
    built.engine = SearchEngine(settings, built.engine.verifier, None, built.engine.cache)
    return ENDPOINT_LEFT_OUT.get(first.kind, "the endpoint failed its check") + " (see above)"


def reasons(no_model: str | None, settings: Settings) -> Callable[[FileHole], str]:
    """`why_not` for the rows of one table, in order: an endpoint's failure is told in full
    on the first row it ended, and the rows after it that it ended too point there."""
    first: dict[tuple[str, str], str] = {}

    def why(row: FileHole) -> str:
        r, label = row.result, f"{row.declaration}:{row.line}"
        if r is not None and r.error and r.cause is not None:
            where = first.setdefault(r.cause, label)
            if where != label:
                return f"the same endpoint failure as {where}"
        return why_not(row, no_model, settings)

    return why


def why_not(row: FileHole, no_model: str | None, settings: Settings) -> str:
    """One short phrase: why this hole is not filled."""
    r = row.result
    if r is None:
        return "not searched"
    if r.error:  # an endpoint's failure repeats its remarks when carried from hole to hole
        return " ".join((_once(r.error) if r.cause else r.error).split())
    if no_model is not None:
        return f"tactics only: {no_model}"
    if settings.budget_samples == 0:
        return f"tactics only: {env_name('budget_samples')} is 0"
    if r.seconds >= settings.budget_seconds * 0.98:
        return f"time budget spent ({settings.budget_seconds:g} s) after {_samples(r)}"
    if r.samples >= settings.budget_samples:
        return f"sample budget spent after {_samples(r)}"
    return f"no proof after {_samples(r)}"


def _samples(r: HoleResult) -> str:
    return f"{r.samples} sample{'' if r.samples == 1 else 's'}"


def _once(text: str) -> str:
    """``text`` with each parenthesised remark kept once (an endpoint's failure carried from
    hole to hole gathers the same remark again)."""
    seen: set[str] = set()

    def keep(m: re.Match[str]) -> str:
        if m.group(0) in seen:
            return ""
        seen.add(m.group(0))
        return m.group(0)

    return re.sub(r" ?\([^()]*\)", keep, text)


def print_attempts(attempts: list[Attempt], depth: int, out: Callable[[str], None]) -> None:
    """Each attempt on one line, its children below it. Candidates that repeat one tried
    already (outcome ``duplicate``) say nothing new: those of one kind are one line with their
    count, where the first of them was."""
    duplicates: dict[str, list[Attempt]] = {}
    for a in attempts:
        if a.outcome == "duplicate":
            duplicates.setdefault(a.kind, []).append(a)
    for a in attempts:
        same = duplicates.get(a.kind, []) if a.outcome == "duplicate" else []
        if len(same) < 2:
            print_attempt(a, depth, out)
        elif a is same[0]:
            seconds = sum(d.seconds for d in same)
            what = {"sample": "samples", "fix": "fixes"}.get(a.kind, f"{a.kind} attempts")
            out(
                f"{'  ' * depth}{a.kind:8} {a.outcome:11} {seconds:6.2f}s  "
                f"{len(same)} duplicate {what} (each the same as a candidate tried before)"
            )


def print_attempt(a: Attempt, depth: int, out: Callable[[str], None]) -> None:
    candidate = a.candidate.splitlines()[0] if a.candidate else ""
    detail = f"  — {a.detail.splitlines()[0]}" if a.detail else ""
    out(f"{'  ' * depth}{a.kind:8} {a.outcome:11} {a.seconds:6.2f}s  {candidate[:70]}{detail[:80]}")
    print_attempts(a.children, depth + 1, out)


def print_table(
    rows: list[FileHole], out: Callable[[str], None], why: Callable[[FileHole], str]
) -> None:
    """One row per hole: its proof (first line), or why it has none (``why``)."""
    out(f"{'hole':32} {'status':10} {'how':8} {'seconds':>8}  proof, or why not")
    for row in rows:
        r = row.result
        how = r.found[0].how if r and r.found else "-"
        if r and r.found:
            lines = r.found[0].script.strip().splitlines() or [""]
            shown = lines[0] + (f"  (+{len(lines) - 1} lines)" if len(lines) > 1 else "")
        else:
            shown = why(row)  # the whole reason, one line
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
        # What the user must know is said in fill's own lines (stderr) and in the table: the
        # log (timestamped lines) only when asked for with --log-level.
        setup_logging(settings.log_level if args.log_level else "ERROR")
        if not args.log_level:
            logging.getLogger("lean_interact").setLevel(logging.CRITICAL)  # said as our error
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
