"""The sidecar's code actions, built from a hole snapshot: pure functions, no server state.

Every edit is pinned to the document version it was computed for (a versioned
TextDocumentEdit), so an editor never applies it to a changed buffer."""

from __future__ import annotations

import logging

from lsprotocol import types

from lean_bridge.candidate_filter import check_declaration_text
from lean_bridge.declarations import Declaration, find_declarations
from lean_bridge.gate_preview import edit_preview, edit_title
from lean_bridge.hole_fill import HoleMode, replacement
from lean_bridge.hole_site import HoleSite
from lean_bridge.holes import Hole, insertion_column
from lean_bridge.json_types import JsonObject
from lean_sidecar.lsp.documents import HoleSnapshot
from lean_sidecar.lsp.errors import RequestFailed
from lean_sidecar.search.trace import Found, Partial, Refuted

log = logging.getLogger(__name__)

SEARCH = "leanSidecar.searchProof"
FILL_ALL = "leanSidecar.fillAll"
CANCEL = "leanSidecar.cancelSearch"
TRACE = "leanSidecar.trace"
CHECK_ENDPOINT = "leanSidecar.checkEndpoint"


def intersects(hole: Hole, rng: types.Range) -> bool:
    start = (rng.start.line, rng.start.character)
    end = (rng.end.line, rng.end.character)
    h0 = (hole.range.start.line, hole.range.start.character)
    h1 = (hole.range.end.line, hole.range.end.character)
    return h0 <= end and start <= h1


def site_of(snap: HoleSnapshot, hole: Hole) -> HoleSite:
    """What the verifier needs to check a proof of ``hole`` (raises if it has no declaration).
    The mode is Lean's (``plainGoal`` answered there, or only ``termGoal``)."""
    mode: HoleMode = "term" if hole.mode == "term" else "tactic"
    site = HoleSite.at(snap.model.text, hole.start, mode=mode, model=snap.model)
    if site is None:
        raise RequestFailed("this sorry is not inside a declaration")
    return site


def hole_at(snap: HoleSnapshot, line: int, character: int) -> Hole:
    for h in snap.holes:
        if (
            h.kind == "sorry"
            and h.range.start.line == line
            and (h.range.start.character <= character <= h.range.end.character)
        ):
            return h
    raise RequestFailed(f"no sorry at {line + 1}:{character + 1}")


AnyTextEdit = types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit


def versioned_edit(uri: str, version: int, edits: list[AnyTextEdit]) -> types.TextDocumentEdit:
    """Edits pinned to ``version``: an editor refuses them once the document changed."""
    return types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=edits,
    )


class RefusedEdit(RequestFailed):
    """The final text of the declaration would hold more than the declaration: not offered."""


Splice = tuple[int, int, str]  # start, end (offsets in the snapshot's text), new text
HELPER_SEPARATOR = "\n\n"  # after the helpers, before the declaration (as Lean checked them)


def check_final_text(
    text: str, decl: Declaration, splices: list[Splice], helpers: str = ""
) -> None:
    """Re-lex the declaration as it would read after ``splices`` (the exact inserted text),
    preceded by ``helpers`` (inserted above it), and raise `RefusedEdit`, with a log line, if it
    holds any command besides the declaration and exactly those helpers."""
    out, end = text, decl.end
    for a, b, new in sorted(splices, reverse=True):
        out = out[:a] + new + out[b:]
        end += len(new) - (b - a) if a < decl.end else 0
    final = out[decl.start : end]
    count = len(find_declarations(helpers)) if helpers else 0
    if helpers:
        final = helpers + HELPER_SEPARATOR + final
    verdict = check_declaration_text(final, max_declarations=count + 1)
    if not verdict.ok:
        log.warning(
            "edit refused for %s: the declaration would contain %s",
            decl.display_name,
            verdict.reason,
        )
        raise RefusedEdit(f"edit refused: {verdict.reason}")


def helper_splice(decl: Declaration, helpers: str) -> Splice:
    """Insert ``helpers`` (then a blank line) at the declaration's first character, docstring
    and attributes included: where the verifier checked them."""
    return (decl.start, decl.start, helpers + HELPER_SEPARATOR)


def found_splices(snap: HoleSnapshot, hole: Hole, found: Found) -> list[Splice]:
    """The proof in the hole and, if it needs any, its helpers above the declaration (checked:
    `RefusedEdit` if the final text holds anything more)."""
    site = site_of(snap, hole)
    splices = [fill_splice(snap, hole, found.script)]
    check_final_text(snap.model.text, site.decl, splices, found.helpers)
    if found.helpers:
        splices.insert(0, helper_splice(site.decl, found.helpers))
    return splices


def fill_splice(snap: HoleSnapshot, hole: Hole, script: str) -> Splice:
    site = site_of(snap, hole)
    column = insertion_column(snap.model, hole)
    return replacement(site.text, hole.start, hole.end, script, site.mode, column)


def text_edit(snap: HoleSnapshot, splice: Splice, annotation: str | None = None) -> AnyTextEdit:
    a, b, new_text = splice
    start, end = snap.model.index.pos(a), snap.model.index.pos(b)
    rng = types.Range(
        types.Position(start.line, start.character), types.Position(end.line, end.character)
    )
    if annotation is None:
        return types.TextEdit(range=rng, new_text=new_text)
    return types.AnnotatedTextEdit(range=rng, new_text=new_text, annotation_id=annotation)


def previewed(
    uri: str, snap: HoleSnapshot, splice: Splice | list[Splice], label: str
) -> tuple[str, types.WorkspaceEdit, JsonObject]:
    """Title, edit and data of an action that inserts ``splice`` (or several, in ONE edit
    pinned to the snapshot's version; the title names the last, the hole's): the title never
    pretends to be the whole edit (first line and "+N lines"); a multi-line insertion carries
    a change annotation with the whole text that asks the editor to show it before applying."""
    splices = splice if isinstance(splice, list) else [splice]
    title = f"{label}: {edit_title(splices[-1][2])}"
    preview = "\n\n".join(edit_preview(sp[2].strip("\n")) for sp in splices)
    if len(splices) == 1 and "\n" not in splices[0][2].strip("\n"):
        edit = types.WorkspaceEdit(
            document_changes=[
                versioned_edit(uri, snap.version, [text_edit(snap, sp) for sp in splices])
            ]
        )
    else:
        edits = [text_edit(snap, sp, "leanSidecar.insert") for sp in splices]
        edit = types.WorkspaceEdit(
            document_changes=[versioned_edit(uri, snap.version, edits)],
            change_annotations={
                "leanSidecar.insert": types.ChangeAnnotation(
                    label=title, needs_confirmation=True, description=preview
                )
            },
        )
    return title, edit, {"inserted": preview}


def fill_action(
    uri: str, snap: HoleSnapshot, hole: Hole, found: Found, preferred: bool
) -> types.CodeAction:
    splices = found_splices(snap, hole, found)
    title, edit, data = previewed(uri, snap, splices, "Fill sorry")
    if found.helpers:
        n = len(find_declarations(found.helpers))
        title += f" (+{n} helper {'lemma' if n == 1 else 'lemmas'} above)"
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        is_preferred=preferred,
        edit=edit,
        data={"leanSidecar": {"how": found.how, **data}},
    )


def partial_action(uri: str, snap: HoleSnapshot, hole: Hole, partial: Partial) -> types.CodeAction:
    n = partial.sorries_left
    splice = fill_splice(snap, hole, partial.script)
    check_final_text(snap.model.text, site_of(snap, hole).decl, [splice])
    _title, edit, data = previewed(uri, snap, splice, "Insert proof sketch")
    return types.CodeAction(
        title=f"Insert proof sketch ({n} {'sorry' if n == 1 else 'sorries'} left) — partial",
        kind=types.CodeActionKind.RefactorRewrite,
        edit=edit,
        data={"leanSidecar": {"partial": n, **data}},
    )


def search_action(
    uri: str, version: int, hole: Hole, running: bool, search: str = SEARCH
) -> types.CodeAction:
    """Start a search for this sorry, or cancel the one running. ``search`` is the command that
    starts it: `SEARCH`, or the editor's own command that calls it (``editorSearchCommand``)."""
    title = "Searching a proof… (cancel)" if running else "Search proof for this sorry"
    command = CANCEL if running else search
    argument: JsonObject = {
        "uri": uri,
        "version": version,
        "position": hole.range.start.to_lsp(),
    }
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        data={"leanSidecar": {"command": command}},
        command=types.Command(title=title, command=command, arguments=[argument]),
    )


def fill_all_action(uri: str, version: int) -> types.CodeAction:
    return types.CodeAction(
        title="Fill every sorry in this file (lean-sidecar)",
        kind=types.CodeActionKind.Source,
        data={"leanSidecar": {"command": FILL_ALL}},
        command=types.Command(
            title="Fill every sorry",
            command=FILL_ALL,
            arguments=[{"uri": uri, "version": version}],
        ),
    )


def replace_tactic_action(
    uri: str, snap: HoleSnapshot, hole: Hole, tactic: str, closes: bool, preferred: bool
) -> types.CodeAction:
    """Replace a failing tactic by one Lean checked (hover suggestions); refused
    (`RefusedEdit`) if the declaration's final text would hold anything but the declaration."""
    # the same splice as a fill: an "unsolved goals" hole is an insertion after the block
    column = insertion_column(snap.model, hole)
    splice = replacement(snap.model.text, hole.start, hole.end, tactic, "tactic", column)
    decl = snap.model.declaration_at(hole.start)
    if decl is None:
        raise RequestFailed("this tactic is not inside a declaration")
    check_final_text(snap.model.text, decl, [splice])
    title, edit, data = previewed(uri, snap, splice, "Replace with")
    return types.CodeAction(
        title=title if closes else f"{title} (progress)",
        kind=types.CodeActionKind.QuickFix,
        is_preferred=preferred and closes,
        edit=edit,
        data={"leanSidecar": {"replacement": True, **data}},
    )


def checked_edits(
    snap: HoleSnapshot, fills: list[tuple[Hole, Found]], rows: list[JsonObject]
) -> list[AnyTextEdit]:
    """The edits of every declaration whose final text (all its fills together, with their
    helpers above it) is still that declaration and those helpers alone; the others are
    dropped, their rows say why."""
    by_decl: dict[int, list[tuple[Hole, Found]]] = {}
    for hole, found in fills:
        by_decl.setdefault(site_of(snap, hole).decl.start, []).append((hole, found))
    edits: list[AnyTextEdit] = []
    for group in by_decl.values():
        decl = site_of(snap, group[0][0]).decl
        splices = [fill_splice(snap, h, f.script) for h, f in group]
        helpers = HELPER_SEPARATOR.join(f.helpers for _h, f in group if f.helpers)
        try:
            check_final_text(snap.model.text, decl, splices, helpers)
        except RefusedEdit as exc:
            lines = {h.range.start.line for h, _f in group}
            for row in rows:
                if row["line"] in lines:
                    row.update(status="refused", error=str(exc), found=[])
            continue
        if helpers:
            splices.insert(0, helper_splice(decl, helpers))
        edits += [text_edit(snap, sp) for sp in splices]
    return edits


REFUTED_HEADER = "/- lean-sidecar: Lean proved the negation of this goal:\n"


def refuted_action(uri: str, snap: HoleSnapshot, hole: Hole, refuted: Refuted) -> types.CodeAction:
    """Show why the goal is false: the checked counterexample as a comment block above the
    declaration (a comment, so the file keeps checking)."""
    text = refuted.text()
    if "/-" in text or "-/" in text:  # Lean's block comments nest: it would not stay a comment
        raise RefusedEdit("the counterexample cannot be shown as a comment")
    decl = site_of(snap, hole).decl
    comment = f"{REFUTED_HEADER}{text}\n-/\n"
    _title, edit, data = previewed(uri, snap, (decl.start, decl.start, comment), "Insert")
    return types.CodeAction(
        title="Show why this goal is false",
        kind=types.CodeActionKind.QuickFix,
        edit=edit,
        data={"leanSidecar": {"refuted": refuted.statement, **data}},
    )
