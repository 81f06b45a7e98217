"""Just enough of Lean's lexer to tell code from comments and string literals."""

from __future__ import annotations

import re


def is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'!?" or "\u2080" <= ch <= "\u209c" or ch == "\u271d"


def is_ident_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


_RAW_STRING = re.compile(r'r(#*)"')


def mask_non_code(text: str) -> str:
    """Return ``text`` with comments and string/char literals blanked out.

    Length and newlines are preserved, so offsets into the result are offsets into ``text``.
    Nested block comments (``/- /- -/ -/``) are handled as Lean does.
    """
    out = list(text)
    n = len(text)
    i = 0

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif ch == "/" and text.startswith("/-", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/-", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("-/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif ch == '"' or (
            ch == "r" and (i == 0 or not is_ident_char(text[i - 1])) and _RAW_STRING.match(text, i)
        ):
            j = _string_end(text, i)
            blank(i, j)
            i = j
        elif ch == "'" and (i == 0 or not is_ident_char(text[i - 1])):
            j = _char_literal_end(text, i)
            if j > i:
                blank(i, j)
                i = j
            else:
                i += 1
        elif ch == "«":
            j = text.find("»", i)
            j = n if j < 0 else j + 1
            blank(i, j)  # an escaped identifier is never a keyword
            i = j
        else:
            i += 1
    return "".join(out)


def _string_end(text: str, i: int) -> int:
    raw = _RAW_STRING.match(text, i) if text[i] == "r" else None
    if raw:
        closing = '"' + raw.group(1)
        j = text.find(closing, raw.end())
        return len(text) if j < 0 else j + len(closing)
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif text[j] == '"':
            return j + 1
        else:
            j += 1
    return len(text)


def _char_literal_end(text: str, i: int) -> int:
    """End of a char literal starting at ``i`` or ``i`` when it is not one."""
    if i + 2 < len(text) and text[i + 1] != "\\" and text[i + 2] == "'":
        return i + 3
    if i + 1 < len(text) and text[i + 1] == "\\":
        j = text.find("'", i + 2)
        if 0 < j - i <= 10:
            return j + 1
    return i


def word_at(masked: str, start: int, word: str) -> bool:
    """Whether ``word`` stands as a whole identifier token at ``start``."""
    end = start + len(word)
    if masked[start:end] != word:
        return False
    before = masked[start - 1] if start > 0 else " "
    after = masked[end] if end < len(masked) else " "
    return not (is_ident_char(before) or before == ".") and not is_ident_char(after)


def find_words(masked: str, word: str) -> list[int]:
    hits = []
    i = masked.find(word)
    while i >= 0:
        if word_at(masked, i, word):
            hits.append(i)
        i = masked.find(word, i + 1)
    return hits
