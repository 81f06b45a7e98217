"""Fill sorry as an editor sees it: search with progress, refresh, a versioned quick fix."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import PROJECT, sidecar_command, standin_lean_command
from tests.lsp_helpers import holes, open_doc, plain
from tests.search_helpers import REPL_FACTS, lean_answer
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain

FACTS = PROJECT / "holes_facts.json"
FILL = PROJECT / "Fill.lean"
STATEMENT = "theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by"
TMP = Path(tempfile.mkdtemp(prefix="lean-sidecar-fill-"))
LAKE, REPL = make_toolchain(TMP / "tc", REPL_FACTS, TMP / "repl.log")


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=sidecar_command(standin_lean_command(FACTS)))
)
async def client(lsp_client: LanguageClient):
    refreshes: list[None] = []
    lsp_client.feature("workspace/codeAction/refresh")(lambda _p: refreshes.append(None))
    lsp_client.refreshes = refreshes  # type: ignore[attr-defined]
    yield lsp_client
    await lsp_client.shutdown_session()


async def start(client: LanguageClient, endpoint_url: str | None, tmp: Path) -> str:
    options = {
        "replPath": str(REPL),
        "lakePath": str(LAKE),
        "cachePath": str(tmp / "cache.sqlite"),
        "tactics": ["rfl", "omega", "simp"],
        "budgetSamples": 4,
        "samplesPerRequest": 2,
        "endpoints": [endpoint_url] if endpoint_url else [],
    }
    caps = pytest_lsp.client_capabilities("visual-studio-code")
    caps.experimental = {"codeActionRefresh": True}
    client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda _p: None)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=PROJECT.as_uri(),
            initialization_options={"leanSidecar": options},
        )
    )
    uri = open_doc(client, FILL)
    await holes(client, uri)
    return uri


async def actions_at(client: LanguageClient, uri: str, line: int) -> list[dict]:
    """Raw JSON: lsprotocol's client-side union structuring turns a CodeAction that carries a
    command into a Command with a stringified command, which real editors do not do."""
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri),
        range=types.Range(types.Position(line, 2), types.Position(line, 2)),
        context=types.CodeActionContext(
            diagnostics=[], trigger_kind=types.CodeActionTriggerKind.Invoked
        ),
    )
    proto = client.protocol
    original = proto.get_result_type
    proto.get_result_type = lambda method: None  # type: ignore[method-assign]
    try:
        return plain(await proto.send_request_async("textDocument/codeAction", params)) or []
    finally:
        proto.get_result_type = original  # type: ignore[method-assign]


async def test_search_then_fill_with_a_versioned_edit(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await start(client, None, tmp_path)
    before = await actions_at(client, uri, 3)
    assert [a["title"] for a in before] == [
        "Search proof for this sorry",
        "Fill every sorry in this file (lean-sidecar)",
    ]
    search = before[0]["command"]
    assert search["command"] == "leanSidecar.searchProof"
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=search["command"], arguments=search["arguments"])
    )
    assert result["status"] == "solved" and result["found"][0]["proof"] == "omega"
    assert client.refreshes  # type: ignore[attr-defined]
    kinds = [r.kind for reports in client.progress_reports.values() for r in reports]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    after = await actions_at(client, uri, 3)
    fill = next(a for a in after if a["title"].startswith("Fill sorry"))
    assert fill["title"] == "Fill sorry: omega" and fill["isPreferred"] is True
    assert fill["kind"] == "quickfix"
    change = fill["edit"]["documentChanges"][0]
    assert change["textDocument"]["version"] == 1
    assert change["edits"][0]["newText"] == "omega"
    assert change["edits"][0]["range"]["start"] == {"line": 3, "character": 2}


async def _start_model_search(client: LanguageClient, tmp: Path, delay: float):
    endpoint = StandInEndpoint(
        script=[
            {
                "match": "div_self'",
                "responses": [{"texts": [lean_answer(STATEMENT, "  field_simp")], "delay": delay}],
            }
        ]
    )
    url = endpoint.start_in_thread()
    uri = await start(client, url, tmp)
    search = next(
        a["command"]
        for a in await actions_at(client, uri, 6)
        if a.get("command", {}).get("command") == "leanSidecar.searchProof"
    )
    running = asyncio.ensure_future(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=search["command"], arguments=search["arguments"])
        )
    )
    for _ in range(300):
        if endpoint.generation_requests():
            break
        await asyncio.sleep(0.01)
    return endpoint, uri, running


def _edit(client: LanguageClient, uri: str, version: int, line: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(line, 0), types.Position(line, 0)), text=text
                )
            ],
        )
    )


async def test_an_edit_above_the_hole_cancels_the_search_and_its_stream(
    client: LanguageClient, tmp_path: Path
) -> None:
    endpoint, uri, running = await _start_model_search(client, tmp_path, delay=30.0)
    _edit(client, uri, 2, 1, "-- a note\n")  # the user types above the hole while the model thinks
    result = await asyncio.wait_for(running, 20)
    assert result["status"] == "cancelled"
    for _ in range(300):
        if endpoint.generation_requests()[0].disconnected:
            break
        await asyncio.sleep(0.01)
    assert endpoint.generation_requests()[0].disconnected, "the GPU stops working on it"
    await holes(client, uri)
    now = await actions_at(client, uri, 7)
    assert not [a for a in now if a["title"].startswith("Fill sorry")]
    assert any(a["title"] == "Search proof for this sorry" for a in now)
    for a in now:  # nothing offered carries an edit for a version other than the current one
        for change in (a.get("edit") or {}).get("documentChanges", []):
            assert change["textDocument"]["version"] == 2


async def test_an_edit_below_keeps_the_search_and_reoffers_its_proof(
    client: LanguageClient, tmp_path: Path
) -> None:
    endpoint, uri, running = await _start_model_search(client, tmp_path, delay=1.0)
    _edit(client, uri, 2, 7, "\ntheorem more : True := trivial\n")  # below the hole's declaration
    result = await asyncio.wait_for(running, 30)
    assert result["found"][0] == {
        "proof": "field_simp",
        "how": "model",
        "seconds": result["found"][0]["seconds"],
    }
    await holes(client, uri)
    fill = next(a for a in await actions_at(client, uri, 6) if a["title"].startswith("Fill sorry"))
    assert fill["title"] == "Fill sorry: field_simp"
    change = fill["edit"]["documentChanges"][0]
    assert change["textDocument"]["version"] == 2  # recomputed for the new version
    assert change["edits"][0]["range"]["start"] == {"line": 6, "character": 2}


async def test_fill_all_applies_one_versioned_edit(client: LanguageClient, tmp_path: Path) -> None:
    endpoint = StandInEndpoint(
        script=[
            {
                "match": "div_self'",
                "responses": [{"texts": [lean_answer(STATEMENT, "  field_simp")]}],
            }
        ]
    )
    url = endpoint.start_in_thread()
    applied: list[types.ApplyWorkspaceEditParams] = []

    def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    client.feature(types.WORKSPACE_APPLY_EDIT)(apply)
    uri = await start(client, url, tmp_path)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="leanSidecar.fillAll", arguments=[{"uri": uri}])
    )
    assert result["applied"] and result["filled"] == 2
    (params,) = applied
    change = params.edit.document_changes[0]
    assert change.text_document.version == 1
    assert sorted(e.new_text for e in change.edits) == ["field_simp", "omega"]
    trace = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="leanSidecar.trace",
            arguments=[{"uri": uri, "position": {"line": 6, "character": 2}}],
        )
    )
    assert trace["searched"] and [a["candidate"] for a in trace["attempts"]][:3] == [
        "rfl",
        "omega",
        "simp",
    ]
    assert trace["attempts"][-1]["outcome"] == "verified"


def test_environment_is_clean() -> None:
    assert "LEAN_SIDECAR_API_KEY" not in os.environ


async def test_workspace_configuration_wins_and_is_pulled_again_on_change(
    client: LanguageClient, tmp_path: Path
) -> None:
    client.set_configuration({"tactics": ["omega"]}, section="leanSidecar")
    uri = await start(client, None, tmp_path)  # initializationOptions say rfl, omega, simp
    await asyncio.sleep(0.2)
    first = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="leanSidecar.searchProof",
            arguments=[{"uri": uri, "position": {"line": 3, "character": 2}}],
        )
    )
    trace = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="leanSidecar.trace",
            arguments=[{"uri": uri, "position": {"line": 3, "character": 2}}],
        )
    )
    assert first["status"] == "solved"
    assert [a["candidate"] for a in trace["attempts"]] == ["omega"]
    client.set_configuration(
        {"tactics": ["rfl"], "cachePath": str(tmp_path / "other.sqlite")}, section="leanSidecar"
    )
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await asyncio.sleep(0.3)
    again = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="leanSidecar.searchProof",
            arguments=[{"uri": uri, "position": {"line": 6, "character": 2}}],
        )
    )
    trace = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="leanSidecar.trace",
            arguments=[{"uri": uri, "position": {"line": 6, "character": 2}}],
        )
    )
    assert again["status"] == "unsolved"
    assert [a["candidate"] for a in trace["attempts"]] == ["rfl"]


async def test_a_repl_that_cannot_be_prepared_is_said_clearly(
    client: LanguageClient, tmp_path: Path
) -> None:
    lake, repl = make_toolchain(tmp_path / "old", REPL_FACTS, lean_version="v4.9.0")
    client.set_configuration({"replPath": str(repl), "lakePath": str(lake)}, section="leanSidecar")
    uri = await start(client, None, tmp_path)
    await asyncio.sleep(0.2)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="leanSidecar.searchProof",
            arguments=[{"uri": uri, "position": {"line": 3, "character": 2}}],
        )
    )
    assert result["status"] == "error" and "no Lean REPL" in result["error"]
    (shown,) = [m.message for m in client.messages if "v4.9.0" in m.message]
    assert "v4.24.0" in shown and "set `replPath` (or LEAN_SIDECAR_REPL_PATH)" in shown
    assert (await holes(client, uri))["holes"], "everything else keeps working"


async def test_check_endpoint_reports_health(client: LanguageClient, tmp_path: Path) -> None:
    endpoint = StandInEndpoint()
    url = endpoint.start_in_thread()
    uri = await start(client, url, tmp_path)
    ok = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="leanSidecar.checkEndpoint", arguments=[{}])
    )
    assert ok == {"configured": True, "endpoint": url, "models": [endpoint.model]}
    assert uri
