"""Red team, issue 18: answers crafted to make our reading of Lean's text differ from Lean's.

Each class has several candidates of our own. Each is refused by the text gate where the text
alone shows it, and — with the gate bypassed, as if a construct had slipped past it — by the
parse of record: the stand-in REPL reads the checked text with its own tokenizer written from
Lean's rules (tests/standins/lean_syntax.py) and answers the info tree Lean would, and the
verifier refuses unless Lean elaborated exactly the expected declarations.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_bridge.candidate_filter import check_candidate, check_declaration_text
from lean_bridge.hole_fill import fill
from lean_bridge.lean_lexer import idents
from lean_bridge.verifier import Verifier
from lean_sidecar.prover.helpers import Helpers
from lean_sidecar.search.helper_site import gate_helpers, with_helpers
from tests.search_helpers import make_pool, repl_received, site_and_task
from tests.standins import lean_syntax
from tests.test_verifier import ONE, FakePool, depends, simulated

EVIL = 'IO.Process.output {cmd := "sh", args := #["-c", "id"]}'

# 1. Lexer desynchronisation: where a reader of Python's `\w` sees a string and then a comment,
# Lean sees a char literal (after a token character), a string, then code.
DESYNC = [
    f'exact foo λ\'"\' "/-"\n#eval {EVIL}\n-- "',
    f'exact v +ᵥ\'"\' "/-"\n#eval {EVIL}\n-- "',
    f'exact (s)ᶜ\'"\' "/-" #eval {EVIL} -- "',
    'simp λ\'"\' "/-"\ninstance : LE Nat := ⟨fun _ _ => True⟩ --"',
    f"exact h /-- a doc comment in a proof -/\n#eval {EVIL}",
    f"exact h\n/-! module doc -/ #eval {EVIL}",
]
# 2. Glued keywords: one word to a reader of Python's `\w`, two tokens to Lean.
GLUED = [
    "exact (s)ᶜinstance : LE Nat := ⟨fun _ _ => True⟩",
    "exact hᶜattribute [simp] Nat.add_comm",
    'exact Aᵀnotation "x" => 1',
    "exact aˣaxiom ax : False",
    "exact sᵒᵈaxiom ax : False",
    "exact ?theorem cheat : False := by simp",
    "exact 1instance : LE Nat := ⟨fun _ _ => True⟩",
    "exact λinstance : LE Nat := ⟨fun _ _ => True⟩",
]
# 3. An audit the answer controls: a helper hides an axiom and redefines `#print axioms`.
SPOOF = (
    "axiom ax : False\n\n"
    "elab_rules : command | `(#print axioms $n) => Lean.logInfo m!\"'{n}' does not depend on "
    'any axioms"\n\n'
    "theorem sidecar_aux_1 : False := ax"
)
# 5. Reaching outside: services, processes, elaboration-time evaluation of model terms.
OUTSIDE = [
    "polyrith",
    "by\n  nlinarith [sq_nonneg x]\n  polyrith",
    "exact eval% (2 + 2)",
    'exact (eval%(IO.getEnv "HOME"))',
    "simp (config := (default : Simp.Config))",
    "decide (config := { kernel := (fun _ => true) () })",
    "smt [h]",
    "auto",
]


# Where a symbol token of Lean's (`<-`, `//`, `\/`, Mathlib's `∑'`) swallows what a reader took
# for a comment start or a char literal, or a string gap Lean stops at: Lean's error recovery
# then reads on as code (found by red-teaming the gate).
RECOVERY = [
    "exact h <-- #eval IO.println 1",
    "rw [<--  #eval IO.println 1\n  h]",
    "exact h //- #eval IO.println 1 -- -/",
    "exact h \\/- #eval IO.println 1 -- -/",
    "simp\n  exact h <-- instance : Foo := sorry",
    "exact h ∑'('-- #eval IO.println 1",
    'exact h "a\\\n\n  b" -- " #eval IO.println 1',
]
RECOVERY_GATE_ONLY = [  # refused before Lean; what Lean would do depends on the imports
    # (second round) where the file lacks Mathlib's token, Lean reads a char literal from its
    # second `'` and resumes two characters on: inside what a reader took for a comment
    "exact h '' -- #eval IO.println 1",
    "exact h ''\n-- #eval IO.println 1",
    "exact h ⁻¹' -- #eval IO.println 1",
    "rw [∑' -- #eval IO.println 1\n  ]",
    'exact h \'\' "x" -- " #eval IO.println 1',
    "exact h '' /- \n#eval IO.println 1\n-/",
    "exact h ∏'(')-- #eval IO.println 1",
    "exact h ∑'('xyaxiom boom : False",
    "exact h ''-- #eval IO.println 1",
    "exact h ''xyaxiom boom : False",
    "⁻¹'-- #eval IO.println 1",
]
# Text whose reading depends on what the gate cannot know: refused rather than guessed.
UNREADABLE = [
    'exact "\\q" -- invalid escape: Lean errors there and recovers',
    "exact 'ab' -- a malformed char literal",
    'exact é\'"\' "/-" -- é: an identifier character only in newer Lean',
    "exact «unterminated name",
    "exact r#x",
]


@pytest.mark.parametrize(
    "candidate", DESYNC + GLUED + OUTSIDE + UNREADABLE + RECOVERY + RECOVERY_GATE_ONLY
)
def test_the_text_gate_refuses_what_the_text_shows(candidate: str) -> None:
    assert not check_candidate(candidate).ok, candidate


def test_an_audit_spoof_is_refused_by_the_gate() -> None:
    assert not check_declaration_text(
        SPOOF + "\n\ntheorem t : False := by exact x", max_declarations=4
    ).ok


async def _bypassed(script: str, audit: str = "target") -> str:
    """The verifier's reason for ``script`` in ONE's hole with the gate bypassed, against
    simulated Lean whose audit says the declaration uses no axiom at all."""
    lean = simulated([depends(audit)])
    fake = FakePool(lean)
    site = site_and_task(ONE, 1, None)[0]
    v = await Verifier(fake).check_filled(  # type: ignore[arg-type]
        site, fill(site.text, site.start, site.end, script, site.mode)
    )
    assert not v.ok
    return v.reason or ""


@pytest.mark.parametrize("candidate", DESYNC[:4] + GLUED + RECOVERY)
async def test_the_parse_of_record_refuses_what_slipped_past_the_gate(candidate: str) -> None:
    reason = await _bypassed(candidate)
    assert "Lean parsed" in reason or "Lean reads code" in reason, reason


async def test_a_doc_comment_that_hides_nothing_is_still_a_command_to_lean() -> None:
    reason = await _bypassed(DESYNC[4])
    assert "commands where 1 were expected" in reason, reason


async def test_the_spoofed_audit_is_never_read(tmp_path: Path) -> None:
    """End to end through lean-interact and the stand-in REPL process, which honours the
    answer's override of `#print axioms` (it would report no axioms): the parse of record
    refuses first, so the spoofed report is never trusted."""
    pool = make_pool(tmp_path)
    try:
        site = site_and_task(ONE, 1, None)[0]
        site2 = with_helpers(site, Helpers(SPOOF, 2, ""))
        filled = fill(site2.text, site2.start, site2.end, "exact (sidecar_aux_1).elim", site2.mode)
        v = await Verifier(pool).check_filled(site2, filled)
        assert not v.ok and "Lean parsed" in (v.reason or ""), v.reason
        sent = [r for r in repl_received(pool) if "cmd" in r]
        assert any(r.get("infotree") == "full" for r in sent)
        # The audit did run, and the stand-in did answer with the spoof: it was not read.
        audits = [r for r in sent if r["cmd"].startswith("#print axioms")]
        assert audits and audits[-1]["cmd"] == "#print axioms target"
        decl_text = next(r["cmd"] for r in sent if r.get("infotree") == "full")
        replay = await pool.commands(site2.text[: site2.decl.start], [decl_text, audits[-1]["cmd"]])
        (report,) = replay[-1].lean_messages
        assert report.data == "'target' does not depend on any axioms"  # the spoof, unread
    finally:
        await pool.close()


LEGITIMATE = [
    "rw [tsum_eq]\n  show ∑' n, f n = 0",
    "simp only [Set.image] at *\n  show f '' s = t",
    "exact h.auto",
    "norm_num [Nat.mod_eq] at h ⊢\n  exact (abc%2)",
    "rw [← h] -- the comment after a space",
    "exact ⟨h, by simp⟩-- a comment after a bracket",
    "rw [hcos0'']\n  exact ⟨c, hfc''⟩",  # primes of an identifier are not Mathlib's `''`
    "nlinarith [sq_nonneg (z1 - z3), sq_nonneg (z2 - z3)]",  # `z3` is a name, not a solver
]


@pytest.mark.parametrize("proof", LEGITIMATE)
def test_what_real_proofs_write_still_passes(proof: str) -> None:
    assert check_candidate(proof).ok, check_candidate(proof).reason


HONEST_HELPERS = [
    "theorem sidecar_aux_1 (n : Nat) :\n    n = n := by\n  rfl",
    # binders that wrap deeper than the body (refused by the layout rule before)
    "theorem sidecar_aux_1\n    (n : Nat) :\n    n = n := by\n  rfl",
    # `open X in` before a helper, gated like the helper (refused as a command before)
    "open Nat in\ntheorem sidecar_aux_1 (n : Nat) : n = n := by\n  rfl",
]


@pytest.mark.parametrize("helper", HONEST_HELPERS)
async def test_no_legitimate_helper_is_lost(helper: str) -> None:
    """Passes the gate (the helper's tail and the final text) and the parse of record."""
    site = site_and_task(ONE, 1, None)[0]
    helpers = Helpers(helper, 1, "")
    assert gate_helpers(site, helpers, "exact sidecar_aux_1 n", False, 100_000).ok
    site2 = with_helpers(site, helpers)
    filled = fill(site2.text, site2.start, site2.end, "exact sidecar_aux_1 n", site2.mode)
    fake = FakePool(simulated([depends("target")]))
    v = await Verifier(fake).check_filled(site2, filled)  # type: ignore[arg-type]
    assert v.ok, v.reason


def test_open_in_before_a_helper_is_gated_like_the_helper() -> None:
    site = site_and_task(ONE, 1, None)[0]
    for bad in (
        "open private Nat in",
        "open scoped Nat in",
        "open Nat hiding add in",
        "open IO.FS in",  # would make `removeFile` a bare name in the helper's statement
        "open Lean Elab in",
    ):
        helper = f"{bad}\ntheorem sidecar_aux_1 (n : Nat) : n = n := by\n  rfl"
        assert not gate_helpers(site, Helpers(helper, 1, ""), "rfl", False, 100_000).ok, bad
    wrapped = "theorem sidecar_aux_1\n    (n : Nat) :\n    n = n := by\nrfl"  # column 0: a command
    assert not gate_helpers(site, Helpers(wrapped, 1, ""), "rfl", False, 100_000).ok


@pytest.mark.parametrize(
    "tail",
    [
        "@[implemented_by IO.Process.exit]",
        "@[simp]",
        "@[csimp]",
        "open IO.FS in",
        "private",
        "noncomputable",
        "set_option maxHeartbeats 4000000 in",
    ],
)
def test_nothing_after_the_last_helper_can_attach_to_the_users_declaration(tail: str) -> None:
    site = site_and_task(ONE, 1, None)[0]
    helper = "theorem sidecar_aux_1 (n : Nat) : n = n := by\n  rfl\n\n" + tail
    assert not gate_helpers(site, Helpers(helper, 1, ""), "rfl", False, 100_000).ok


def test_a_helper_that_evaluates_its_statement_is_refused() -> None:
    site = site_and_task(ONE, 1, None)[0]
    helper = (
        'theorem sidecar_aux_1 : (match (removeFile "/tmp/x").run () with\n'
        "    | .ok _ _ => true | .error _ _ => true) = true := by\n  plausible"
    )
    verdict = gate_helpers(site, Helpers(helper, 1, ""), "rfl", False, 100_000)
    assert not verdict.ok and "plausible" in (verdict.reason or "")


async def test_a_repl_without_an_info_tree_is_refused() -> None:
    class Silent(FakePool):
        async def commands(self, prefix, cmds, *, infotree=frozenset()):  # type: ignore[no-untyped-def]
            return [self.lean(c) for c in cmds]

    site = site_and_task(ONE, 1, None)[0]
    v = await Verifier(Silent(simulated([depends("target")]))).check_filled(  # type: ignore[arg-type]
        site, fill(site.text, site.start, site.end, "rfl", site.mode)
    )
    assert not v.ok and "no info tree" in (v.reason or "")


# 4. Property tests: generated token mixes around the characters where Python and Lean differ.
TRICKY = ["λ", "Π", "Σ", "ᶜ", "ᵀ", "ˣ", "ᵥ", "·", "₁", "ℕ", "α", "'", '"', "/-", "-/", "/--",
          "--", "«", "»", "\n", " ", "x", "1", "?", "!", "theorem", "instance", "#eval", "r#\"",
          "\\", "{", "}", "s!", "<-", "/", "∑'", "''", "(", "\\\n"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), max_size=30))
def test_every_command_lean_would_see_is_seen_by_the_gate(parts: list[str]) -> None:
    """Whatever the mix, if Lean's tokenizer (the stand-in's, from Lean's rules) finds a command
    keyword or a `#` command after the proof starts, the gate refuses the candidate."""
    candidate = "exact h " + "".join(parts)
    if not check_candidate(candidate).ok:
        return
    text = "theorem t : P := by\n  " + candidate
    commands = lean_syntax.split_commands(text)
    assert len(commands) == 1, (candidate, [c.tokens[0].text for c in commands])
    hidden = [t.text for t in lean_syntax.tokenize(text)[1:] if t.text.startswith("#")]
    assert not hidden, candidate


CODE_ONLY = ["λ", "Π", "Σ", "ᶜ", "ᵀ", "ˣ", "ᵥ", "·", "₁", "ℕ", "α", "x", "1", "?", "!", " ",
             "theorem", "instance", ".", "_", "0x", "e", "h'"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CODE_ONLY), max_size=30))
def test_our_identifiers_are_lean_identifiers(parts: list[str]) -> None:
    """On code (no comment or literal), the gate's identifier tokens are exactly those of a
    tokenizer written from Lean's rules: `λ`, `ᶜ`, `·` end an identifier, a digit starts a
    number, subscripts and `'` continue one."""
    text = "".join(parts)
    ours = [(m.start(), m.group(0)) for m in idents(text)]
    lean = [(t.start, t.text) for t in lean_syntax.tokenize(text) if t.kind in ("ident", "keyword")]
    assert ours == lean, text


PREFIX = "import Mathlib\n\ntheorem helper : True := trivial\n"


async def test_a_pickled_environment_rewritten_after_it_was_written_is_not_loaded(
    tmp_path: Path,
) -> None:
    """All REPLs of a pool write their pickled prefixes into one folder; one taken over by a
    candidate could rewrite a pickle the others load. The sidecar copies what an untainted REPL
    wrote into a folder REPLs cannot write (in the sandbox), with its hash: a rewritten pickle
    is never loaded, and a copy whose hash no longer matches is elaborated again."""
    for tamper in ("nothing", "the REPLs' folder", "the verified copy"):
        pool = make_pool(tmp_path / tamper.replace(" ", "_"), size=1)
        try:
            await pool.command(PREFIX, "example : True := trivial")
            assert pool.prefix_elaborations == 1
            policy = pool._policy()
            assert pool._verified.absolute() in policy.readable
            assert pool._verified.absolute() not in policy.writable
            (written,) = list(pool._pickles.glob("*.olean"))
            (copy,) = list(pool._verified.glob("*.olean"))
            target = {"the REPLs' folder": written, "the verified copy": copy}.get(tamper)
            if target is not None:
                target.write_text(target.read_text().replace("}", ', "evil": []}', 1))
            await pool._replace(pool._slots[0])  # a fresh REPL: it must load the prefix again
            await pool.command(PREFIX, "example : True := trivial")
            assert pool.prefix_elaborations == (2 if tamper == "the verified copy" else 1)
            loads = [r for r in repl_received(pool) if "unpickleEnvFrom" in r]
            assert all(r["unpickleEnvFrom"] == str(copy) for r in loads)
        finally:
            await pool.close()


def test_the_axiom_allow_list_is_per_lean_version() -> None:
    """Lean 4.35 removed `Lean.ofReduceBool` and `Lean.trustCompiler`: a report naming them
    there is not from that Lean's native evaluation, and is refused even with it allowed."""
    from lean_bridge.axiom_audit import AxiomReport, disallowed_axioms
    from lean_bridge.lean_versions import native_axioms

    old = AxiomReport("t", frozenset({"propext", "Lean.ofReduceBool"}))
    new = AxiomReport("t", frozenset({"propext", "t._native.native_decide.ax_1_1"}))
    for version, old_ok in (
        ((4, 24, 0), True),
        ((4, 34, 1), True),
        ((4, 35, 0), False),
        (None, True),
    ):
        allowed = native_axioms(version)
        bad_old = disallowed_axioms(old, allow_native_decide=True, native_axioms=allowed)
        assert (not bad_old) == old_ok, version
        assert not disallowed_axioms(new, allow_native_decide=True, native_axioms=allowed)
        assert disallowed_axioms(old, allow_native_decide=False, native_axioms=allowed)


async def test_the_stand_in_repl_answers_as_lean_does_on_the_verifiers_paths(
    tmp_path: Path,
) -> None:
    """Each behaviour cites the real transcript it reproduces (shared/lean-transcripts/repl-test):
    a declaration behind `set_option … in` or `unsafe` still reports its sorry (have_by_sorry:
    sorries are reported per `sorry` token, wherever the declaration starts); a `sorry` in a
    comment is no sorry (comments are whitespace to Lean's tokenizer); a tactic Lean cannot parse
    is a top-level `Lean error` (unknown_tactic); a declaration it knows nothing of is not
    accepted (unknown means refused), while a file's header command elaborates as it is."""
    from lean_bridge.repl_pool import session

    pool = make_pool(tmp_path, size=1)
    try:
        hidden = await pool.command(
            "", "set_option maxHeartbeats 400 in\ntheorem h : 1 = 1 := by sorry"
        )
        assert len(hidden.lean_sorries) == 1, hidden
        unsafe = await pool.command("", "unsafe example : 1 = 1 := by sorry")
        assert len(unsafe.lean_sorries) == 1
        comment = await pool.command("", "theorem c : True := by\n  -- sorry\n  trivial")
        assert not comment.lean_sorries
        unknown = await pool.command("", "theorem neg_rfl : ¬ (2 = 2) := by rfl")
        assert unknown.lean_errors(), "a declaration without facts must not be accepted"
        header = await pool.command("", "import Mathlib\n\ntheorem helper : True := trivial")
        assert not header.lean_errors()
        async with session(pool) as s:
            res = await s.command("", "theorem t (x : Nat) : x = x := by sorry")
            state = res.lean_sorries[0].proof_state
            assert state is not None
            step = await s.tactic(state, "exat 42")
            assert step.error == "Lean error:\n<input>:1:1: unknown tactic"
    finally:
        await pool.close()


def test_the_stand_ins_parse_of_record_is_lean_s_own_shape() -> None:
    """The stand-in's top-level info tree for the REPL's own test (`infotree_theorem.in`, asked
    with `"infotree": "full"`) has Lean's commands: the same kinds, ranges, `argKinds`,
    elaborators and the `declId` that names the declaration."""
    import json as _json

    from tests.conftest import ROOT

    base = ROOT.parent / "shared" / "lean-transcripts" / "repl-test" / "infotree_theorem"
    if not base.with_suffix(".in").exists():
        pytest.skip(f"the REPL's transcripts are not at {base.parent}")
    request = _json.loads(base.with_suffix(".in").read_text())
    assert request["infotree"] == "full"
    real = _json.loads(base.with_suffix(".expected.out").read_text())["infotree"]
    ours = lean_syntax.info_tree(request["cmd"])

    def top(trees: list[dict]) -> list[tuple]:  # type: ignore[type-arg]
        return [
            (x["kind"], x["node"]["stx"]["kind"], _json.dumps(x["node"]["stx"]["range"]),
             x["node"]["stx"]["argKinds"], x["node"]["elaborator"])
            for x in trees
        ]  # fmt: skip

    def decl_ids(tree: dict) -> list[tuple]:  # type: ignore[type-arg]
        return [
            (c["node"]["stx"]["pp"], _json.dumps(c["node"]["stx"]["range"]))
            for c in tree["children"]
            if c["node"] and c["node"]["stx"]["kind"] == "Lean.Parser.Command.declId"
        ]

    assert top(ours) == top(real)
    assert decl_ids(ours[0]) == decl_ids(real[0])
