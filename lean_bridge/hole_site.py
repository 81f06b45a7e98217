"""Where a hole is in one version of a file: the one way every front end (the editor, ``fill``,
``eval``, the hover's probe, the search's sub-goals) builds the site the verifier checks.

A site is found in the text itself (``HoleSite.at`` / ``sites_in``), never assembled by hand:
the declaration around the hole, the declaration's other holes (which the verifier marks with
an axiom of its own so that the audit can tell them from a ``sorry`` in the candidate) and the
hole's mode all come from one reading of the text, so two front ends cannot check a proof of
the same hole in two different ways."""

from __future__ import annotations

from dataclasses import dataclass, replace

from lean_bridge.declarations import Declaration
from lean_bridge.hole_fill import HoleMode, hole_mode
from lean_bridge.holes import TextModel
from lean_bridge.sorry_scan import SorryToken, scan_sorries


@dataclass(frozen=True)
class HoleSite:
    """A ``sorry`` of one version of a file, with what checking a proof of it needs."""

    text: str
    decl: Declaration
    start: int
    end: int
    mode: HoleMode
    other_holes: tuple[tuple[int, int], ...] = ()  # other sorries of the same declaration
    helpers: int = 0  # carried helper theorems between decl.start and the declaration's head

    @classmethod
    def at(
        cls,
        text: str,
        offset: int,
        *,
        mode: HoleMode | None = None,
        model: TextModel | None = None,
        helpers: int = 0,
    ) -> HoleSite | None:
        """The site of the ``sorry`` that starts at ``offset`` (a code-point offset into
        ``text``), or None when no sorry starts there or it is outside every declaration.
        ``mode`` overrides the guess from the text (the editor knows it from Lean's
        ``plainGoal``); ``model`` saves re-reading a text the caller has read already."""
        model = model if model is not None and model.text == text else TextModel(text)
        tokens = scan_sorries(text, model.masked, model.index)
        tok = next((t for t in tokens if t.start == offset), None)
        if tok is None:
            return None
        return _site(model, tokens, tok, mode, helpers)

    def with_inserted(self, at: int, insert: str, helpers: int) -> HoleSite:
        """This site with ``insert`` put at ``at`` (at or before the declaration's head and
        after its start: helper theorems carried with a proof), ``helpers`` more of them. The
        declaration keeps its start, so the REPL's prefix (everything above it) is unchanged."""
        n = len(insert)
        return replace(
            self,
            text=self.text[:at] + insert + self.text[at:],
            decl=self.decl.with_head_moved(n),
            start=self.start + n,
            end=self.end + n,
            other_holes=tuple((a + n, b + n) for a, b in self.other_holes),
            helpers=self.helpers + helpers,
        )


def sites_in(text: str, model: TextModel | None = None) -> list[HoleSite]:
    """Every ``sorry`` of ``text`` that is inside a declaration, in source order."""
    model = model if model is not None and model.text == text else TextModel(text)
    tokens = scan_sorries(text, model.masked, model.index)
    sites = (_site(model, tokens, tok, None, 0) for tok in tokens)
    return [s for s in sites if s is not None]


def _site(
    model: TextModel,
    tokens: list[SorryToken],
    tok: SorryToken,
    mode: HoleMode | None,
    helpers: int,
) -> HoleSite | None:
    decl = model.declaration_at(tok.start)
    if decl is None:
        return None
    others = tuple(
        (t.start, t.end) for t in tokens if t is not tok and decl.start <= t.start <= decl.end
    )
    return HoleSite(
        model.text,
        decl,
        tok.start,
        tok.end,
        mode if mode is not None else hole_mode(model.masked, tok.start),
        others,
        helpers,
    )
