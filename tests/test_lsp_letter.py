"""The base protocol as LSP and JSON-RPC 2.0 specify it, checked byte for byte: exit codes,
requests after `shutdown`, parse errors, batches, case-insensitive header names."""

from __future__ import annotations

import asyncio
import json

from tests.test_malformed_input import start


def frame(body: bytes, header: bytes = b"Content-Length") -> bytes:
    return header + b": %d\r\n\r\n%s" % (len(body), body)


async def test_exit_without_shutdown_exits_with_1() -> None:
    client = await start()
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(client.proc.wait(), 20) == 1


async def test_requests_after_shutdown_get_invalid_request() -> None:
    client = await start()
    client.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    assert (await client.answer(2))["result"] is None
    uri = "file:///x.lean"
    pos = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}
    client.send({"jsonrpc": "2.0", "id": 3, "method": "leanSidecar/holes", "params": pos})
    client.send({"jsonrpc": "2.0", "id": 4, "method": "textDocument/hover", "params": pos})
    client.send({"jsonrpc": "2.0", "id": 5, "method": "$/lean/plainGoal", "params": pos})
    client.send({"jsonrpc": "2.0", "id": 6, "method": "shutdown"})
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "workspace/executeCommand",
            "params": {"command": "leanSidecar.cancelSearch", "arguments": [{}]},
        }
    )
    for msg_id in (3, 4, 5, 6, 7):
        assert (await client.answer(msg_id))["error"]["code"] == -32600, msg_id
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(client.proc.wait(), 20) == 0


async def test_parse_errors_batches_and_header_case() -> None:
    client = await start()
    # invalid UTF-8 inside a string, and broken JSON: answered -32700 where the id can be read
    client.write(frame(b'{"jsonrpc":"2.0","id":11,"method":"leanSidecar/holes","params":"\xff"}'))
    client.write(frame(b'{"jsonrpc":"2.0","id":"twelve","method":"x", oops}'))
    batch = [
        {"jsonrpc": "2.0", "id": 13, "method": "$/lean/plainGoal", "params": {}},
        {"jsonrpc": "2.0", "id": 14, "method": "shutdown"},
    ]
    client.write(frame(json.dumps(batch).encode()))
    client.send({"id": 19, "method": "$/lean/plainGoal", "params": {}})  # no "jsonrpc"
    # lowercase header name, then an ordinary message: neither may be lost
    goal = {"textDocument": {"uri": "file:///x.lean"}, "position": {"line": 0, "character": 0}}
    body = {"jsonrpc": "2.0", "id": 15, "method": "$/lean/plainGoal", "params": goal}
    client.write(frame(json.dumps(body).encode(), b"content-length"))
    client.send({**body, "id": 16})
    client.write(frame(json.dumps({**body, "id": 17}).encode(), b"CONTENT-LENGTH"))
    assert (await client.answer(11))["error"]["code"] == -32700
    assert (await client.answer("twelve"))["error"]["code"] == -32700
    assert (await client.answer(13))["error"]["code"] == -32600
    assert (await client.answer(14))["error"]["code"] == -32600
    assert (await client.answer(19))["error"]["code"] == -32600
    for msg_id in (15, 16, 17):  # each reached Lean (which answers: that file is not open)
        assert (await client.answer(msg_id)).get("error", {}).get("code") == -32801, msg_id
    assert client.proc.returncode is None  # the batch's `shutdown` was not run
    client.send({"jsonrpc": "2.0", "id": 18, "method": "shutdown"})
    await client.answer(18)
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(client.proc.wait(), 20) == 0
