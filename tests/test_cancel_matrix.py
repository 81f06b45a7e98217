"""Every way an editor can cancel a proof search cancels the work, whatever the search is doing.

Ways: `$/cancelRequest` on the command, the progress bar's cancel, the cancel command, an edit
above the hole, `didClose`, `shutdown`. States: queued at the GPU (the endpoint holds the
connection and sends nothing), streaming (the endpoint drips the answer), verifying (the answer
is in; Lean's REPL is checking it, slowly). Each case asserts: the HTTP stream is closed within
1 s of the cancel (the stand-in endpoint counts open connections), progress ends "cancelled",
and no proof is offered afterwards."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
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
TMP = Path(tempfile.mkdtemp(prefix="lean-sidecar-cancel-"))
SLOW_FACTS = TMP / "slow_repl_facts.json"
# Seconds the REPL takes per command: a check (the file's prefix, the declaration, the axiom
# audit: three commands) runs for 3 * LATENCY, far longer than a cancel takes to arrive.
LATENCY = 0.5
SLOW_FACTS.write_text(json.dumps({**json.loads(REPL_FACTS.read_text()), "latency": LATENCY}))
# A result the cancel failed to stop would be offered once that check ends: poll past it.
LATE = 3 * LATENCY + 1.0
LAKE, REPL = make_toolchain(TMP / "tc", SLOW_FACTS, TMP / "repl.log")
DEADLINE = 30.0  # generous: the machine may be busy; the 1 s bound is measured, not waited on
ANSWER = lean_answer(STATEMENT, "  field_simp")
RESPONSES = {
    "queued": {"hang": True},
    "streaming": {"texts": [ANSWER], "drip": 0.05},
    "verifying": {"texts": [ANSWER]},
}
WAYS = ["cancelRequest", "progress", "command", "edit_above", "didClose", "shutdown"]


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=sidecar_command(standin_lean_command(FACTS)))
)
async def client(lsp_client: LanguageClient):
    yield lsp_client
    if not getattr(lsp_client, "shut_down", False):
        await lsp_client.shutdown_session()


async def until(predicate: Any, what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def start(client: LanguageClient, url: str) -> str:
    options = {
        "replPath": str(REPL),
        "lakePath": str(LAKE),
        "cachePath": str(TMP / f"cache-{time.monotonic_ns()}.sqlite"),
        "tactics": [],
        "budgetSamples": 1,
        "samplesPerRequest": 1,
        "endpoints": [url],
    }
    caps = pytest_lsp.client_capabilities("visual-studio-code")
    client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda _p: None)
    client.feature("workspace/codeAction/refresh")(lambda _p: None)
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


async def code_actions(client: LanguageClient, uri: str, line: int) -> list[dict[str, Any]]:
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri),
        range=types.Range(types.Position(line, 2), types.Position(line, 2)),
        context=types.CodeActionContext(diagnostics=[]),
    )
    proto = client.protocol
    original = proto.get_result_type
    proto.get_result_type = lambda method: None  # type: ignore[method-assign]
    try:
        return plain(await proto.send_request_async("textDocument/codeAction", params)) or []
    finally:
        proto.get_result_type = original  # type: ignore[method-assign]


def progress_ends(client: LanguageClient) -> list[str]:
    return [
        r.message or ""
        for reports in client.progress_reports.values()
        for r in reports
        if r.kind == "end"
    ]


@pytest.mark.parametrize("state", list(RESPONSES))
@pytest.mark.parametrize("way", WAYS)
async def test_cancel_stops_the_work(client: LanguageClient, way: str, state: str) -> None:
    endpoint = StandInEndpoint(script=[{"match": "div_self'", "responses": [RESPONSES[state]]}])
    url = endpoint.start_in_thread()
    uri = await start(client, url)
    search = next(
        a["command"]
        for a in await code_actions(client, uri, 6)
        if (a.get("command") or {}).get("command") == "leanSidecar.searchProof"
    )
    request_id = "search-1"
    request = asyncio.wrap_future(
        client.protocol.send_request(
            "workspace/executeCommand",
            types.ExecuteCommandParams(command=search["command"], arguments=search["arguments"]),
            msg_id=request_id,
        )
    )
    gens = endpoint.generation_requests
    await until(lambda: bool(gens()), "the model request")
    if state == "streaming":
        await until(lambda: gens()[0].bytes_sent > 0, "the first streamed bytes")
    if state == "verifying":
        await until(lambda: gens()[0].finished, "the whole answer")
    await until(lambda: client.progress_reports, "progress to begin")

    t0 = time.monotonic()
    if way == "cancelRequest":
        client.protocol.notify("$/cancelRequest", types.CancelParams(id=request_id))
    elif way == "progress":
        token = next(iter(client.progress_reports))
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    elif way == "command":
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="leanSidecar.cancelSearch", arguments=[{"uri": uri}])
        )
    elif way == "edit_above":
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(1, 0), types.Position(1, 0)),
                        text="-- a note\n",
                    )
                ],
            )
        )
    elif way == "didClose":
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri))
        )
    elif way == "shutdown":
        # the streams must close within 1 s of the request; the answer to `shutdown` itself may
        # come later (it also stops the REPLs and Lean)
        shutting_down = asyncio.ensure_future(client.shutdown_async(None))
    await until(lambda: endpoint.open_connections == 0, "the HTTP stream to close")
    closed_after = time.monotonic() - t0
    if way == "shutdown":
        await asyncio.wait_for(shutting_down, DEADLINE)
    await until(lambda: progress_ends(client), "progress to end")
    ends = progress_ends(client)
    print(f"{way}/{state}: stream closed after {closed_after:.3f} s; progress: {ends}")
    assert ends == ["cancelled"]
    assert closed_after <= 1.0, f"HTTP stream open {closed_after:.2f} s after the cancel"
    with pytest.raises(Exception) if way == "cancelRequest" else _no_raise():
        await asyncio.wait_for(request, DEADLINE)
    if way == "shutdown":
        client.exit(None)
        client.shut_down = True  # type: ignore[attr-defined]
        return
    if way == "didClose":  # reopened: nothing of the old search may come back
        open_doc(client, FILL, version=3)
    await holes(client, uri)
    # A late result would arrive within the REPL's check (see LATE): poll past it.
    end = time.monotonic() + LATE
    line = 7 if way == "edit_above" else 6
    while time.monotonic() < end:
        offered = [a["title"] for a in await code_actions(client, uri, line)]
        assert not [t for t in offered if t.startswith("Fill sorry")], offered
        await asyncio.sleep(0.25)
    assert endpoint.open_connections == 0


class _no_raise:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False
