"""The tools agents call, without MCP: each takes its validated arguments, calls the domain
(``lean_sidecar.search``, ``lean_bridge``) exactly as the editor and ``fill`` do, and converts
what comes back into its result model. No search logic lives here; ``server`` adds the
protocol (schemas, errors, progress, cancellation).

Every tool reads the file from disk, confined to the project. When the editor shares its
state and has that very text open, the holes and their goals are the editor's (Lean's
server already elaborated it: nothing is started); otherwise the REPL elaborates it."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable

from lean_bridge.declarations import Declaration
from lean_bridge.hole_site import HoleSite, sites_in
from lean_bridge.holes import Hole, TextModel, blamed_span
from lean_bridge.positions import LineIndex, Pos, Span
from lean_bridge.verifier import Verdict
from lean_sidecar.agents.errors import AgentError, settings_named
from lean_sidecar.agents.files import LeanFile, ProjectFiles
from lean_sidecar.agents.schema import (
    AtArgs,
    Budget,
    CheckOut,
    DoctorOut,
    FileArgs,
    FillArgs,
    FillHoleOut,
    FillOut,
    GoalOut,
    HoleOut,
    HolesOut,
    LeanMessageOut,
    NoArgs,
    PartialOut,
    Position,
    ProofOut,
    Range,
    RefutedOut,
    RefuteOut,
    SearchArgs,
    SearchOut,
    SuggestionOut,
    TacticArgs,
    TacticOut,
    VerifyArgs,
    VerifyOut,
)
from lean_sidecar.agents.sources import DoctorRun, EditorView, EngineSource, OpenSnapshot
from lean_sidecar.agents.traces import TraceStore
from lean_sidecar.search.engine import SearchEngine
from lean_sidecar.search.fill_file import FileHole, file_holes, fill_holes
from lean_sidecar.search.refute_hole import refute_hole
from lean_sidecar.search.search_hole import search_hole, with_budget
from lean_sidecar.search.tactic_replacement import Replacements, replace_tactic
from lean_sidecar.search.trace import Found
from lean_sidecar.search.verify_text import gate_declaration, gate_proof, with_snippet
from lean_sidecar.settings import Settings

#: a progress line for the agent (the server sends it as an MCP progress notification)
Report = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


class AgentTools:
    def __init__(
        self,
        *,
        engines: EngineSource,
        files: ProjectFiles,
        settings: Callable[[], Settings],
        editor: EditorView | None = None,
        doctor: DoctorRun | None = None,
        notices: Callable[[], list[str]] | None = None,
        traces: TraceStore | None = None,
    ) -> None:
        self.engines = engines
        self.files = files
        self.settings = settings
        self.editor = editor
        self.doctor_run = doctor
        self._notices = notices or (lambda: [])
        self._told: set[str] = set()
        self.traces = traces or TraceStore()

    # ---- the tools ----------------------------------------------------------------------------
    async def holes(self, args: FileArgs) -> HolesOut:
        """Every hole of the file with its kind, declaration, goal and range."""
        f = self.files.read(args.path)
        snap = await self._editor_snapshot(f)
        if snap is not None:
            return HolesOut(
                path=f.shown,
                source="editor",
                version=snap.version,
                holes=[_editor_hole(h) for h in snap.holes],
            )
        engine = await self._engine()
        assert engine.verifier is not None  # _engine
        rows = await file_holes(f.text, engine.verifier)
        index = LineIndex(f.text)
        return HolesOut(path=f.shown, source="repl", holes=[_repl_hole(index, r) for r in rows])

    async def goal(self, args: AtArgs) -> GoalOut:
        """The goal at a position: of the hole (a sorry, or with the editor's Lean a failing
        tactic) that covers it."""
        f = self.files.read(args.path)
        pos = _pos(f.text, args.position)
        snap = await self._editor_snapshot(f)
        if snap is not None:
            hole = next((h for h in snap.holes if _covers(h, pos)), None)
            if hole is not None:
                return GoalOut(path=f.shown, source="editor", hole=_editor_hole(hole))
        site = _sorry_at(f.text, args.position)
        row = await self._repl_hole(f, site)
        return GoalOut(path=f.shown, source="repl", hole=_repl_hole(LineIndex(f.text), row))

    async def verify(self, args: VerifyArgs) -> VerifyOut:
        """A declaration of the file, a proof of one of its holes, or a snippet after it,
        through the whole trust chain: the gate first (nothing refused there reaches Lean or
        even starts it), then Lean with the parse of record and the axiom audit."""
        f = self.files.read(args.path)
        s = self.settings()
        native, limit = s.allow_native_decide, s.max_proof_chars
        if args.hole is not None and args.proof is not None:
            site = _sorry_at(f.text, args.hole)
            refusal = gate_proof(args.proof, allow_native_decide=native, max_chars=limit)
            name = site.decl.display_name
            if refusal is not None:
                return _verify_out(refusal, name)
            engine = await self._engine()
            assert engine.verifier is not None
            return _verify_out(await engine.verifier.check(site, args.proof), name)
        if args.snippet is not None:
            joined = with_snippet(f.text, args.snippet)
            if isinstance(joined, str):
                refused = Verdict(False, f"refused before Lean: {joined}", stage="gate")
                return _verify_out(refused, None)
            text, decl = joined
        else:
            text, decl = f.text, _declaration(f.text, args.declaration or "")
        refusal = gate_declaration(text, decl, allow_native_decide=native, max_chars=limit)
        if refusal is not None:
            return _verify_out(refusal, decl.display_name)
        engine = await self._engine()
        assert engine.verifier is not None
        return _verify_out(await engine.verifier.check_declaration(text, decl), decl.display_name)

    async def search(self, args: SearchArgs, report: Report = _quiet) -> SearchOut:
        """One hole's search within the budget: every proof found is verified by Lean."""
        f = self.files.read(args.path)
        site = _sorry_at(f.text, args.position)
        row = await self._repl_hole(f, site)
        engine = _budgeted(await self._engine(), args.budget)

        def found(item: Found) -> None:
            report(f"verified a proof ({item.how}) after {item.seconds:.1f} s")

        result = await search_hole(
            engine, site, row.goal, on_found=found, progress=report, max_found=args.max_proofs
        )
        trace = self.traces.add(f.shown, row.line, row.declaration, result)
        return SearchOut(
            status=str(result.status),
            proofs=[_proof(p) for p in result.found],
            refuted=(
                RefutedOut(statement=result.refuted.statement, proof=result.refuted.proof)
                if result.refuted is not None
                else None
            ),
            partial=(
                PartialOut(script=result.partial.script, sorries_left=result.partial.sorries_left)
                if result.partial is not None and not result.found
                else None
            ),
            error=settings_named(result.error) if result.error else None,
            samples=result.samples,
            seconds=round(result.seconds, 3),
            trace=trace,
            notices=self._new_notices(),
        )

    async def fill(self, args: FillArgs, report: Report = _quiet) -> FillOut:
        """One hole, or every hole of the file, searched and put back where Lean verified the
        result as a whole; the diff, and the file written only when asked."""
        f = self.files.read(args.path)
        engine = await self._engine()
        assert engine.verifier is not None
        if args.position is not None:
            site = _sorry_at(f.text, args.position)
            rows = [await self._repl_hole(f, site, engine)]
        else:
            rows = await file_holes(f.text, engine.verifier)
        if not rows:
            return FillOut(
                path=f.shown, diff="", written=False, solved=0, total=0, holes=[], notices=[]
            )

        def progress(hole: FileHole, message: str) -> None:
            report(f"{hole.declaration} (line {hole.line}): {message or 'searching'}")

        filled = await fill_holes(f.text, rows, _budgeted(engine, args.budget), progress=progress)
        holes = [self._fill_hole(f, row) for row in rows]
        diff = "".join(
            difflib.unified_diff(
                f.text.splitlines(True),
                filled.text.splitlines(True),
                f.shown,
                f"{f.shown} (filled)",
            )
        )
        written = False
        if args.write and filled.text != f.text:
            self.files.write(f, filled.text)
            written = True
        return FillOut(
            path=f.shown,
            diff=diff,
            written=written,
            solved=filled.solved,
            total=len(rows),
            holes=holes,
            notices=self._new_notices(),
        )

    async def tactic_replacements(self, args: TacticArgs) -> TacticOut:
        """Replacements for a failing tactic that Lean verified close its goal (on the whole
        declaration) or make progress."""
        f = self.files.read(args.path)
        pos = _pos(f.text, args.position)
        model = TextModel(f.text)
        hole: Hole | None = None
        snap = await self._editor_snapshot(f)
        if snap is not None:
            hole = next(
                (h for h in snap.holes if h.kind == "failingTactic" and _covers(h, pos)), None
            )
        if hole is None:
            hole = _tactic_at(model, model.index.offset(pos))
        engine = await self._engine()
        state = Replacements(goal=hole.goal)
        failures: list[str] = []
        await replace_tactic(engine, model, hole, state, lambda exc: failures.append(str(exc)))
        error = state.error or (f"no model suggestions: {failures[0]}" if failures else None)
        return TacticOut(
            path=f.shown,
            goal=state.goal,
            status=state.status.value,
            suggestions=[
                SuggestionOut(
                    tactic=s.tactic, closes=s.closes and s.confirmed, remaining=s.remaining
                )
                for s in state.suggestions
            ],
            error=error,
        )

    async def refute(self, args: AtArgs) -> RefuteOut:
        """Is the hole's goal false? Its negation tried with the symbolic closers, each proof
        checked by Lean and audited; no model sample is spent."""
        f = self.files.read(args.path)
        site = _sorry_at(f.text, args.position)
        engine = await self._engine()
        row = await self._repl_hole(f, site, engine)
        if row.goal is None:
            return RefuteOut(
                path=f.shown,
                goal=None,
                goal_is_false=False,
                statement=None,
                proof=None,
                note="Lean reported no goal at this hole",
            )
        answer = await refute_hole(engine, site, row.goal)
        refuted = answer.refuted
        return RefuteOut(
            path=f.shown,
            goal=row.goal,
            goal_is_false=refuted is not None,
            statement=refuted.statement if refuted is not None else None,
            proof=refuted.proof if refuted is not None else None,
            note=answer.note,
        )

    async def doctor(self, _args: NoArgs) -> DoctorOut:
        """``lean-sidecar doctor`` for the project: one line per piece, with what to fix."""
        if self.doctor_run is None:
            raise AgentError("internal", "the doctor is not available here")
        root = self.files.root()
        lines, ok = await asyncio.to_thread(self.doctor_run, self.settings(), root)
        return DoctorOut(
            checks=[
                CheckOut(name=c.name, status=c.status, message=c.message, essential=c.essential)
                for c in lines
            ],
            can_search=ok,
        )

    # ---- shared steps -------------------------------------------------------------------------
    def _new_notices(self) -> list[str]:
        """What the user must know about the engine (a toolchain without the kernel fixes, a
        model kept out for want of a sandbox), each said once, in the first result after it."""
        new = [n for n in self._notices() if n not in self._told]
        self._told.update(new)
        return [settings_named(n) for n in new]

    async def _engine(self) -> SearchEngine:
        engine = await self.engines.engine()
        if engine.verifier is None:
            why = self.engines.setup_error or "no Lean REPL: nothing can be verified"
            raise AgentError("lean", settings_named(why))
        return engine

    async def _editor_snapshot(self, f: LeanFile) -> OpenSnapshot | None:
        return await self.editor.open_holes(f.path, f.text) if self.editor is not None else None

    async def _repl_hole(
        self, f: LeanFile, site: HoleSite, engine: SearchEngine | None = None
    ) -> FileHole:
        """``site`` with the goal the REPL reports there (one command: its declaration)."""
        engine = engine or await self._engine()
        assert engine.verifier is not None
        rows = await file_holes(f.text, engine.verifier, at=site.start)
        row = next((r for r in rows if r.site.start == site.start), None)
        if row is None:  # sites_in found it, so file_holes does: the same reading of the text
            raise AgentError("position", "that sorry is outside every declaration")
        return row

    def _fill_hole(self, f: LeanFile, row: FileHole) -> FillHoleOut:
        r = row.result
        if r is None:
            return FillHoleOut(
                line=row.line,
                declaration=row.declaration,
                status="-",
                how=None,
                proof=None,
                error=None,
                trace=None,
            )
        error = r.error
        if r.status == "refuted" and r.refuted is not None:
            error = f"the goal is false (Lean proved {r.refuted.statement} {r.refuted.proof})"
        return FillHoleOut(
            line=row.line,
            declaration=row.declaration,
            status=str(r.status),
            how=r.found[0].how if r.found else None,
            proof=r.found[0].script if r.found else None,
            error=settings_named(error) if error else None,
            trace=self.traces.add(f.shown, row.line, row.declaration, r),
        )


# ---- conversions ------------------------------------------------------------------------------
def _pos(text: str, position: Position) -> Pos:
    lines = text.count("\n") + 1
    if position.line >= lines:
        raise AgentError(
            "position", f"line {position.line} is past the end of the file ({lines} lines)"
        )
    return Pos(position.line, position.character)


def _range(span: Span) -> Range:
    return Range(
        start=Position(line=span.start.line, character=span.start.character),
        end=Position(line=span.end.line, character=span.end.character),
    )


def _covers(hole: Hole, pos: Pos) -> bool:
    return hole.range.contains(pos) or (hole.reported is not None and hole.reported.contains(pos))


def _editor_hole(hole: Hole) -> HoleOut:
    return HoleOut(
        kind=hole.kind,
        declaration=hole.declaration,
        goal=hole.goal,
        range=_range(hole.range),
        line=hole.range.start.line + 1,
        message=hole.message,
    )


def _repl_hole(index: LineIndex, row: FileHole) -> HoleOut:
    return HoleOut(
        kind="sorry",
        declaration=row.declaration,
        goal=row.goal,
        range=_range(index.span(row.site.start, row.site.end)),
        line=row.line,
    )


def _sorry_at(text: str, position: Position) -> HoleSite:
    """The sorry whose token covers ``position``."""
    model = TextModel(text)
    at = model.index.offset(_pos(text, position))
    sites = sites_in(text, model)
    site = next((s for s in sites if s.start <= at <= s.end), None)
    if site is None:
        lines = sorted({model.index.pos(s.start).line for s in sites})
        where = (
            "; the sorries are on lines " + ", ".join(str(n) for n in lines[:20]) + " (0-based)"
            if lines
            else "; the file has no sorry inside a declaration"
        )
        raise AgentError(
            "position",
            f"no sorry at line {position.line}, character {position.character}{where}",
        )
    return site


def _tactic_at(model: TextModel, at: int) -> Hole:
    """The tactic on ``at``'s line, as Lean's error would blame it (for a file the editor's
    Lean has not reported on)."""
    decl = model.declaration_at(at)
    if decl is None or decl.assign is None or at <= decl.assign:
        raise AgentError("position", "that position is not inside a proof")
    a, b = blamed_span(model.masked, at, at, at)
    if a == b:
        raise AgentError("position", "there is no tactic at that position")
    return Hole(
        "failingTactic", model.index.span(a, b), None, decl.display_name, None, start=a, end=b
    )


def _declaration(text: str, name: str) -> Declaration:
    model = TextModel(text)
    named = [d for d in model.declarations if d.name == name]
    if len(named) != 1:
        names = sorted({d.display_name for d in model.declarations})
        listed = ", ".join(names[:30]) or "none"
        why = "no declaration" if not named else f"{len(named)} declarations"
        raise AgentError(
            "position", f"{why} named {name!r} in the file; its declarations: {listed}"
        )
    return named[0]


def _budgeted(engine: SearchEngine, budget: Budget | None) -> SearchEngine:
    if budget is None:
        return engine
    return with_budget(engine, samples=budget.samples, seconds=budget.seconds)


def _proof(found: Found) -> ProofOut:
    return ProofOut(
        script=found.script,
        how=found.how,
        seconds=round(found.seconds, 3),
        samples=found.samples,
        helpers=found.helpers,
    )


def _verify_out(verdict: Verdict, declaration: str | None) -> VerifyOut:
    errors = [
        LeanMessageOut(
            severity=m.severity,
            line=m.start_pos.line if m.start_pos is not None else None,
            column=m.start_pos.column if m.start_pos is not None else None,
            message=m.data,
        )
        for m in verdict.errors
    ]
    return VerifyOut(
        verified=verdict.ok,
        stage=None if verdict.ok else (verdict.stage or "lean"),
        reason=None if verdict.ok else verdict.reason,
        declaration=declaration,
        errors=errors,
        checked=verdict.checked,
    )
