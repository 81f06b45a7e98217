"""The protocol keeps nothing per message once the message is handled (pygls keeps a future
per notification and per generator step forever; the sidecar's protocol forgets them)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lean_bridge.compat import request_futures
from lean_sidecar.lsp.root import build_server
from lean_sidecar.settings import Settings
from tests.unit.fakes import Sink


def body(method: str, params: Any, msg_id: int | None = None) -> bytes:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if msg_id is not None:
        msg["id"] = msg_id
    return json.dumps(msg).encode()


async def test_notifications_and_commands_leave_no_futures_behind() -> None:
    server = build_server(Settings())
    proto = server.protocol
    proto.set_writer(Sink())
    init = {"processId": None, "rootUri": None, "capabilities": {}}
    proto.receive_body(body("initialize", init, 0))
    assert server.lean is not None
    await asyncio.wait_for(server.lean.ready.wait(), 30)  # no Lean here: it answers anyway
    proto.receive_body(body("initialized", {}))
    uri = "file:///T.lean"
    doc = {"uri": uri, "languageId": "lean4", "version": 1, "text": "example : True := sorry\n"}
    proto.receive_body(body("textDocument/didOpen", {"textDocument": doc}))
    for version in range(2, 200):
        change = {"text": f"-- {version}\n"}
        proto.receive_body(
            body(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
            )
        )
    for msg_id in range(1, 20):  # a command: executeCommand is a generator around the handler
        args = {"command": "leanSidecar.cancelSearch", "arguments": [{"uri": uri}]}
        proto.receive_body(body("workspace/executeCommand", args, msg_id))
    proto.receive_body(body("textDocument/didClose", {"textDocument": {"uri": uri}}))
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(request_futures(proto)) == 0, list(request_futures(proto))[:5]
    server.lean.shutting_down = True


async def test_shutdown_answers_while_handler_futures_are_unfinished() -> None:
    """pygls' shutdown cancels every unfinished future while iterating over them; a concurrent
    future runs its done-callbacks inside ``cancel()``, so forgetting it there changed the dict
    under the loop and shutdown answered "dictionary changed size during iteration"."""
    import concurrent.futures

    server = build_server(Settings())
    proto = server.protocol
    sink = Sink()
    proto.set_writer(sink)
    proto.receive_body(
        body("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, 0)
    )
    assert server.lean is not None
    await asyncio.wait_for(server.lean.ready.wait(), 30)
    pending: list[concurrent.futures.Future[Any]] = []
    for i in range(3):  # what sync handlers' steps leave while they run
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        request_futures(proto)[f"step-{i}"] = future
        proto._forget_when_done(f"step-{i}", future)
        pending.append(future)
    proto.receive_body(body("shutdown", None, 99))
    answer: dict[str, Any] = {}
    for _ in range(500):
        await asyncio.sleep(0.01)
        answers = [json.loads(w.split(b"\r\n\r\n", 1)[1]) for w in sink.written]
        answer = next((a for a in answers if a.get("id") == 99), {})
        if answer:
            break
    assert answer.get("result", "missing") is None and "error" not in answer, answer
    assert all(f.cancelled() for f in pending)
    await asyncio.sleep(0.05)
    assert not any(str(k).startswith("step-") for k in request_futures(proto))
