"""The gate in front of Lean: model output is untrusted code and reaches a REPL only if it is
plainly a proof of the hole.

The scan runs on the raw candidate text, comments and strings included: a banned word inside a
comment costs one rejected candidate, whereas trusting a lexer to find the comments would let a
lexer bug become an escape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that can run code, change the trusted base, or hide a hole.
BANNED_WORDS = [
    "#eval",
    "#exit",
    "#print",
    "#check",
    "#reduce",
    "#synth",
    "#help",
    "#guard_msgs",
    "#lint",
    "run_cmd",
    "run_tac",
    "run_elab",
    "run_meta",
    "by_elab",
    "axiom",
    "unsafe",
    "implemented_by",
    "extern",
    "export",
    "opaque",
    "macro",
    "syntax",
    "elab",
    "notation",
    "macro_rules",
    "elab_rules",
    "infix",
    "infixl",
    "infixr",
    "prefix",
    "postfix",
    "initialize",
    "builtin_initialize",
    "declare_syntax_cat",
    "sorry",
    "admit",
    "sorryAx",
    "import",
    "attribute",
    "native_decide",
    "ofReduceBool",
    "reduceBool",
    "trustCompiler",
    "exact?",
    "apply?",
    "rw?",
    "hint",
]
# Commands that would end the declaration the hole is in.
COMMAND_WORDS = [
    "theorem",
    "lemma",
    "def",
    "example",
    "instance",
    "abbrev",
    "structure",
    "class",
    "inductive",
    "namespace",
    "section",
    "end",
    "open",
    "universe",
    "variable",
    "attribute",
    "mutual",
    "deriving",
]
SAFE_OPTIONS = frozenset(
    {
        "maxHeartbeats",
        "maxRecDepth",
        "synthInstance.maxHeartbeats",
        "synthInstance.maxSize",
        "linter.unusedVariables",
    }
)
NATIVE_WORDS = frozenset({"native_decide", "ofReduceBool", "reduceBool", "trustCompiler"})

_IDENT = r"[A-Za-z_\u00c0-\U0010ffff][\w'!?.\u00c0-\U0010ffff]*"


def _token_pattern(word: str) -> re.Pattern[str]:
    head = "" if word.startswith("#") else r"(?<![\w'#])"
    tail = "" if word.endswith("?") else r"(?![\w'!?])"
    return re.compile(head + re.escape(word) + tail)


_BANNED = [(w, _token_pattern(w)) for w in BANNED_WORDS]
_COMMANDS = re.compile(
    r"(?m)^(?:@\[.*?\]\s*)?(?:private\s+|protected\s+|noncomputable\s+)*("
    + "|".join(COMMAND_WORDS)
    + r")(?![\w'])"
)
_SET_OPTION = re.compile(r"(?<![\w'.])set_option\s+(" + _IDENT + ")")
_OPEN_PRIVATE = re.compile(r"(?<![\w'.])open\s+private(?![\w'])")
_ATTRIBUTE = re.compile(r"@\[")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None = None


def check_candidate(
    proof: str, *, allow_native_decide: bool = False, max_chars: int = 20_000
) -> Verdict:
    """Whether ``proof`` (the text that replaces a hole) may be sent to Lean."""
    if not proof.strip():
        return Verdict(False, "empty proof")
    if len(proof) > max_chars:
        return Verdict(False, f"proof longer than {max_chars} characters")
    if "\x00" in proof:
        return Verdict(False, "NUL byte in proof")
    for word, pattern in _BANNED:
        if allow_native_decide and word in NATIVE_WORDS and word != "ofReduceBool":
            continue
        if pattern.search(proof):
            return Verdict(False, f"forbidden: {word}")
    if _OPEN_PRIVATE.search(proof):
        return Verdict(False, "forbidden: open private")
    for match in _SET_OPTION.finditer(proof):
        if match.group(1) not in SAFE_OPTIONS:
            return Verdict(False, f"forbidden option: set_option {match.group(1)}")
    if _ATTRIBUTE.search(proof):
        return Verdict(False, "forbidden: attributes in a proof")
    command = _COMMANDS.search(proof)
    if command:
        return Verdict(False, f"not a proof of the hole: starts a `{command.group(1)}` command")
    return Verdict(True)
