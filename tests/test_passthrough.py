"""Lean's own traffic passes through the sidecar unchanged; its features are merged in."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import PROJECT, sidecar_command, standin_lean_command
from tests.lsp_helpers import holes, initialize, open_doc, raw_request
from tests.test_malformed_input import wait_until

FACTS = PROJECT / "holes_facts.json"
HOLES_FILE = PROJECT / "Holes.lean"
PIDFILE = Path(tempfile.gettempdir()) / f"lean-sidecar-standin-{os.getpid()}.pids"
LOG = Path(tempfile.gettempdir()) / f"lean-sidecar-standin-{os.getpid()}.log"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=sidecar_command(standin_lean_command(FACTS)),
        server_env={**os.environ, "STANDIN_PIDFILE": str(PIDFILE), "STANDIN_LOG": str(LOG)},
    )
)
async def client(lsp_client: LanguageClient):
    PIDFILE.unlink(missing_ok=True)
    LOG.unlink(missing_ok=True)
    result = await initialize(lsp_client, PROJECT)
    lsp_client.init_result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_initialize_advertises_the_union(client: LanguageClient) -> None:
    result = client.init_result  # type: ignore[attr-defined]
    caps = result.capabilities
    assert result.server_info.name == "Lean 4 Server"  # Lean's identity is kept for vscode-lean4
    assert caps.semantic_tokens_provider is not None and caps.inlay_hint_provider is not None
    assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert set(caps.code_action_provider.code_action_kinds) >= {"quickfix", "refactor"}
    assert caps.code_action_provider.resolve_provider is True
    assert caps.experimental["rpcProvider"]["rpcWireFormat"] == "v1"
    assert "leanSidecar" in caps.experimental
    assert caps.execute_command_provider is not None


async def test_lean_code_action_and_hover_arrive_through_the_sidecar(
    client: LanguageClient,
) -> None:
    text = "theorem t (n : Nat) : n ≤ n := by\n  exact?\n"
    uri = open_doc(client, PROJECT / "TryThis.lean", text)
    await holes(client, uri)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(types.Position(1, 2), types.Position(1, 2)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    lean_actions = [a for a in actions if a.title.startswith("Try this")]
    assert [a.title for a in lean_actions] == ["Try this: exact Nat.le_refl n"]
    change = lean_actions[0].edit.document_changes[0]
    assert change.text_document.version == 1  # Lean's versioned edit, unchanged
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(0, 8))
    )
    assert "Lean hover" in hover.contents.value


async def test_lean_extensions_and_rpc_pass_through(client: LanguageClient) -> None:
    uri = open_doc(client, HOLES_FILE)
    await holes(client, uri)
    text = HOLES_FILE.read_text(encoding="utf-8")
    line = text.split("\n").index("  sorry")
    goal = await raw_request(
        client,
        "$/lean/plainGoal",
        {"textDocument": {"uri": uri}, "position": {"line": line, "character": 2}},
    )
    assert goal["goals"] == ["a b : Nat\nh : a ≤ b\n⊢ a < b + 1"]
    assert goal["rendered"].startswith("```lean\n")
    session = await raw_request(client, "$/lean/rpc/connect", {"uri": uri})
    assert isinstance(session["sessionId"], str) and session["sessionId"].isdigit()
    goals = await raw_request(
        client,
        "$/lean/rpc/call",
        {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": 2},
            "sessionId": session["sessionId"],
            "method": "Lean.Widget.getInteractiveGoals",
            "params": {"textDocument": {"uri": uri}, "position": {"line": line, "character": 2}},
        },
    )
    assert goals["goals"][0]["type"]["text"].endswith("⊢ a < b + 1")
    with pytest.raises(Exception, match="No RPC method"):
        await raw_request(
            client,
            "$/lean/rpc/call",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 0, "character": 0},
                "sessionId": session["sessionId"],
                "method": "No.Such.method",
                "params": {},
            },
        )


async def test_lean_extension_fields_reach_the_editor(client: LanguageClient) -> None:
    uri = open_doc(client, HOLES_FILE)
    await holes(client, uri)
    await wait_until(lambda: client.diagnostics.get(uri), "Lean's diagnostics")
    diags = client.diagnostics.get(uri) or []
    assert diags, "Lean's diagnostics must reach the editor"
    assert any("sorry" in d.message for d in diags)


async def test_editor_request_ids_are_remapped_without_collision(client: LanguageClient) -> None:
    uri = open_doc(client, HOLES_FILE)
    await holes(client, uri)  # the sidecar has sent many requests of its own by now
    ids = []
    for line in LOG.read_text().splitlines():
        import json

        msg = json.loads(line)
        if "id" in msg and "method" in msg:
            ids.append(msg["id"])
    assert len(ids) == len(set(ids)), "every request Lean saw has a distinct id"


async def test_killed_upstream_is_restarted_and_answers_again(client: LanguageClient) -> None:
    uri = open_doc(client, HOLES_FILE)
    first = await holes(client, uri)
    pid = int(PIDFILE.read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    # An edit while Lean is down must not be lost: it is replayed at its latest version.
    await wait_until(lambda: any("stopped" in m.message for m in client.messages), "the notice")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                    text="-- edited\n",
                )
            ],
        )
    )
    second = await holes(client, uri, timeout=60)
    assert second["version"] == 2
    assert len(second["holes"]) == len(first["holes"])
    assert all(h["range"]["start"]["line"] >= 1 for h in second["holes"])
    pids = PIDFILE.read_text().split()
    assert len(pids) == 2 and pids[1] != pids[0]
    shown = [m.message for m in client.messages]
    assert sum("restarting" in m for m in shown) == 1, shown
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(4, 9))
    )
    assert hover is not None and "Lean hover" in hover.contents.value
