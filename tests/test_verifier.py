"""Verification through lean-interact's real code path, against the stand-in REPL; and the
axiom audit's decisions on simulated Lean answers for each way of spoofing it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lean_interact.interface import InfoTree, Message

from lean_bridge.axiom_audit import audit_report
from lean_bridge.declarations import find_declarations
from lean_bridge.hole_fill import fill
from lean_bridge.hole_site import HoleSite
from lean_bridge.repl_pool import ReplPool, ReplSettings, ReplUnavailable
from lean_bridge.repl_results import CommandResult
from lean_bridge.verifier import Verifier
from tests.conftest import PROJECT
from tests.search_helpers import make_pool, repl_received, site_and_task
from tests.standins.lean_syntax import info_tree
from tests.standins.toolchain import make_toolchain

FACTS = PROJECT / "repl_facts.json"
TEXT = """import Mathlib

theorem tactic_mode (a b : Nat) (h : a ≤ b) : a < b + 1 := by
  sorry

theorem term_mode (n : Nat) : n + 0 = n := sorry

theorem with_have (x : Nat) (h : 0 < x) : 1 ≤ x * x := by
  have hx : 1 ≤ x := by sorry
  calc 1 ≤ x := hx
    _ ≤ x * x := by sorry

example : 2 + 2 = 4 := by sorry
"""


def site(text: str, nth: int) -> HoleSite:
    return site_and_task(text, nth, None)[0]


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[ReplPool]:
    p = make_pool(tmp_path, FACTS, size=2, timeout=5)
    # The stand-in logs every request to a file beside the test; the REPL's sandbox lets it
    # write only where it is told to.
    p.settings.sandbox_writable = (tmp_path,)
    yield p
    await p.close()


async def test_good_proof_is_verified_and_bad_ones_are_not(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 0)
    assert s.mode == "tactic"
    good = await v.check(s, "omega")
    assert good.ok, good.reason
    assert good.filled_text is not None and "  omega\n" in good.filled_text
    bad = await v.check(s, "linarith")
    assert not bad.ok and bad.errors and "linarith failed" in bad.errors[0].data
    multi = await v.check(s, "have h2 : a < b + 1 := by omega\nexact h2")
    assert multi.ok, multi.reason


async def test_term_holes_take_by_blocks(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 1)
    assert s.mode == "term"
    assert (await v.check(s, "simp")).ok


async def test_axiom_audit_refuses_native_decide_by_default(pool: ReplPool) -> None:
    s = site(TEXT, 4)
    assert (await Verifier(pool).check(s, "decide")).ok
    refused = await Verifier(pool).check(s, "native_decide")
    assert not refused.ok and refused.filtered  # never reached the REPL
    assert not any("native_decide" in r.get("cmd", "") for r in repl_received(pool))
    allowed = Verifier(pool, allow_native_decide=True)
    assert (await allowed.check(s, "native_decide")).ok


async def test_malicious_candidates_never_reach_the_repl(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 0)
    for script in [
        "sorry",
        "#eval 1",
        "run_cmd pure ()",
        "exact sorryAx _ false",
        "admit",
        "set_option debug.skipKernelTC true in omega",
        "omega\n\naxiom cheat : False",
    ]:
        verdict = await v.check(s, script)
        assert not verdict.ok and verdict.filtered, script
    assert not any(
        word in r.get("cmd", "")
        for r in repl_received(pool)
        for word in ("#eval", "run_cmd", "sorryAx", "admit", "skipKernelTC", "axiom cheat")
    )


async def test_prefix_is_elaborated_once_for_many_candidates(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 0)
    for script in ["omega", "linarith", "simp", "exact Nat.lt_succ_of_le h", "decide", "norm_num"]:
        await v.check(s, script)
    assert pool.prefix_elaborations == 1
    prefix_runs = [r for r in repl_received(pool) if r.get("cmd", "").startswith("import Mathlib")]
    assert len(prefix_runs) == 1
    assert (
        sum("unpickleEnvFrom" in r for r in repl_received(pool)) == 1
    )  # the second REPL of the pool


async def test_a_hanging_or_dying_repl_is_replaced(pool: ReplPool) -> None:
    v = Verifier(pool)
    s = site(TEXT, 0)
    slow = await v.check(s, "slow_tactic")
    assert not slow.ok and "timed out" in (slow.reason or "")
    crash = await v.check(s, "crash_tactic")
    assert not crash.ok and "died" in (crash.reason or "")
    assert pool.replaced == 2
    assert (await v.check(s, "omega")).ok


async def test_mismatched_repl_toolchain_is_a_clear_error(tmp_path: Path) -> None:
    lake, repl = make_toolchain(tmp_path / "tc", FACTS, lean_version="v4.9.0")
    p = ReplPool(ReplSettings(project_dir=PROJECT, repl_path=repl, lake_path=str(lake)))
    with pytest.raises(ReplUnavailable, match=r"v4\.9\.0.*v4\.24\.0"):
        await p.start()


# ---- the audit on simulated Lean answers ---------------------------------------------------
# Message shapes are the REPL's (see the REPL's own test transcripts): {"severity", "pos",
# "endPos", "data"}; `#print axioms` answers one info message "'<name>' depends on axioms: [...]"
# (long lists wrap after commas) or "'<name>' does not depend on any axioms".


def msg(data: str, severity: str = "info", line: int = 1, column: int = 0) -> Message:
    pos = {"line": line, "column": column}
    return Message.model_validate({"severity": severity, "pos": pos, "endPos": pos, "data": data})


def depends(name: str, *axioms: str) -> Message:
    if not axioms:
        return msg(f"'{name}' does not depend on any axioms")
    wrapped = ",\n ".join(axioms)  # Lean wraps long lists after the commas
    return msg(f"'{name}' depends on axioms: [{wrapped}]")


class FakePool:
    """Answers each command of ``commands`` with what ``lean`` returns for it (a simulated Lean
    REPL); records what was sent."""

    def __init__(self, lean: Callable[[str], CommandResult]) -> None:
        self.lean = lean
        self.sent: list[tuple[str, list[str]]] = []

    async def commands(
        self, prefix: str, cmds: list[str], *, infotree: frozenset[int] = frozenset()
    ) -> list[CommandResult]:
        self.sent.append((prefix, cmds))
        out = [self.lean(c) for c in cmds]
        for k in infotree:  # Lean's parse of record, read as the stand-in REPL reads it
            out[k].infotree = [InfoTree.model_validate(t) for t in info_tree(cmds[k])]
        return out


def simulated(
    audit: list[Message], decl_messages: list[Message] | None = None
) -> Callable[[str], CommandResult]:
    def lean(cmd: str) -> CommandResult:
        if cmd.startswith("#print axioms"):
            return CommandResult(2, audit)
        if cmd.startswith("axiom _root_.sidecarHole_"):
            return CommandResult(1)
        return CommandResult(1, decl_messages or [])

    return lean


ONE = """import Mathlib

theorem helper : False := by
  sorry

theorem target (n : Nat) : n = n := by
  sorry
"""
TWO = """import Mathlib

theorem helper : False := by
  sorry

theorem target (n : Nat) : n = n ∧ True := by
  constructor
  · sorry
  · sorry
"""


async def verdict(
    text: str, nth: int, script: str, lean: Any, gate: bool = True, **kw: Any
) -> tuple[Any, FakePool]:
    """Check ``script`` in hole ``nth`` of ``text`` against simulated Lean; ``gate=False``
    skips the candidate gate, as if a construct had slipped past it."""
    fake = FakePool(lean)
    v = Verifier(fake, **kw)  # type: ignore[arg-type]
    s = site_and_task(text, nth, None)[0]
    if gate:
        return await v.check(s, script), fake
    return await v.check_filled(s, fill(s.text, s.start, s.end, script, s.mode)), fake


async def test_audit_is_its_own_command_on_the_qualified_name() -> None:
    ok, fake = await verdict(ONE, 1, "rfl", simulated([depends("target", "propext")]))
    assert ok.ok, ok.reason
    prefix, cmds = fake.sent[0]
    assert cmds[-1] == "#print axioms target"
    assert "#print" not in cmds[0] and cmds[0].startswith("theorem target")
    text = ONE.replace("import Mathlib\n", "import Mathlib\nnamespace A.B\nsection\n", 1)
    text = text.replace("theorem target", "end\nnamespace C\nend C\ntheorem target")
    _, fake = await verdict(text, 1, "rfl", simulated([depends("A.B.target")]))
    assert fake.sent[0][1][-1] == "#print axioms A.B.target"


async def test_a_printed_imitation_of_a_report_is_not_read() -> None:
    """The candidate's `trace`/`logInfo` lines live in the declaration's command, never in the
    audit's: the real report (with sorryAx) decides."""
    fake_line = msg("'target' does not depend on any axioms", line=7, column=2)
    lean = simulated([depends("target", "sorryAx")], decl_messages=[fake_line])
    fake_trace = "trace \"'target' does not depend on any axioms\""
    v, _ = await verdict(ONE, 1, fake_trace, lean, gate=False)
    assert not v.ok and "sorryAx" in (v.reason or "")


async def test_a_decoy_namespace_cannot_redirect_the_audit() -> None:
    decoy = "trivial\nnamespace Decoy\ntheorem target : True := trivial"
    lean = simulated([depends("Decoy.target")])
    v, fake = await verdict(ONE, 1, decoy, lean, gate=False)
    # Lean's parse of record shows the namespace and the decoy: refused before the audit is read.
    assert not v.ok and "namespace" in (v.reason or "") and "3 commands" in (v.reason or "")
    assert fake.sent[0][1][-1] == "#print axioms target"
    # And the audit alone would still refuse the decoy's report.
    report, why = audit_report([("info", "'Decoy.target' depends on axioms: []")], "target")
    assert report is None and "Decoy.target" in (why or "")


@pytest.mark.parametrize(
    "audit",
    [
        [],
        [depends("target"), depends("target")],
        [msg("'target' does not depend on any axioms\n'x' depends on axioms: [sorryAx]")],
        [depends("target", "propext"), msg("unknown constant", "error")],
        [msg("'target' does not depend on any axioms", "warning")],
        [msg("cannot use `#print axioms` in a `module`", "error")],
    ],
)
async def test_only_a_single_matching_report_counts(audit: list[Message]) -> None:
    v, _ = await verdict(ONE, 1, "rfl", simulated(audit))
    assert not v.ok


async def test_sorry_from_an_unproved_lemma_is_refused_while_other_holes_are_marked() -> None:
    lean = simulated([depends("target", "propext", "sorryAx")])
    v, fake = await verdict(TWO, 1, "exact absurd helper (by decide)", lean, gate=False)
    assert not v.ok and "sorryAx" in (v.reason or "")
    preamble, decl = fake.sent[0][1][0], fake.sent[0][1][1]
    marker = preamble.split()[1].split(".{")[0].removeprefix("_root_.")
    assert preamble == f"axiom _root_.{marker}.{{u}} {{α : Sort u}} : α"
    assert marker.startswith("sidecarHole_") and len(marker) > len("sidecarHole_") + 8
    assert "sorry" not in decl and f"· exact {marker}" in decl  # the other hole, marked
    # The same shape whose only non-standard axiom is this check's marker is a proof here.
    good, fake2 = await verdict(TWO, 1, "trivial", marker_lean())
    assert good.ok, good.reason
    assert fake2.sent[0][1][0] != preamble  # a fresh marker per check: no candidate can name it


def marker_lean() -> Callable[[str], CommandResult]:
    """Simulated Lean whose report lists the marker the preamble declared (as Lean would)."""
    declared: list[str] = []

    def lean(cmd: str) -> CommandResult:
        if cmd.startswith("axiom "):
            declared.append(cmd.split()[1].split(".{")[0].removeprefix("_root_."))
            return CommandResult(1)
        if cmd.startswith("#print axioms"):
            return CommandResult(2, [depends("target", "propext", *declared)])
        return CommandResult(1)

    return lean


async def test_a_marker_of_an_earlier_check_is_not_accepted() -> None:
    lean = simulated([depends("target", "propext", "sidecarHole_0123456789abcdef")])
    v, _ = await verdict(TWO, 1, "trivial", lean)
    assert not v.ok and "sidecarHole_0123456789abcdef" in (v.reason or "")


async def test_sorries_or_a_sorry_warning_in_the_declaration_reject_it() -> None:
    def lean(cmd: str) -> CommandResult:
        if cmd.startswith("#print axioms"):
            return CommandResult(2, [depends("target")])
        warn = msg("declaration uses `sorry`", "warning", 5, 8)
        return CommandResult(1, [warn])

    v, _ = await verdict(ONE, 1, "rfl", lean)
    assert not v.ok and "sorry" in (v.reason or "")


@pytest.mark.parametrize(
    ("axiom", "native_ok"),
    [
        ("Lean.ofReduceBool", True),
        ("Lean.trustCompiler", True),
        ("target._native.native_decide.ax_1_1", True),
        ("helper._native.bv_decide.ax_2_3", True),
        ("sorryAx", False),
        ("Classical.em_cheat", False),
        ("target._native", False),
    ],
)
async def test_native_axioms_only_when_allowed(axiom: str, native_ok: bool) -> None:
    lean = simulated([depends("target", "propext", "Classical.choice", "Quot.sound", axiom)])
    default, _ = await verdict(ONE, 1, "rfl", lean)
    assert not default.ok
    allowed, _ = await verdict(ONE, 1, "rfl", lean, allow_native_decide=True)
    assert allowed.ok is native_ok


async def test_module_files_are_audited_on_a_copy_without_the_header() -> None:
    text = "module\n\npublic import Mathlib\nmeta import Foo\n" + ONE.split("\n", 1)[1]
    v, fake = await verdict(text, 1, "rfl", simulated([depends("target")]))
    assert v.ok, v.reason
    prefix = fake.sent[0][0]
    assert not prefix.lstrip().startswith("module")
    assert "\nimport Mathlib\nimport Foo\n" in prefix and "public" not in prefix


async def test_private_declarations_match_their_mangled_name() -> None:
    text = ONE.replace("theorem target", "private theorem target")
    v, _ = await verdict(text, 1, "rfl", simulated([depends("_private.Foo.0.target")]))
    assert v.ok, v.reason
    v, _ = await verdict(ONE, 1, "rfl", simulated([depends("_private.Foo.0.target")]))
    assert not v.ok


async def test_whole_declaration_recheck_audits_axioms() -> None:
    text = ONE.replace("  sorry\n", "  rfl\n")
    decl = find_declarations(text)[-1]
    for audit, ok in (([depends("target", "sorryAx")], False), ([depends("target")], True)):
        fake = FakePool(simulated(audit))
        v = await Verifier(fake).check_declaration(text, decl)  # type: ignore[arg-type]
        assert v.ok is ok, v.reason
        assert fake.sent[0][1][-1] == "#print axioms target"
