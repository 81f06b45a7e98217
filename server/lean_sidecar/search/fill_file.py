"""Fill every ``sorry`` of a file: the use case that ``lean-sidecar fill`` and ``lean-sidecar
eval`` both run, so that what ``eval`` measures is what ``fill`` does.

The holes and their goals come from the REPL (one command per declaration, its sorries paired
with the text's by position); each hole is searched; the proofs found are put back from the end
of the file, with the helper lemmas they need above their declaration, and a declaration with
several filled holes is checked once more as a whole (each proof was checked with the other
holes marked), with the same gate and axiom audit. A declaration that fails keeps its sorries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lean_bridge.candidate_filter import check_declaration_text
from lean_bridge.declarations import find_declarations
from lean_bridge.hole_fill import checkable, fill
from lean_bridge.hole_site import HoleSite, sites_in
from lean_bridge.holes import TextModel
from lean_bridge.repl_pool import ReplUnavailable
from lean_sidecar.search.engine import HoleResult, SearchEngine
from lean_sidecar.search.helper_site import SEPARATOR
from lean_sidecar.search.protocols import LeanCommands, LeanVerifier
from lean_sidecar.search.search_hole import search_hole
from lean_sidecar.search.trace import HoleStatus

#: (hole, what the search is doing) -> None: where a front end shows a hole's progress
HoleProgress = Callable[["FileHole", str], None]


@dataclass
class FileHole:
    """One ``sorry`` of the file, its goal as the REPL reports it, and its search's result."""

    site: HoleSite
    line: int  # 1-based, for people
    declaration: str
    goal: str | None
    result: HoleResult | None = None


@dataclass
class FileFill:
    """The file's holes with their results, and the text with every proof that held."""

    holes: list[FileHole] = field(default_factory=list)
    text: str = ""

    @property
    def solved(self) -> int:
        return sum(1 for h in self.holes if h.result is not None and h.result.status == "solved")


async def file_holes(text: str, lean: LeanCommands, *, at: int | None = None) -> list[FileHole]:
    """Every sorry inside a declaration, with the goal the REPL reports at its position; with
    ``at`` (an offset), only those of the declaration around it (one REPL command, not one per
    declaration of the file: an agent asking about one hole)."""
    model = TextModel(text)
    sites = sites_in(text, model)
    if at is not None:
        sites = [s for s in sites if s.decl.start <= at <= s.decl.end]
    by_decl: dict[int, list[HoleSite]] = {}
    for site in sites:
        by_decl.setdefault(site.decl.start, []).append(site)
    holes: list[FileHole] = []
    for start in sorted(by_decl):
        group = by_decl[start]
        decl = group[0].decl
        decl_text, _ = checkable(text, decl, 0)
        res = await lean.command(text[: decl.start], decl_text)
        goals = res.goals_at(decl_text, decl, [s.start for s in group])
        for site, goal in zip(group, goals, strict=True):
            line = model.index.pos(site.start).line + 1
            holes.append(FileHole(site, line, decl.display_name, goal))
    return holes


async def fill_file(
    text: str,
    engine: SearchEngine,
    *,
    max_found: int = 3,
    progress: HoleProgress | None = None,
) -> FileFill:
    """Search every hole of ``text`` and put back what holds (see the module's docstring).
    Raises ReplUnavailable when the REPL cannot run this file at all."""
    verifier = engine.verifier
    if verifier is None:
        raise ReplUnavailable("no Lean REPL: nothing can be verified")
    holes = await file_holes(text, verifier)
    return await fill_holes(text, holes, engine, max_found=max_found, progress=progress)


async def fill_holes(
    text: str,
    holes: list[FileHole],
    engine: SearchEngine,
    *,
    max_found: int = 3,
    progress: HoleProgress | None = None,
) -> FileFill:
    """:func:`fill_file` for holes found already (a front end that says something between
    finding the holes and searching them)."""
    verifier = engine.verifier
    if verifier is None:
        raise ReplUnavailable("no Lean REPL: nothing can be verified")
    for hole in holes:
        if progress is not None:
            progress(hole, "")

        def report(message: str, hole: FileHole = hole) -> None:
            if progress is not None:
                progress(hole, message)

        hole.result = await search_hole(
            engine, hole.site, hole.goal, progress=report, max_found=max_found
        )
    return FileFill(holes, await assemble(text, holes, verifier))


async def assemble(text: str, holes: list[FileHole], verifier: LeanVerifier) -> str:
    """Apply every found proof, from the end of the file backwards, with the helper lemmas it
    needs inserted above its declaration (as the verifier checked them), then check each
    declaration whose holes are all filled once more as a whole, its helpers included; a
    declaration that fails keeps its sorries."""
    by_decl: dict[int, list[FileHole]] = {}
    for hole in holes:
        by_decl.setdefault(hole.site.decl.start, []).append(hole)
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
                    r.result.found, r.result.status = [], HoleStatus.REFUSED
                    r.result.error = f"edit refused: {verdict.reason}"
            continue
        candidate = candidate[: decl.start] + insert + candidate[decl.start :]
        if len(group) > 1 and all(r.result and r.result.found for r in group):
            # Each proof was checked with the other holes marked; together they are checked
            # again as the whole declaration with its helpers, with the same axiom audit (the
            # declaration keeps its start: the helpers are elaborated in the same command).
            shifted = decl.with_head_moved(len(insert), len(candidate) - len(out))
            failure: tuple[HoleStatus, str] | None = (
                None  # (status, why) of every hole in the group
            )
            try:
                together = await verifier.check_declaration(candidate, shifted, count)
                if not together.ok:
                    failure = (HoleStatus.UNSOLVED, str(together.reason))
            except ReplUnavailable as exc:
                failure = (HoleStatus.ERROR, str(exc))
            if failure is not None:
                for r in group:
                    if r.result:
                        r.result.status = failure[0]
                        r.result.error = f"proofs do not check together: {failure[1]}"
                continue
        out = candidate
    return out
