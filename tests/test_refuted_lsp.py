"""A false goal, as an editor sees it: the search ends at once (no request to the endpoint),
the user is told once, and a quick fix shows the counterexample Lean checked, as a comment."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import PROJECT, sidecar_command, standin_lean_command
from tests.lsp_helpers import holes, open_doc
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain
from tests.test_fill_sorry_lsp import actions_at

TEXT = "import Mathlib\n\ntheorem bad (n : ℕ) : n + 1 = n := by\n  sorry\n"
GOAL = "n : ℕ\n⊢ n + 1 = n"
TMP = Path(tempfile.mkdtemp(prefix="lean-sidecar-refuted-"))
LEAN_FACTS = TMP / "lean_facts.json"
LEAN_FACTS.write_text(
    json.dumps(
        {
            "sorryMessage": json.loads((PROJECT / "holes_facts.json").read_text())["sorryMessage"],
            "declarations": {"bad": {"sorries": [{"goal": GOAL}]}},
        }
    )
)
REPL_FACTS = TMP / "repl_facts.json"
REPL_FACTS.write_text(
    json.dumps(
        {
            "proofs": {
                ": ¬(∀ (n : ℕ), n + 1 = n)": {"accepted": ["by omega"]},
                "(n : ℕ) : n + 1 = n": {"error": "omega could not prove the goal", "goal": GOAL},
            }
        }
    )
)
LAKE, REPL = make_toolchain(TMP / "tc", REPL_FACTS, TMP / "repl.log")
NEGATION = "theorem sidecar_negation : ¬(∀ (n : ℕ), n + 1 = n) := by\n  omega"


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=sidecar_command(standin_lean_command(LEAN_FACTS)))
)
async def client(lsp_client: LanguageClient):
    lsp_client.feature("workspace/codeAction/refresh")(lambda _p: None)
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_a_false_goal_is_told_and_its_counterexample_offered(
    client: LanguageClient, tmp_path: Path
) -> None:
    endpoint = StandInEndpoint(script=[])
    url = endpoint.start_in_thread()
    options = {
        "replPath": str(REPL),
        "lakePath": str(LAKE),
        "cachePath": str(tmp_path / "cache.sqlite"),
        "tactics": ["rfl", "omega"],
        "endpoints": [url],
    }
    caps = pytest_lsp.client_capabilities("visual-studio-code")
    client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda _p: None)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=PROJECT.as_uri(),
            initialization_options={"leanSidecar": options},
        )
    )
    path = tmp_path / "Bad.lean"
    path.write_text(TEXT)
    uri = open_doc(client, path)
    await holes(client, uri)
    args = {"uri": uri, "version": 1, "position": {"line": 3, "character": 2}}
    for _ in range(2):  # searched twice: told once
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="leanSidecar.searchProof", arguments=[args])
        )
        assert result["status"] == "refuted" and result["found"] == []
        assert result["error"] == "this goal is false: Lean proved its negation"
        assert result["refuted"] == NEGATION
    ends = [r.message for rs in client.progress_reports.values() for r in rs if r.kind == "end"]
    assert "this goal is false: Lean proved its negation" in ends
    told = [m for m in client.messages if "this goal is false" in m.message]
    assert len(told) == 1 and told[0].type == types.MessageType.Info
    assert endpoint.generation_requests() == []  # no GPU time
    actions = await actions_at(client, uri, 3)
    why = next(a for a in actions if a["title"] == "Show why this goal is false")
    (change,) = why["edit"]["documentChanges"]
    assert change["textDocument"]["version"] == 1
    (edit,) = change["edits"]
    assert edit["range"]["start"] == edit["range"]["end"] == {"line": 2, "character": 0}
    assert edit["newText"] == (
        f"/- lean-sidecar: Lean proved the negation of this goal:\n{NEGATION}\n-/\n"
    )
    # nothing published that would hide or contradict Lean's own diagnostics
    published = [d for d in client.diagnostics.get(uri, []) if "false" in d.message]
    assert published == []
