"""Against a real Lean toolchain: runs wherever `lake` is on PATH, skipped (with the reason
printed by `pytest -rs`) elsewhere."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import sidecar_command
from tests.lsp_helpers import holes, initialize, open_doc

LAKE = shutil.which("lake")
pytestmark = [
    pytest.mark.lean,
    pytest.mark.skipif(LAKE is None, reason="no Lean toolchain: `lake` is not on PATH"),
]

TEXT = """theorem term_mode (n : Nat) : n + 0 = n := sorry

theorem tactic_mode (a b : Nat) (h : a ≤ b) : a < b + 1 := by
  sorry

theorem two (x : Nat) : x = x ∧ True := by
  constructor
  · have h : x = x := by sorry
    exact h
  · sorry

theorem bad (a b : Nat) (h : a < b) : b < a := by
  omega
"""


@pytest.fixture(scope="module")
def lean_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real")
    subprocess.run([LAKE or "lake", "new", "Demo"], cwd=root, check=True, capture_output=True)
    return root / "Demo"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=sidecar_command(["lean", "--server"])))
async def client(lsp_client: LanguageClient):
    yield lsp_client


async def test_real_lean_holes(client: LanguageClient, lean_project: Path) -> None:
    await initialize(client, lean_project)
    path = lean_project / "Holes.lean"
    path.write_text(TEXT, encoding="utf-8")
    uri = open_doc(client, path)
    result = await holes(client, uri, timeout=300)
    kinds = [(h["kind"], h["declaration"]) for h in result["holes"]]
    assert kinds.count(("sorry", "two")) == 2
    assert ("sorry", "term_mode") in kinds and ("sorry", "tactic_mode") in kinds
    assert ("failingTactic", "bad") in kinds
    by_decl = {h["declaration"]: h for h in result["holes"] if h["kind"] == "sorry"}
    assert by_decl["tactic_mode"]["goal"].endswith("⊢ a < b + 1")
    assert by_decl["term_mode"]["goal"].endswith("⊢ n + 0 = n")
    await client.shutdown_session()
