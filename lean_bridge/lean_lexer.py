"""Just enough of Lean's lexer to tell code from comments and string literals."""

from __future__ import annotations

import re


def is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'!?" or "\u2080" <= ch <= "\u209c" or ch == "\u271d"


def is_ident_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


_RAW_STRING = re.compile(r'r(#*)"')


_INTERESTING = re.compile(r"--|/-|\"|'|«|(?<![\w'!?])r#*\"")


def mask_non_code(text: str) -> str:
    """Return ``text`` with comments and string/char literals blanked out.

    Length and newlines are preserved, so offsets into the result are offsets into ``text``.
    Nested block comments (``/- /- -/ -/``) are handled as Lean does.
    """
    pieces: list[str] = []
    n = len(text)
    i = 0  # everything before i is already in pieces

    def blank(a: int, b: int) -> None:
        pieces.append(re.sub(r"[^\n]", " ", text[a:b]))

    pos = 0
    while True:
        m = _INTERESTING.search(text, pos)
        if m is None:
            break
        start = m.start()
        tok = m.group(0)
        if tok == "--":
            end = text.find("\n", start)
            end = n if end < 0 else end
        elif tok == "/-":
            depth, end = 1, start + 2
            while depth and end < n:
                nxt_open = text.find("/-", end)
                nxt_close = text.find("-/", end)
                if nxt_close < 0:
                    end = n
                    break
                if 0 <= nxt_open < nxt_close:
                    depth, end = depth + 1, nxt_open + 2
                else:
                    depth, end = depth - 1, nxt_close + 2
        elif tok == "'":
            if start > 0 and is_ident_char(text[start - 1]):
                pos = start + 1
                continue
            end = _char_literal_end(text, start)
            if end == start:
                pos = start + 1
                continue
        elif tok == "«":
            end = text.find("»", start)
            end = n if end < 0 else end + 1
        else:
            end = _string_end(text, start)
        pieces.append(text[i:start])
        blank(start, end)
        i = pos = end
    pieces.append(text[i:])
    return "".join(pieces)


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
