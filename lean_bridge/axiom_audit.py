"""Read Lean's ``#print axioms`` answer and decide whether an accepted proof is sound enough.

The audit must not be spoofable by the text it audits: a candidate can print lines that look
like a report (``trace``, ``logInfo``), or open a namespace so that the audited name resolves to
a decoy. So the verifier runs ``#print axioms`` as its own REPL command and hands this module
only that command's messages; a report counts only if it is the command's single message and
names the declaration's fully-qualified name, computed here from the trusted file prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lean_bridge.lean_lexer import mask_non_code
from lean_bridge.lean_versions import LEGACY_NATIVE_AXIOMS

STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
NATIVE_AXIOMS = LEGACY_NATIVE_AXIOMS  # before Lean 4.35 (lean_versions.native_axioms)
# Newer Lean compiles each `native_decide`/`bv_decide` call into an axiom of its own, named
# `<decl>._native.<tactic>.ax_<i>_<j>`.
_NATIVE_PER_PROOF = re.compile(r"^[^\s,\[\]]+\._native\.[A-Za-z_]+\.ax(?:_\d+)+$")

_DEPENDS = re.compile(r"^'(?P<name>.+?)' depends on axioms: \[(?P<axioms>[^\]]*)\]$")
_NONE = re.compile(r"^'(?P<name>.+?)' does not depend on any axioms$")
_SCOPE = re.compile(
    r"^(?:(?:public|private|noncomputable)\s+)*(?P<kw>namespace|section|end|mutual)\b[ \t]*"
    r"(?P<name>[^\s-]*)",
    re.M,
)
_MODULE_HEADER = re.compile(r"\A(?P<lead>(?:\s|--[^\n]*\n)*)module\b[^\n]*\n?")
_IMPORT_MODIFIERS = re.compile(r"^(?:(?:public|meta|private)\s+)+import\b", re.M)


@dataclass(frozen=True)
class AxiomReport:
    name: str
    axioms: frozenset[str]


def parse_print_axioms(message: str) -> AxiomReport | None:
    """Parse a whole message ``'foo' depends on axioms: [propext, sorryAx]`` (or the no-axiom
    form); anything around it (a second report, a prefix) makes it no report at all."""
    flat = " ".join(message.split())
    if m := _DEPENDS.match(flat):
        axioms = frozenset(a.strip() for a in m.group("axioms").split(",") if a.strip())
        return AxiomReport(m.group("name"), axioms)
    if m := _NONE.match(flat):
        return AxiomReport(m.group("name"), frozenset())
    return None


def audit_report(
    messages: list[tuple[str, str]], expected: str, *, private: bool = False
) -> tuple[AxiomReport | None, str | None]:
    """The report of a ``#print axioms`` command, given that command's ``(severity, data)``
    messages: exactly one info message, a report, naming ``expected``. Else ``(None, why)``."""
    if len(messages) != 1:
        return None, f"the axiom audit answered {len(messages)} messages, not one report"
    severity, data = messages[0]
    report = parse_print_axioms(data) if severity == "info" else None
    if report is None:
        return None, "the axiom audit gave no report"
    if not name_matches(report.name, expected, private=private):
        return None, f"the axiom report names {report.name!r}, not {expected!r}"
    return report, None


def name_matches(reported: str, expected: str, *, private: bool = False) -> bool:
    """Private declarations are reported under Lean's mangled ``_private.<Module>.0.<name>``."""
    if reported == expected:
        return True
    return private and reported.startswith("_private.") and reported.endswith(".0." + expected)


def disallowed_axioms(
    report: AxiomReport,
    *,
    allow_native_decide: bool = False,
    hole_marker: str | None = None,
    native_axioms: frozenset[str] = NATIVE_AXIOMS,
) -> frozenset[str]:
    """Axioms outside the whitelist. ``hole_marker`` is the verifier's own stand-in for the
    declaration's other holes; ``sorryAx`` is never allowed. ``native_axioms``: what native
    evaluation adds on the project's Lean (none from 4.35: ``lean_versions.native_axioms``)."""
    allowed = STANDARD_AXIOMS | (native_axioms if allow_native_decide else frozenset())
    if hole_marker is not None:
        allowed |= {hole_marker}
    bad = report.axioms - allowed
    if allow_native_decide:
        bad = frozenset(a for a in bad if not _NATIVE_PER_PROOF.match(a))
    return bad


def qualified_name(prefix: str, name: str) -> str:
    """The fully-qualified name of a declaration ``name`` that follows ``prefix``: the
    namespaces the prefix leaves open, unless the name starts with ``_root_``."""
    if name.startswith("_root_."):
        return name[len("_root_.") :]
    masked = mask_non_code(prefix)
    scopes: list[list[str]] = []  # one entry per open scope: the namespace parts it added
    for m in _SCOPE.finditer(masked):
        kw, arg = m.group("kw"), m.group("name")
        if kw == "namespace" and arg:
            scopes.append(arg.split("."))
        elif kw in ("section", "mutual"):
            scopes.append([])
        elif kw == "end" and scopes:
            parts = arg.split(".") if arg else []
            if scopes[-1] == [] or not parts:
                scopes.pop()
            else:
                n = len(parts)
                while n > 0 and scopes:
                    n -= len(scopes.pop())
    return ".".join([p for scope in scopes for p in scope] + [name])


def audit_prefix(prefix: str) -> str:
    """Lean refuses ``#print axioms`` inside a ``module``; the audit runs on a copy of the
    prefix without the module header (imports lose their ``public``/``meta`` modifiers, which
    only modules accept). The declarations keep their text."""
    m = _MODULE_HEADER.match(prefix)
    if m is None:
        return prefix
    rest = m.group("lead") + prefix[m.end() :]
    return _IMPORT_MODIFIERS.sub("import", rest)
