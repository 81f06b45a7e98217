"""The gate's tables: which characters, words and options a proof may not contain.

Kept apart from the gate's logic so that a reviewer reads the policy in one place. Every word is
compared on code only (comments are not code), after Unicode normalisation (NFKC plus the
confusables below), so `ѕоrrу` written in Cyrillic is `sorry`.
"""

from __future__ import annotations

import re
import unicodedata

# Invisible, bidirectional-control and unusual whitespace characters: a candidate with any of
# them is refused outright (they can make the text a reviewer sees differ from what Lean parses).
# Tabs are refused because Lean itself rejects them; a CR is admitted only as part of CRLF.
INVISIBLE = re.compile(
    "[\x00-\x08\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680"
    "\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
LONE_CR = re.compile(r"\r(?!\n)")

# Letters from other scripts that look like Latin ones (NFKC already folds fullwidth and
# mathematical alphanumerics).
CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
        "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m",
        "т": "t", "ո": "n", "ս": "u", "ɑ": "a", "ı": "i", "ȷ": "j", "ꜱ": "s", "ᴏ": "o",
        "ʀ": "r", "ᴅ": "d", "ɡ": "g",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
        "ο": "o", "α": "a", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u",
        "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
        "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    }
)  # fmt: skip


def normalise(word: str) -> str:
    """``word`` as a reader would take it: NFKC, look-alike letters folded to Latin."""
    if word.isascii():
        return word
    return unicodedata.normalize("NFKC", word).translate(CONFUSABLES)


# Words that leave a hole or stop elaboration: a proof with one of them proves nothing.
HOLE_WORDS = frozenset({"sorry", "admit", "stop", "sorryAx", "sorry_proof", "cheat"})

# Native evaluation: trusts the compiler instead of the kernel. Admitted only when the user
# allowed it (`native` covers `decide +native` and `decide (config := {native := true})`).
NATIVE_WORDS = frozenset({"native_decide", "native", "bv_decide", "bv_check", "decide!"})

# Always refused: native evaluation spelled directly, code attached to declarations, anything
# that runs programs, reads the environment or prints a message a verifier might read as its own.
ALWAYS_FORBIDDEN = frozenset(
    {
        "ofReduceBool", "ofReduceNat", "reduceBool", "reduceNat", "trustCompiler",
        "implemented_by", "extern", "skipKernelTC", "debug",
        "run_tac", "by_elab", "run_cmd", "run_elab", "run_meta", "evalExpr",
        "trace", "trace_state", "dbg_trace", "dbgTrace", "dbgTraceIfShared", "dbg_trace_if",
        "logInfo", "logWarning", "logError", "logInfoAt", "throwError", "throwErrorAt",
        "panic", "panic!", "unreachable!", "assert!", "show_term", "extract_goal", "says",
        "getEnv", "setEnv", "Process", "FS", "spawn", "readFile", "writeFile",
        "println", "print", "eprintln", "eprint", "stdout", "stderr", "stdin",
        "MetaM", "TacticM", "TermElabM", "CoreM", "CommandElabM", "Environment",
        "addDecl", "compileDecl", "evalDecl", "runEval", "ptrAddr",
        # evaluate a model-written statement while Lean elaborates (`Testable` instances run
        # compiled code: with `open IO.FS in` a helper's statement can be a file operation)
        "plausible", "slim_check", "run_conv",
    }
)  # fmt: skip

# A name whose first component is one of these lives in the world of programs, not proofs.
FORBIDDEN_ROOTS = frozenset(
    {"IO", "EIO", "BaseIO", "System", "Lean", "ST", "EStateM", "Elab", "Meta"}
)

# `set_option NAME N in` admitted only for these, with N at most the cap, and only as a prefix.
OPTION_CAPS: dict[str, int] = {"maxHeartbeats": 4_000_000, "maxRecDepth": 100_000}

# Tactics that reach outside Lean while a proof is checked: `polyrith` sends the goal to an
# internet service (SageMath Cell); the others start external programs or network clients
# (language-model tactics, SMT/ATP solvers, e-graph binaries). A proof that needs them is not
# checkable offline in the sandbox, and the request itself would carry the user's goal out.
EXTERNAL_TACTICS = frozenset(
    {
        "polyrith", "llmstep", "llmqed", "sagredo", "smt", "smt_decide", "hammer", "auto",
        "egg", "leanhammer", "lean_hammer", "aesop_llm", "suggest_premises", "select_premises",
    }
)  # fmt: skip
