"""The sidecar's code actions, built from a hole snapshot: pure functions, no server state.

Every edit is pinned to the document version it was computed for (a versioned
TextDocumentEdit), so an editor never applies it to a changed buffer."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from lean_bridge.hole_fill import HoleMode, indent_continuation, replacement
from lean_bridge.holes import Hole
from lean_bridge.verifier import HoleSite
from lean_sidecar.lsp.documents import HoleSnapshot
from lean_sidecar.lsp.errors import RequestFailed
from lean_sidecar.search.trace import Found, Partial

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
    """What the verifier needs to check a proof of ``hole`` (raises if it has no declaration)."""
    model = snap.model
    decl = model.declaration_at(hole.start)
    if decl is None:
        raise RequestFailed("this sorry is not inside a declaration")
    others = tuple(
        (h.start, h.end)
        for h in snap.holes
        if h.kind == "sorry" and h is not hole and decl.start <= h.start <= decl.end
    )
    mode: HoleMode = "term" if hole.mode == "term" else "tactic"
    return HoleSite(model.text, decl, hole.start, hole.end, mode, others)


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


def fill_edit(uri: str, snap: HoleSnapshot, hole: Hole, script: str) -> types.TextDocumentEdit:
    """Replace ``hole`` by ``script``, indented and wrapped as the hole's mode needs."""
    site = site_of(snap, hole)
    a, b, new_text = replacement(site.text, hole.start, hole.end, script, site.mode)
    start, end = snap.model.index.pos(a), snap.model.index.pos(b)
    rng = types.Range(
        types.Position(start.line, start.character), types.Position(end.line, end.character)
    )
    return versioned_edit(uri, snap.version, [types.TextEdit(range=rng, new_text=new_text)])


def fill_action(
    uri: str, snap: HoleSnapshot, hole: Hole, found: Found, preferred: bool
) -> types.CodeAction:
    first_line = found.script.strip().split("\n")[0]
    return types.CodeAction(
        title=f"Fill sorry: {first_line}",
        kind=types.CodeActionKind.QuickFix,
        is_preferred=preferred,
        edit=types.WorkspaceEdit(document_changes=[fill_edit(uri, snap, hole, found.script)]),
        data={"leanSidecar": {"how": found.how}},
    )


def partial_action(uri: str, snap: HoleSnapshot, hole: Hole, partial: Partial) -> types.CodeAction:
    n = partial.sorries_left
    return types.CodeAction(
        title=f"Insert proof sketch ({n} {'sorry' if n == 1 else 'sorries'} left) — partial",
        kind=types.CodeActionKind.RefactorRewrite,
        edit=types.WorkspaceEdit(document_changes=[fill_edit(uri, snap, hole, partial.script)]),
        data={"leanSidecar": {"partial": n}},
    )


def search_action(uri: str, version: int, hole: Hole, running: bool) -> types.CodeAction:
    """Start a search for this sorry, or cancel the one running."""
    title = "Searching a proof… (cancel)" if running else "Search proof for this sorry"
    command = CANCEL if running else SEARCH
    argument: dict[str, Any] = {
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
    """Replace a failing tactic by one Lean checked (hover suggestions)."""
    column = hole.start - (snap.model.text.rfind("\n", 0, hole.start) + 1)
    rng = types.Range(
        types.Position(hole.range.start.line, hole.range.start.character),
        types.Position(hole.range.end.line, hole.range.end.character),
    )
    label = "" if closes else " (progress)"
    edit = types.TextEdit(range=rng, new_text=indent_continuation(tactic, column))
    return types.CodeAction(
        title=f"Replace with: {tactic.splitlines()[0]}{label}",
        kind=types.CodeActionKind.QuickFix,
        is_preferred=preferred and closes,
        edit=types.WorkspaceEdit(document_changes=[versioned_edit(uri, snap.version, [edit])]),
        data={"leanSidecar": {"replacement": True}},
    )
