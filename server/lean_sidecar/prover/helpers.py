"""Helper declarations an answer writes before its main theorem (Kimina-Prover 72B and
Seed-Prover write `lemma`s and use them in the proof): kept, renamed to fresh names that cannot
collide with the user's file, and carried with the proof so that Lean checks them together.

Only what the proof uses (directly or through another helper) is carried. Renaming is done on
code (comments and strings are left alone) with the same identifier boundaries as Lean's
names, so `h1` does not touch `h1'` or `Foo.h1`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from lean_bridge.declarations import Declaration
from lean_bridge.lean_lexer import mask_non_code

HELPER_PREFIX = "sidecar_aux_"
# The kinds carried; the final-text gate admits theorem/lemma helpers only, so a `def` helper
# is carried to be refused there with a clear reason rather than silently dropped.
HELPER_KINDS = ("theorem", "lemma", "def", "abbrev")


@dataclass(frozen=True)
class Helpers:
    """The helpers' text (declarations separated by blank lines, already renamed), how many,
    and the proof script with the same renaming applied."""

    text: str
    count: int
    script: str


def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.'!?])" + re.escape(name) + r"(?![\w'!?])")


def _rename(text: str, names: dict[str, str]) -> str:
    """Replace each whole identifier of ``names`` in the code of ``text`` (not in comments or
    string literals)."""
    if not names:
        return text
    masked = mask_non_code(text)
    pattern = re.compile(
        r"(?<![\w.'!?])("
        + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        + r")(?![\w'!?])"
    )
    out, last = [], 0
    for m in pattern.finditer(masked):
        out += [text[last : m.start()], names[m.group(1)]]
        last = m.end()
    return "".join(out) + text[last:]


def fresh_name(name: str, helper_text: str, taken: str) -> str:
    """A name derived from the helper's own text, so the same helper always gets the same name,
    and absent from ``taken`` (the user's file)."""
    digest = hashlib.sha256(helper_text.encode()).hexdigest()
    base = re.sub(r"\W", "_", name)
    for k in range(8, 64, 4):
        candidate = f"{HELPER_PREFIX}{digest[:k]}_{base}"
        if not _name_pattern(candidate).search(taken):
            return candidate
    return f"{HELPER_PREFIX}{digest}_{base}_x"


def collect_helpers(
    code: str, decls: list[Declaration], main: Declaration, script: str, user_text: str
) -> Helpers | str | None:
    """The helpers ``script`` needs from the declarations of ``code`` before ``main``: None when
    it uses none, a reason string when one cannot be carried (a qualified or missing name)."""
    before = [d for d in decls if d.end <= main.start and d.kind in HELPER_KINDS]
    by_name = {d.name: d for d in before if d.name}
    masked_code = mask_non_code(code)
    needed: list[Declaration] = []
    queue = [mask_non_code(script)]
    while queue:
        body = queue.pop()
        for name, d in by_name.items():
            if d not in needed and _name_pattern(name).search(body):
                needed.append(d)
                queue.append(masked_code[d.start : d.end])
    if not needed:
        return None
    needed.sort(key=lambda d: d.start)
    names: dict[str, str] = {}
    for d in needed:
        assert d.name is not None
        if "." in d.name or "«" in d.name:
            return f"helper `{d.name[:40]}` has a qualified name"
        names[d.name] = fresh_name(d.name, code[d.start : d.end], user_text)
    text = "\n\n".join(_rename(code[d.start : d.end], names) for d in needed)
    return Helpers(text, len(needed), _rename(script, names))


def helper_signature(text: str, decl: Declaration) -> str:
    """What follows a helper's name (binders, statement, proof): the part the proof whitelist
    judges. The name and keyword are the final-text gate's."""
    return text[decl.name_end : decl.end]
