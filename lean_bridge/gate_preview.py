"""What the user is shown before accepting an edit: the whole inserted text, faithfully.

A code action titled with only a proof's first line would hide what follows it (the injection
shape puts the payload on later lines). These helpers render every line, make characters that
render as nothing or reorder text visible (`⟪U+202E⟫`), and say plainly when a long text is
shortened, so what the user approves is what is inserted.
"""

from __future__ import annotations

import re

# Control, format (bidi, zero-width), unusual-space and line/paragraph-separator characters.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680"
    "\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000e0000-\U000e0fff]|\r(?!\n)"
)


def reveal(text: str) -> str:
    """``text`` with every hidden character written as ``⟪U+XXXX⟫`` and tabs as ``⟪TAB⟫``."""
    text = text.replace("\t", "⟪TAB⟫")
    return _HIDDEN.sub(lambda m: f"⟪U+{ord(m.group(0)[0]):04X}⟫", text)


def edit_preview(inserted: str, *, max_lines: int = 60, max_chars: int = 6000) -> str:
    """The inserted text for a preview (code action detail, hover, log): all of it when it fits,
    else its first lines and an explicit count of what is left out."""
    lines = reveal(inserted.replace("\r\n", "\n")).split("\n")
    shown: list[str] = []
    used = 0
    for line in lines:
        if len(shown) >= max_lines or used + len(line) > max_chars:
            break
        shown.append(line)
        used += len(line) + 1
    left = len(lines) - len(shown)
    if left:
        shown.append(f"… ({left} more line{'s' if left != 1 else ''} not shown)")
    return "\n".join(shown)


def edit_title(inserted: str, *, width: int = 60) -> str:
    """A one-line title that never pretends to be the whole edit: the first line, shortened to
    ``width``, and how many further lines the edit has."""
    lines = [line.strip() for line in reveal(inserted.replace("\r\n", "\n")).split("\n")]
    lines = [line for line in lines if line] or [""]
    first = lines[0] if len(lines[0]) <= width else lines[0][: width - 1] + "…"
    more = len(lines) - 1
    return first if more == 0 else f"{first} (+{more} line{'s' if more != 1 else ''})"
