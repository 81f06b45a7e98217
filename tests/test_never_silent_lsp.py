"""Never silent, through the real sidecar process: a search against a dead, key-refusing or
stalling endpoint ends at once, and the user is told why — in the progress bar's closing
message, in ONE window/showMessage per cause (not per attempt, not per hole), and in the log."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import sidecar_command, standin_lean_command
from tests.search_helpers import REPL_FACTS
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain
from tests.test_fill_cli import break_repl
from tests.test_fill_sorry_lsp import FACTS, actions_at, start

SEEN_WITHIN = 2.0  # seconds from the cause to the message the user sees


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=sidecar_command(standin_lean_command(FACTS)))
)
async def client(lsp_client: LanguageClient):
    lsp_client.feature("workspace/codeAction/refresh")(lambda _p: None)
    yield lsp_client
    await lsp_client.shutdown_session()


def dead_url() -> str:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def search_line(client: LanguageClient, uri: str, line: int) -> dict[str, Any]:
    search = next(
        a["command"]
        for a in await actions_at(client, uri, line)
        if a.get("command", {}).get("command") == "leanSidecar.searchProof"
    )
    return await asyncio.wait_for(  # type: ignore[no-any-return]
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=search["command"], arguments=search["arguments"])
        ),
        30,
    )


def errors(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages if m.type == types.MessageType.Error]


async def first_error(client: LanguageClient, limit: float = 30) -> float:
    """When the first error message arrived (time.monotonic())."""
    t0 = time.monotonic()
    while not errors(client):
        assert time.monotonic() - t0 < limit, "no message"
        await asyncio.sleep(0.01)
    return time.monotonic()


def progress_end(client: LanguageClient) -> list[str]:
    return [
        r.message or ""
        for reports in client.progress_reports.values()
        for r in reports
        if r.kind == "end"
    ]


async def test_a_dead_endpoint_is_said_at_once_and_once(
    client: LanguageClient, tmp_path: Path
) -> None:
    url = dead_url()
    uri = await start(client, url, tmp_path)
    t0 = time.monotonic()
    running = asyncio.ensure_future(search_line(client, uri, 6))
    seen = await first_error(client)
    result = await running
    print(f"dead endpoint: message {seen - t0:.2f} s after the command")
    assert seen - t0 < SEEN_WITHIN + 1.0  # the cause is at once: the cascade's one try first
    assert result["status"] == "error" and "127.0.0.1" in result["error"]
    (message,) = errors(client)
    assert message.startswith("lean-sidecar: proof search stopped: http://127.0.0.1:")
    assert "Check that the server is running" in message
    assert any(m.startswith("no proof: http://127.0.0.1:") for m in progress_end(client))
    again = await search_line(client, uri, 3)  # a second search, same cause: no second message
    assert again["status"] in ("solved", "error")
    await asyncio.sleep(0.3)
    assert len(errors(client)) == 1


async def test_a_refused_key_is_said_once_for_fill_all(
    client: LanguageClient, tmp_path: Path
) -> None:
    endpoint = StandInEndpoint(require_key="the-right-key")
    url = endpoint.start_in_thread()
    client.set_configuration({"apiKey": "a-wrong-key"}, section="leanSidecar")
    client.feature(types.WORKSPACE_APPLY_EDIT)(
        lambda _p: types.ApplyWorkspaceEditResult(applied=True)
    )
    uri = await start(client, url, tmp_path)
    await asyncio.sleep(0.2)  # workspace/configuration pulled
    running = asyncio.ensure_future(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="leanSidecar.fillAll", arguments=[{"uri": uri}])
        )
    )
    while not endpoint.requests:
        await asyncio.sleep(0.005)
    cause = time.monotonic()
    seen = await first_error(client)
    result = await asyncio.wait_for(running, 30)
    print(f"refused key: message {seen - cause:.2f} s after the first request")
    assert seen - cause < SEEN_WITHIN
    (message,) = errors(client)  # two holes searched, one cause, one message
    assert "apiKey" in message and "a-wrong-key" not in message
    assert result["filled"] == 1  # `omega` for the first hole, from Lean's own tactics
    ends = progress_end(client)
    assert any(m.startswith("filled 1 of 2 holes; ") and "apiKey" in m for m in ends), ends


async def test_a_stalled_endpoint_ends_after_stall_timeout(
    client: LanguageClient, tmp_path: Path
) -> None:
    endpoint = StandInEndpoint(script=[{"match": "div_self'", "responses": [{"hang": True}]}])
    url = endpoint.start_in_thread()
    client.set_configuration({"stallTimeout": 0.5}, section="leanSidecar")
    uri = await start(client, url, tmp_path)
    await asyncio.sleep(0.2)
    running = asyncio.ensure_future(search_line(client, uri, 6))
    while not endpoint.generation_requests():
        await asyncio.sleep(0.005)
    sent = time.monotonic()
    seen = await first_error(client)
    result = await running
    print(f"stall: message {seen - sent:.2f} s after the request (stallTimeout 0.5 s)")
    assert seen - sent < 0.5 + SEEN_WITHIN  # the stall itself, then at once
    assert result["status"] == "error" and result["found"] == []
    (message,) = errors(client)
    assert "sent nothing for 0.5 s" in message and "stallTimeout" in message


async def test_a_repl_that_cannot_run_is_said_at_once_and_once(
    client: LanguageClient, tmp_path: Path
) -> None:
    """Every check failing alike is not "no proof found": the REPL's own error is the reason."""
    lake, repl = make_toolchain(tmp_path / "tc", REPL_FACTS)
    break_repl(repl)
    client.set_configuration({"replPath": str(repl), "lakePath": str(lake)}, section="leanSidecar")
    uri = await start(client, None, tmp_path)
    await asyncio.sleep(0.2)  # workspace/configuration pulled
    t0 = time.monotonic()
    running = asyncio.ensure_future(search_line(client, uri, 3))
    seen = await first_error(client)
    result = await running
    print(f"broken REPL: message {seen - t0:.2f} s after the command")
    assert seen - t0 < SEEN_WITHIN + 1.0  # the REPL's start, then at once
    assert result["status"] == "error" and "libleanshared.so" in result["error"]
    (message,) = errors(client)
    assert message.startswith("lean-sidecar: proof search stopped: the Lean REPL stopped before")
    assert "libleanshared.so: cannot open shared object file" in message
    assert any("libleanshared.so" in m for m in progress_end(client)), progress_end(client)
    again = await search_line(client, uri, 6)  # the same cause again: no second message
    assert again["status"] == "error"
    await asyncio.sleep(0.3)
    assert len(errors(client)) == 1


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=sidecar_command(["/nonexistent/elan/bin/lake", "serve"])
    )
)
async def no_lean(lsp_client: LanguageClient):
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_without_lean_the_user_is_told_once_what_to_do(
    no_lean: LanguageClient, tmp_path: Path
) -> None:
    from tests.lsp_helpers import initialize, open_doc

    await initialize(no_lean, tmp_path)
    lean_file = tmp_path / "A.lean"
    lean_file.write_text("example : True := by\n  sorry\n", encoding="utf-8")
    uri = open_doc(no_lean, lean_file)
    hover = types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(1, 3))
    with pytest.raises(Exception) as err:
        await asyncio.wait_for(no_lean.text_document_hover_async(hover), 10)
    for text in (str(err.value),):
        assert "did not start" in text and "elan" in text and "--upstream" in text
        assert "restarting" not in text
    with pytest.raises(Exception) as err:
        await asyncio.wait_for(
            no_lean.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="leanSidecar.searchProof",
                    arguments=[{"uri": uri, "position": {"line": 1, "character": 2}}],
                )
            ),
            10,
        )
    assert "elan" in str(err.value) and "restarting" not in str(err.value)
    shown = [m.message for m in no_lean.messages if m.type == types.MessageType.Error]
    assert len(shown) == 1 and "Install Lean with elan" in shown[0], shown


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=sidecar_command(standin_lean_command(FACTS, delay_ms=1500))
    )
)
async def slow_lean(lsp_client: LanguageClient):
    lsp_client.feature("workspace/codeAction/refresh")(lambda _p: None)
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_requests_for_a_version_lean_has_not_finished_wait_for_it(
    slow_lean: LanguageClient, tmp_path: Path
) -> None:
    from tests.test_fill_sorry_lsp import _edit

    uri = await start(slow_lean, None, tmp_path)
    _edit(slow_lean, uri, 2, 0, "-- a note\n")  # Lean needs 1.5 s for version 2
    t0 = time.monotonic()
    actions = await actions_at(slow_lean, uri, 4)  # the first press after an edit
    assert time.monotonic() - t0 > 0.5  # it waited for Lean rather than answering at once
    assert [a["title"] for a in actions] == [
        "Search proof for this sorry",
        "Fill every sorry in this file (lean-sidecar)",
    ]
    assert actions[0]["command"]["arguments"][0]["version"] == 2
    _edit(slow_lean, uri, 3, 0, "-- another\n")
    result = await asyncio.wait_for(  # a command for the unfinished version 3: no -32801
        slow_lean.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="leanSidecar.searchProof",
                arguments=[{"uri": uri, "position": {"line": 5, "character": 2}}],
            )
        ),
        30,
    )
    assert result["status"] == "solved" and result["found"][0]["proof"] == "omega"


def warnings(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages if m.type == types.MessageType.Warning]


async def test_no_sandbox_and_an_old_kernel_are_each_said_once(
    client: LanguageClient, tmp_path: Path
) -> None:
    """With no sandbox (here: turned off) a model's candidates are not run: the editor is told
    once, with what to install or set, and no request reaches the endpoint; the project's Lean
    (4.24) lacks the kernel fixes, which is said once too. Searches still run the tactics."""
    endpoint = StandInEndpoint()
    url = endpoint.start_in_thread()
    client.set_configuration({"replSandbox": False}, section="leanSidecar")
    uri = await start(client, url, tmp_path)
    await asyncio.sleep(0.2)  # workspace/configuration pulled
    first = await search_line(client, uri, 3)
    assert first["status"] == "solved"  # `omega`, from Lean's own tactics
    await search_line(client, uri, 6)
    told = warnings(client)
    sandbox = [m for m in told if "not checked" in m]
    kernel = [m for m in told if "upgrade to ≥ 4.34.1" in m]
    assert len(sandbox) == 1 and len(kernel) == 1, told
    assert "bubblewrap" in sandbox[0] and "allowUnsandboxed" in sandbox[0]
    assert not endpoint.generation_requests()
