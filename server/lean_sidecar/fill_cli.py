"""``lean-sidecar fill FILE.lean``: fill every sorry it can, outside any editor."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import difflib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lean_bridge.candidate_filter import check_declaration_text
from lean_bridge.declarations import find_declarations
from lean_bridge.hole_fill import checkable, fill, hole_mode
from lean_bridge.holes import TextModel
from lean_bridge.kernel_replay import replay
from lean_bridge.lean_versions import project_version
from lean_bridge.repl_pool import ReplPool, ReplUnavailable
from lean_bridge.sorry_scan import scan_sorries
from lean_bridge.verifier import HoleSite, Verifier
from lean_sidecar.prover.task import build_task
from lean_sidecar.search.build import build_engine
from lean_sidecar.search.engine import Attempt, HoleResult
from lean_sidecar.search.helper_site import SEPARATOR
from lean_sidecar.search.repl_sorries import goals_in_source_order
from lean_sidecar.settings import Settings, name_settings

#: settings field -> its flag on `fill` (errors name what the user can set)
FILL_FLAGS = {
    "endpoints": "--endpoint",
    "model": "--model",
    "model_family": "--model-family",
    "lake_path": "--lake-path",
    "repl_path": "--repl-path",
    "log_level": "--log-level",
}
EXIT_FILLED, EXIT_UNSOLVED, EXIT_SETUP = 0, 1, 2


def _spell(name: str) -> str:
    flag = FILL_FLAGS.get(name)
    env = f"LEAN_SIDECAR_{name.upper()}"
    return f"{flag} (or {env})" if flag else env


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


@dataclass
class HoleRow:
    site: HoleSite
    line: int
    declaration: str
    goal: str | None
    result: HoleResult | None = None


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


async def collect_holes(text: str, pool: ReplPool) -> list[HoleRow]:
    """Every sorry with the goal the REPL reports for it (one command per declaration)."""
    model = TextModel(text)
    tokens = scan_sorries(text, model.masked, model.index)
    rows: list[HoleRow] = []
    by_decl: dict[int, list[Any]] = {}
    for tok in tokens:
        decl = model.declaration_at(tok.start)
        if decl is not None:
            by_decl.setdefault(decl.start, []).append(tok)
    for decl in model.declarations:
        toks = by_decl.get(decl.start, [])
        if not toks:
            continue
        decl_text, _ = checkable(text, decl, 0)
        res = await pool.command(text[: decl.start], decl_text)
        goals = goals_in_source_order(res.sorries)
        for k, tok in enumerate(toks):
            others = tuple((t.start, t.end) for t in toks if t is not tok)
            site = HoleSite(
                text, decl, tok.start, tok.end, hole_mode(model.masked, tok.start), others
            )
            goal = goals[k] if k < len(goals) else None
            rows.append(HoleRow(site, tok.span.start.line + 1, decl.display_name, goal))
    return rows


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
    built = await build_engine(settings, project)
    pool, engine = built.pool, built.engine
    try:
        if built.setup_error is not None:
            error(built.setup_error)
            return EXIT_SETUP
        try:
            rows = await collect_holes(text, pool)
        except ReplUnavailable as exc:  # the REPL cannot run this file: nothing can be checked
            error(str(exc))
            return EXIT_SETUP
        if not rows:
            out(f"{path}: no sorry to fill")
            return EXIT_FILLED
        for notice in built.notices:  # said once, as the first search starts
            warn(notice)
        bar = ProgressBar(len(rows), enabled=not quiet)
        model = TextModel(text)
        for row in rows:
            label = f"{row.declaration} (line {row.line})"
            bar.show(label)
            task = build_task(model, row.site.decl, row.site.start, row.site.end, row.goal)

            def progress(message: str, label: str = label) -> None:
                bar.show(f"{label}: {message}")

            row.result = await engine.search(row.site, row.goal, task, progress=progress)
            refuted = row.result.refuted
            if row.result.status == "refuted" and refuted is not None:
                row.result.error = (
                    "the goal is false (Lean proved its negation: "
                    f"{refuted.statement} {' '.join(refuted.proof.split())})"
                )
            bar.done += 1
        bar.show("done")
        bar.finish()
        new_text = await assemble(text, rows, engine.verifier) if engine.verifier else text
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


async def assemble(text: str, rows: list[HoleRow], verifier: Verifier) -> str:
    """Apply every found proof, from the end of the file backwards, with the helper lemmas it
    needs inserted above its declaration (as the verifier checked them), then check each
    declaration whose holes are all filled once more as a whole, its helpers included; a
    declaration that fails keeps its sorries."""
    by_decl: dict[int, list[HoleRow]] = {}
    for row in rows:
        by_decl.setdefault(row.site.decl.start, []).append(row)
    out = text
    for start in sorted(by_decl, reverse=True):
        group = sorted(by_decl[start], key=lambda r: r.site.start, reverse=True)
        candidate = out
        helpers: list[str] = []
        for row in group:
            if row.result and row.result.found:
                found = row.result.found[0]
                candidate = fill(
                    candidate, row.site.start, row.site.end, found.script, row.site.mode
                )
                if found.helpers:
                    helpers.insert(0, found.helpers)
        if candidate == out:
            continue
        decl = group[0].site.decl
        final = candidate[decl.start : decl.end + len(candidate) - len(out)]
        insert = SEPARATOR.join(helpers) + SEPARATOR if helpers else ""
        count = len(find_declarations(insert)) if insert else 0
        verdict = check_declaration_text(insert + final, max_declarations=count + 1)
        if not verdict.ok:  # what is written is the declaration and its helpers, nothing else
            for r in group:
                if r.result:
                    r.result.found, r.result.status = [], "refused"
                    r.result.error = f"edit refused: {verdict.reason}"
            continue
        candidate = candidate[: decl.start] + insert + candidate[decl.start :]
        if len(group) > 1 and all(r.result and r.result.found for r in group):
            # Each proof was checked with the other holes marked; together they are checked
            # again as the whole declaration with its helpers, with the same axiom audit (the
            # declaration keeps its start: the helpers are elaborated in the same command).
            n, grown = len(insert), len(candidate) - len(out)
            shifted = dataclasses.replace(
                decl,
                keyword_start=decl.keyword_start + n,
                name_start=decl.name_start + n,
                name_end=decl.name_end + n,
                end=decl.end + grown,
                assign=None if decl.assign is None else decl.assign + n,
            )
            failure: tuple[str, str] | None = None  # (status, why) of every hole in the group
            try:
                together = await verifier.check_declaration(candidate, shifted, count)
                if not together.ok:
                    failure = ("unsolved", str(together.reason))
            except ReplUnavailable as exc:
                failure = ("error", str(exc))
            if failure is not None:
                for r in group:
                    if r.result:
                        r.result.status = failure[0]
                        r.result.error = f"proofs do not check together: {failure[1]}"
                continue
        out = candidate
    return out


def print_attempt(a: Attempt, depth: int, out: Callable[[str], None]) -> None:
    candidate = a.candidate.splitlines()[0] if a.candidate else ""
    detail = f"  — {a.detail.splitlines()[0]}" if a.detail else ""
    out(f"{'  ' * depth}{a.kind:8} {a.outcome:11} {a.seconds:6.2f}s  {candidate[:70]}{detail[:80]}")
    for child in a.children:
        print_attempt(child, depth + 1, out)


def print_table(rows: list[HoleRow], out: Callable[[str], None]) -> None:
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
    sub: Any,
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
