"""Read Lean's ``#print axioms`` answer and decide whether an accepted proof is sound enough."""

from __future__ import annotations

import re
from dataclasses import dataclass

STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.trustCompiler"})

_DEPENDS = re.compile(r"'(?P<name>.+?)' depends on axioms: \[(?P<axioms>[^\]]*)\]")
_NONE = re.compile(r"'(?P<name>.+?)' does not depend on any axioms")


@dataclass(frozen=True)
class AxiomReport:
    name: str
    axioms: frozenset[str]


def parse_print_axioms(message: str) -> AxiomReport | None:
    """Parse ``'foo' depends on axioms: [propext, sorryAx]`` (or the no-axiom form)."""
    flat = " ".join(message.split())
    if m := _DEPENDS.search(flat):
        axioms = frozenset(a.strip() for a in m.group("axioms").split(",") if a.strip())
        return AxiomReport(m.group("name"), axioms)
    if m := _NONE.search(flat):
        return AxiomReport(m.group("name"), frozenset())
    return None


def disallowed_axioms(report: AxiomReport, *, allow_native_decide: bool = False) -> frozenset[str]:
    allowed = STANDARD_AXIOMS | (NATIVE_AXIOMS if allow_native_decide else frozenset())
    return report.axioms - allowed
