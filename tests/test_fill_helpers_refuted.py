"""`lean-sidecar fill` with a proof that needs a helper lemma (written above the declaration,
re-checked with it) and with a false statement (told, exit 1, no endpoint request)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from lean_bridge.candidate_filter import Verdict
from lean_bridge.hole_fill import checkable
from lean_bridge.hole_site import HoleSite
from lean_bridge.holes import TextModel
from lean_sidecar.prover.helpers import fresh_name
from lean_sidecar.search.engine import Found, HoleResult
from lean_sidecar.search.fill_file import FileHole, assemble
from tests.conftest import CHECKOUT_PYTHONPATH, PROJECT, ROOT
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain
from tests.test_search_wiring import HELPER, USES, helper_answer, helper_facts


def fill(
    tmp: Path, facts: dict[str, Any], name: str, text: str, endpoint: str
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``lean-sidecar fill --write`` on a project file, the stand-in REPL knowing ``facts``."""
    (tmp / "facts.json").write_text(json.dumps(facts))
    lake, repl_dir = make_toolchain(tmp / "tc", tmp / "facts.json")
    project = tmp / "proj"
    project.mkdir()
    shutil.copy(PROJECT / "lean-toolchain", project / "lean-toolchain")
    target = project / name
    target.write_text(text)
    cmd = [sys.executable, "-m", "lean_sidecar", "fill", str(target), "--write", "--quiet"]
    cmd += ["--lake-path", str(lake), "--repl-path", str(repl_dir), "--endpoint", endpoint]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": CHECKOUT_PYTHONPATH,
        "LEAN_SIDECAR_CACHE_PATH": str(tmp / "cache.sqlite"),
        "LEAN_SIDECAR_TACTICS": "rfl,omega",
        "HOME": str(tmp),
    }
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    return target, done


def test_fill_writes_the_helper_above_the_declaration(tmp_path: Path) -> None:
    text = f"import Mathlib\n\n{USES}\n  sorry\n"
    fresh = fresh_name("my_helper", HELPER, text)
    facts = helper_facts()
    facts["proofs"]["(n : ℕ) : n ≤ n * n + 1 + 0"] = {"accepted": [f"by simpa using {fresh} n"]}
    script = [{"match": "theorem uses", "responses": [{"texts": [helper_answer()]}]}]
    url = StandInEndpoint(script=script).start_in_thread()
    target, done = fill(tmp_path, facts, "Uses.lean", text, url)
    assert done.returncode == 0, done.stdout + done.stderr
    written = target.read_text()
    helper = HELPER.replace("my_helper", fresh)
    assert written == f"import Mathlib\n\n{helper}\n\n{USES}\n  simpa using {fresh} n\n"


def test_fill_says_the_goal_is_false_and_asks_no_model(tmp_path: Path) -> None:
    text = "import Mathlib\n\ntheorem bad (n : ℕ) : n + 1 = n := by\n  sorry\n"
    facts = {
        "proofs": {
            ": ¬(∀ (n : ℕ), n + 1 = n)": {"accepted": ["by omega"]},
            "(n : ℕ) : n + 1 = n": {
                "error": "omega could not prove the goal",
                "goal": "n : ℕ\n⊢ n + 1 = n",  # what Lean reports for the sorry
            },
        }
    }
    ep = StandInEndpoint(script=[])
    url = ep.start_in_thread()
    target, done = fill(tmp_path, facts, "Bad.lean", text, url)
    assert done.returncode == 1, done.stdout + done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("bad:"))
    assert row.split()[1] == "refuted"
    assert row.rstrip().endswith(
        "the goal is false (Lean proved its negation: "
        "theorem sidecar_negation : ¬(∀ (n : ℕ), n + 1 = n) := by omega)"
    )
    assert ep.generation_requests() == []
    assert target.read_text() == text  # nothing written


class RecordingVerifier:
    def __init__(self) -> None:
        self.checked: list[str] = []
        self.helpers: list[int] = []

    async def check_declaration(self, text: str, decl: Any, helpers: int = 0) -> Verdict:
        self.checked.append(checkable(text, decl, 0)[0])
        self.helpers.append(helpers)  # how many helpers Lean's parse of record must show
        return Verdict(True)


async def test_the_whole_declaration_recheck_includes_the_helpers() -> None:
    helper = "lemma sidecar_aux_h (n : ℕ) : n = n := by\n  rfl"
    text = "theorem two (n : ℕ) : n = n ∧ True := by\n  constructor\n  · sorry\n  · sorry\n"
    model = TextModel(text)
    (decl,) = model.declarations
    first, second = text.index("sorry"), text.rindex("sorry")
    rows = []
    for at, found in (
        (first, Found("exact sidecar_aux_h n", "model", 0.1, helpers=helper)),
        (second, Found("trivial", "tactic", 0.1)),
    ):
        other = second if at == first else first
        site = HoleSite.at(text, at, mode="tactic")
        assert site is not None and site.other_holes == ((other, other + 5),)
        row = FileHole(site, 1, "two", None)
        row.result = HoleResult(found=[found], status="solved")
        rows.append(row)
    verifier = RecordingVerifier()
    out = await assemble(text, rows, verifier)  # type: ignore[arg-type]
    body = text.replace("· sorry\n  · sorry", "· exact sidecar_aux_h n\n  · trivial")
    assert out == f"{helper}\n\n{body}"
    (checked,) = verifier.checked  # the helpers and the declaration, in one command
    assert checked.startswith(helper + "\n\ntheorem two") and "trivial" in checked
    assert verifier.helpers == [1]


async def test_helpers_that_are_not_declarations_are_not_written() -> None:
    text = "theorem one : True := by\n  sorry\n"
    site = HoleSite.at(text, text.index("sorry"), mode="tactic")
    assert site is not None
    row = FileHole(site, 2, "one", None)
    row.result = HoleResult(
        found=[Found("trivial", "model", 0.1, helpers="#eval 1")], status="solved"
    )
    out = await assemble(text, [row], RecordingVerifier())  # type: ignore[arg-type]
    assert out == text and row.result.status == "refused"
    assert dataclasses.asdict(row.result)["error"].startswith("edit refused")
