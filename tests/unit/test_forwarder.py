"""The forwarder in-process, over in-memory streams: id remapping both ways, cancel
translation, merged answers, Lean's crash, and the position encoding it negotiates."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lean_sidecar.lsp.errors import REQUEST_CANCELLED, REQUEST_FAILED
from lean_sidecar.lsp.merged_methods import HOVER, MergedMethod
from lean_sidecar.lsp.transport import serve_streams
from tests.unit.fakes import Harness


async def test_utf16_is_negotiated_whatever_the_client_prefers() -> None:
    h = Harness()
    result = await h.initialize({"general": {"positionEncodings": ["utf-8", "utf-16", "utf-32"]}})
    assert result["capabilities"]["positionEncoding"] == "utf-16"
    assert h.server.workspace.position_encoding == "utf-16"  # pygls counts like Lean does
    assert result["serverInfo"]["name"] == "Lean 4 Server"  # Lean's identity is kept


async def test_utf16_when_lean_or_client_say_nothing() -> None:
    h = Harness()
    result = await h.initialize({})
    assert result["capabilities"]["positionEncoding"] == "utf-16"


async def test_editor_request_ids_are_remapped_both_ways() -> None:
    h = Harness()
    await h.initialize()
    h.send({"id": "ed-7", "method": "textDocument/definition", "params": {"x": 1}})
    sent = [m for m in h.upstream.sent if m.get("method") == "textDocument/definition"]
    assert len(sent) == 1 and sent[0]["id"] != "ed-7" and sent[0]["params"] == {"x": 1}
    h.from_lean({"id": sent[0]["id"], "result": {"uri": "file:///a.lean"}})
    answers = [m for m in h.out() if m.get("id") == "ed-7"]
    assert answers == [{"jsonrpc": "2.0", "id": "ed-7", "result": {"uri": "file:///a.lean"}}]


async def test_lean_requests_get_editor_ids_and_their_answers_go_back() -> None:
    h = Harness()
    await h.initialize()
    h.from_lean({"id": 5, "method": "client/registerCapability", "params": {"registrations": []}})
    to_editor = [m for m in h.out() if m.get("method") == "client/registerCapability"]
    assert len(to_editor) == 1 and to_editor[0]["id"] != 5
    editor_id = to_editor[0]["id"]
    h.send({"id": editor_id, "result": None})
    assert {"jsonrpc": "2.0", "id": 5, "result": None} in h.upstream.sent


async def test_cancel_is_translated_to_leans_id() -> None:
    h = Harness()
    await h.initialize()
    h.send({"id": 9, "method": "textDocument/documentSymbol", "params": {}})
    upstream_id = h.upstream.sent[-1]["id"]
    h.send({"method": "$/cancelRequest", "params": {"id": 9}})
    assert h.upstream.sent[-1] == {
        "jsonrpc": "2.0",
        "method": "$/cancelRequest",
        "params": {"id": upstream_id},
    }


async def test_hover_answers_are_merged_with_leans() -> None:
    h = Harness()
    await h.initialize()

    class Fixed:
        methods = (HOVER,)

        async def answer(self, method: MergedMethod, params: Any) -> Any:
            return "**ours**"

    h.server.features.features = [Fixed()]  # type: ignore[list-item]
    h.send(
        {
            "id": 3,
            "method": "textDocument/hover",
            "params": {
                "textDocument": {"uri": "file:///a.lean"},
                "position": {"line": 0, "character": 0},
            },
        }
    )
    await h.settle()
    upstream_id = h.upstream.sent[-1]["id"]
    h.from_lean({"id": upstream_id, "result": {"contents": {"kind": "plaintext", "value": "n"}}})
    await h.settle()
    answer = next(m for m in h.out() if m.get("id") == 3)
    assert answer["result"]["contents"] == {
        "kind": "markdown",
        "value": "**ours**\n\n---\n\n```\nn\n```",  # the sidecar's part first, then Lean's
    }


async def test_cancelling_a_merged_request_answers_request_cancelled() -> None:
    h = Harness()
    await h.initialize()
    h.send(
        {
            "id": 4,
            "method": "textDocument/codeAction",
            "params": {
                "textDocument": {"uri": "file:///a.lean"},
                "range": {
                    "start": {"line": 0, "character": 0},
                    "end": {"line": 0, "character": 0},
                },
                "context": {"diagnostics": []},
            },
        }
    )
    await h.settle(2)
    h.send({"method": "$/cancelRequest", "params": {"id": 4}})
    await h.settle()
    answer = next(m for m in h.out() if m.get("id") == 4)
    assert answer["error"]["code"] == REQUEST_CANCELLED


async def test_a_crash_of_lean_fails_pending_requests_and_schedules_a_restart() -> None:
    h = Harness()
    await h.initialize()
    h.send({"id": 11, "method": "textDocument/documentSymbol", "params": {}})
    h.upstream.alive = False
    h.lean._exited(137)
    answer = next(m for m in h.out() if m.get("id") == 11)
    assert answer["error"]["code"] == REQUEST_FAILED
    assert "restarting" in answer["error"]["message"]
    notices = [m for m in h.out() if m.get("method") == "window/showMessage"]
    assert notices and "exit code 137" in notices[-1]["params"]["message"]
    assert not h.lean.ready.is_set()
    await h.lean.stop()


async def test_requests_while_lean_is_down_fail_at_once() -> None:
    h = Harness()
    await h.initialize()
    h.upstream.alive = False
    h.send({"id": 12, "method": "textDocument/documentSymbol", "params": {}})
    answer = next(m for m in h.out() if m.get("id") == 12)
    assert answer["error"]["code"] == REQUEST_FAILED


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


async def wait_for_answer(h: Harness, msg_id: Any) -> None:
    for _ in range(200):
        await asyncio.sleep(0.01)
        if any(m.get("id") == msg_id for m in h.out()):
            return


async def test_the_whole_server_over_in_memory_byte_streams() -> None:
    """Framed bytes in, framed bytes out: pygls' reader, the protocol's routing, the forwarder."""
    h = Harness()
    reader = asyncio.StreamReader()
    serving = asyncio.ensure_future(serve_streams(h.server, reader, h.writer))
    reader.feed_data(
        frame({"id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}})
    )
    await wait_for_answer(h, 1)  # an editor waits for initialize's answer
    reader.feed_data(frame({"id": "f", "method": "textDocument/foldingRange", "params": {}}))
    for _ in range(100):
        await asyncio.sleep(0.01)
        sent = [m for m in h.upstream.sent if m.get("method") == "textDocument/foldingRange"]
        if sent:
            break
    assert sent, "the request never reached Lean"
    h.from_lean({"id": sent[0]["id"], "result": [{"startLine": 0, "endLine": 3}]})
    reader.feed_data(b"Content-Length: 5\r\n\r\n{oops")  # malformed: logged, not fatal
    reader.feed_data(frame({"id": 2, "method": "shutdown"}))
    await wait_for_answer(h, 2)
    reader.feed_eof()
    await asyncio.wait_for(serving, 5)
    out = h.out()
    assert next(m for m in out if m.get("id") == 1)["result"]["capabilities"]
    assert next(m for m in out if m.get("id") == "f")["result"] == [{"startLine": 0, "endLine": 3}]
    assert next(m for m in out if m.get("id") == 2) == {"jsonrpc": "2.0", "id": 2, "result": None}
    assert h.lean.shutting_down
