"""Lean's goals as text (``plainGoal``, the REPL's ``goal``/``goals``, "unsolved goals" messages),
read into hypotheses and a target that can be restated as a lemma which elaborates.

Lean prints a goal as ``case tag`` (optional), one hypothesis per line (``names : type`` or, for a
``let``/``set`` variable, ``name : type := value``; a long one continues on indented lines) and
``⊢ target``. Names Lean made inaccessible (``n✝``, ``a✝``, ``inst✝¹``) cannot be written back, so
each becomes a fresh name substituted in *every* type; a let value is kept as an equality
hypothesis (a binder ``(x : ℕ := 5)`` would be an optional parameter, i.e. ∀ x, which is false);
goals with metavariables (``?m.5``, ``Sort ?u``) are declined: Lean has not decided them yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_INACCESSIBLE = re.compile(r"(?<![^\s(\[{⟨,:↑¬])[^\s()\[\]{}⟨⟩,:✝]*✝[" + SUPERSCRIPTS + r"]*")
_METAVAR = re.compile(r"(?<![\w.])\?[A-Za-z_][\w.]*")
_UNIVERSE = re.compile(r"\b(?:Sort|Type)\s+\(?(?:i?max\s+)?(u_\d+)(?:\s+(u_\d+))?")
_OPEN, _CLOSE = "([{⟨", ")]}⟩"


@dataclass(frozen=True)
class Hypothesis:
    names: tuple[str, ...]  # as Lean printed them (possibly inaccessible, possibly empty)
    type: str
    value: str | None = None  # the value of a let-bound variable


@dataclass(frozen=True)
class Goal:
    case: str | None
    hypotheses: tuple[Hypothesis, ...]
    target: str


@dataclass(frozen=True)
class Lemma:
    """A goal restated with accessible names: ``binders`` and ``target`` elaborate as written."""

    universes: tuple[str, ...]
    binders: tuple[str, ...]
    target: str
    renamed: dict[str, str] = field(default_factory=dict)  # inaccessible name -> fresh name


@dataclass(frozen=True)
class Declined:
    reason: str


def split_top_level(text: str, sep: str) -> tuple[str, str | None]:
    """``text`` cut at the first ``sep`` outside brackets: ``p = { x := 1 }`` has none."""
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and text.startswith(sep, i):
            return text[:i], text[i + len(sep) :]
        i += 1
    return text, None


def split_goals(text: str) -> list[str]:
    """Several goals as Lean prints them in a message: separated by a blank line."""
    return [g.strip("\n") for g in re.split(r"\n\s*\n", text) if "⊢" in g]


def parse_goal(goal: str) -> Goal | None:
    """One goal; ``None`` when there is no ``⊢`` line or a hypothesis has no ``:``."""
    lines = goal.strip("\n").split("\n")
    case = None
    if lines and lines[0].startswith("case "):
        case = lines[0][5:].strip()
        lines = lines[1:]
    turnstile = next((i for i, line in enumerate(lines) if line.startswith("⊢")), None)
    if turnstile is None:
        return None
    tail = lines[turnstile + 1 :]
    if "" in tail:  # a blank line: another goal follows; this one ends here
        tail = tail[: tail.index("")]
    target = " ".join([lines[turnstile][1:].strip()] + [x.strip() for x in tail])
    raw: list[str] = []
    for line in lines[:turnstile]:
        if line.startswith((" ", "\t")) and raw:
            raw[-1] += " " + line.strip()  # a long hypothesis continues on the next line
        elif line.strip():
            raw.append(line.strip())
    hyps = []
    for hyp in raw:
        if hyp.startswith(": "):  # an anonymous hypothesis (older Lean printed `: p`)
            names, typ = "", hyp[2:]
        else:
            names, sep, typ = hyp.partition(" : ")
            if not sep:
                return None
        typ, value = split_top_level(typ, " := ")
        hyps.append(Hypothesis(tuple(names.split()), typ.strip(), value and value.strip()))
    return Goal(case, tuple(hyps), target)


def _fresh(base: str, taken: set[str]) -> str:
    name = base
    while name in taken:
        name += "'"
    taken.add(name)
    return name


def to_lemma(goal: str) -> Lemma | Declined:
    """The goal as binders and a target in which every name is accessible."""
    parsed = parse_goal(goal)
    if parsed is None:
        return Declined("not a goal Lean printed (no `⊢` line, or a hypothesis without a type)")
    if len(split_goals(goal)) > 1:
        return Declined("several goals: one lemma states one goal")
    meta = _METAVAR.search(goal)
    if meta:
        return Declined(
            f"the goal contains the metavariable {meta.group(0)}: Lean has not decided it yet, "
            "so no lemma can state this goal"
        )
    elided = next((h for h in parsed.hypotheses if h.value is not None and "⋯" in h.value), None)
    if elided is not None:
        return Declined(
            f"Lean elided the value of `{' '.join(elided.names)}` (`:= ⋯`): an equation with `⋯` "
            "cannot elaborate, and the lemma without it would not state this goal"
        )
    taken = set(re.findall(r"[^\s()\[\]{}⟨⟩,:]+", goal))
    renamed: dict[str, str] = {}
    for k, hyp in enumerate(parsed.hypotheses):
        names = hyp.names or ("",)
        for i, n in enumerate(names):
            if n == "" or "✝" in n:
                renamed.setdefault(n or f"<anon{k}>", _fresh(f"anon{k}_{i}", taken))

    def sub(text: str) -> str:
        return _INACCESSIBLE.sub(lambda m: renamed.get(m.group(0), m.group(0)), text)

    binders: list[str] = []
    for k, hyp in enumerate(parsed.hypotheses):
        typ = sub(hyp.type)
        fresh = [renamed.get(n or f"<anon{k}>", n) for n in (hyp.names or ("",))]
        referenced = any(
            re.search(r"(?<![\w.'])" + re.escape(n) + r"(?![\w'])", sub(parsed.target))
            or any(n in sub(h.type) for h in parsed.hypotheses if h is not hyp)
            for n in hyp.names
        )
        if hyp.names and all(n.startswith("inst✝") for n in hyp.names) and not referenced:
            binders.extend(f"[{typ}]" for _ in hyp.names)
            continue
        binders.append(f"({' '.join(fresh)} : {typ})")
        if hyp.value is not None:
            for n in fresh:
                eq = _fresh(f"{n}_def", taken)
                binders.append(f"({eq} : {n} = {sub(hyp.value)})")
    universes: list[str] = []
    for m in _UNIVERSE.finditer(goal):
        for u in m.groups():
            if u and u not in universes:
                universes.append(u)
    return Lemma(tuple(universes), tuple(binders), sub(parsed.target), renamed)
