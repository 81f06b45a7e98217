"""Hover on a failing `linarith` shows replacements Lean verified; applying one fixes the file."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import PROJECT, sidecar_command, standin_lean_command
from tests.lsp_helpers import holes, open_doc
from tests.search_helpers import REPL_FACTS, lean_answer
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain

FACTS = PROJECT / "holes_facts.json"
HOVER = PROJECT / "Hover.lean"
TMP = Path(tempfile.mkdtemp(prefix="lean-sidecar-hover-"))
LAKE, REPL = make_toolchain(TMP / "tc", REPL_FACTS, TMP / "repl.log")
LEMMA = "theorem sidecar_goal (a b : ℚ) (h : a < b) :\n    a ≤ b := by"


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=sidecar_command(standin_lean_command(FACTS)))
)
async def client(lsp_client: LanguageClient):
    lsp_client.feature("workspace/codeAction/refresh")(lambda _p: None)
    lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda _p: None)
    yield lsp_client
    await lsp_client.shutdown_session()


async def hover_text(client: LanguageClient, uri: str, line: int, character: int) -> str:
    h = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
    )
    return h.contents.value if h else ""


async def test_hover_shows_verified_replacements_and_the_action_fixes_the_file(
    client: LanguageClient,
) -> None:
    ep = StandInEndpoint(
        script=[
            {
                "match": "a ≤ b := by\n```",
                "responses": [{"texts": [lean_answer(LEMMA, "  exact le_of_lt h")]}],
            }
        ]
    )
    url = ep.start_in_thread()
    options = {
        "replPath": str(REPL),
        "lakePath": str(LAKE),
        "cachePath": str(TMP / "c.sqlite"),
        "tactics": ["nlinarith", "apply le_of_lt"],
        "hoverSamples": 1,
        "endpoints": [url],
    }
    await client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=PROJECT.as_uri(),
            initialization_options={"leanSidecar": options},
        )
    )
    text = HOVER.read_text(encoding="utf-8")
    uri = open_doc(client, HOVER, text)
    result = await holes(client, uri)
    (failing,) = [h for h in result["holes"] if h["kind"] == "failingTactic"]
    line, col = failing["range"]["start"]["line"], failing["range"]["start"]["character"]
    for _ in range(200):
        value = await hover_text(client, uri, line, col + 2)
        if "checked by Lean" in value:
            break
        await asyncio.sleep(0.05)
    assert "goal before this tactic" in value and "⊢ a ≤ b" in value
    assert "1. `exact le_of_lt h` — closes the goal" in value
    assert "2. `apply le_of_lt` — makes progress, leaving `⊢ a < b`" in value
    assert "nlinarith" not in value  # rejected by Lean, never shown
    assert "Lean hover" in value  # Lean's own hover follows, unchanged
    # the sidecar's part first (seen first in a small hover box), its replacements before the goal
    assert value.index("lean-sidecar") < value.index("Lean hover")
    assert value.index("1. `exact le_of_lt h`") < value.index("goal before this tactic")
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(types.Position(line, col), types.Position(line, col)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    replace = [
        a
        for a in actions or []
        if isinstance(a, types.CodeAction) and a.title.startswith("Replace with")
    ]
    assert [a.title for a in replace] == [
        "Replace with: exact le_of_lt h",
        "Replace with: apply le_of_lt (progress)",
    ]
    change = replace[0].edit.document_changes[0]
    assert change.text_document.version == 1
    (edit,) = change.edits
    # The editor applies the edit; Lean re-checks; the failing tactic is gone.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
            ],
        )
    )
    after = await holes(client, uri)
    assert after["version"] == 2 and after["holes"] == []
    lines = text.split("\n")
    assert (
        lines[edit.range.start.line][: edit.range.start.character] + edit.new_text
        == "  exact le_of_lt h"
    )
