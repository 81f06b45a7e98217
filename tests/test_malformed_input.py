"""Bad input gets an LSP error or a log line; the sidecar never exits because of it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.conftest import PROJECT, sidecar_command, standin_lean_command

FACTS = PROJECT / "holes_facts.json"


class RawClient:
    """Speaks bytes to the sidecar, so that the test can also send what no LSP library would."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.inbox: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            length = None
            while True:
                header = await self.proc.stdout.readline()
                if not header:
                    return
                if header == b"\r\n":
                    break
                name, _, value = header.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            assert length is not None
            self.inbox.append(json.loads(await self.proc.stdout.readexactly(length)))

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    def send(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg).encode()
        self.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def answer(self, msg_id: Any, timeout: float = 60) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                for m in self.inbox:
                    if m.get("id") == msg_id and "method" not in m:
                        return m
                await asyncio.sleep(0.01)

        return await asyncio.wait_for(wait(), timeout)


async def wait_until(predicate: Any, what: str, deadline: float = 60.0) -> None:
    """Wait on a condition, with a deadline generous enough for a busy machine."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"timed out after {deadline:g} s waiting for {what}")
        await asyncio.sleep(0.02)


async def start() -> RawClient:
    cmd = sidecar_command(standin_lean_command(FACTS))
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=64 * 2**20,
    )
    client = RawClient(proc)
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": PROJECT.as_uri(), "capabilities": {}},
        }
    )
    assert "result" in await client.answer(1)
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    return client


async def test_garbage_never_kills_the_server() -> None:
    client = await start()
    uri = (PROJECT / "M.lean").as_uri()
    client.send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "lean4",
                    "version": 1,
                    "text": "theorem t : True := by\n  sorry\n",
                }
            },
        }
    )
    client.write(b"Content-Length: 9\r\n\r\n{not json")  # broken JSON body
    client.write(b"X-Nonsense: 1\r\n\r\n")  # a header block without length
    body = b"[1, 2, 3]"
    client.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # JSON, but not an object
    client.send({"jsonrpc": "2.0", "id": 2, "method": "leanSidecar/noSuchMethod", "params": {}})
    client.send({"jsonrpc": "2.0", "id": 3, "method": "garbageMethod", "params": {}})
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "textDocument/codeAction",
            "params": {"textDocument": {"uri": uri}},
        }
    )  # no range
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "$/lean/plainGoal",
            "params": {
                "textDocument": {"uri": uri},
                "position": {"line": 99999, "character": 99999},
            },
        }
    )
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 6,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": {"line": -5, "character": 3}},
        }
    )
    client.send({"jsonrpc": "2.0", "id": 7, "method": "leanSidecar/holes", "params": {"nope": 1}})
    client.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"garbage": True}})
    assert (await client.answer(2))["error"]["code"] == -32601
    assert (await client.answer(3))["error"][
        "message"
    ] == "No request handler found for 'garbageMethod'"
    assert "error" in await client.answer(4)
    assert (await client.answer(5))["result"] is None
    sixth = await client.answer(6)  # answered (Lean clamps the line), not dropped
    assert "result" in sixth or "error" in sixth
    assert (await client.answer(7))["error"]["code"] == -32602
    # Still alive and still right:
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 8,
            "method": "leanSidecar/holes",
            "params": {"textDocument": {"uri": uri}},
        }
    )
    holes = (await client.answer(8))["result"]
    assert [h["kind"] for h in holes["holes"]] == ["sorry"]
    assert client.proc.returncode is None
    client.send({"jsonrpc": "2.0", "id": 9, "method": "shutdown"})
    await client.answer(9)
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(client.proc.wait(), 10) == 0


async def test_ten_megabyte_document_gets_a_clear_error() -> None:
    client = await start()
    uri = (PROJECT / "Big.lean").as_uri()
    text = "theorem t (n : Nat) : n + 0 = n := by\n  simp\n" * 240_000
    assert len(text) > 10 * 2**20
    client.send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {"uri": uri, "languageId": "lean4", "version": 1, "text": text}
            },
        }
    )
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "leanSidecar/holes",
            "params": {"textDocument": {"uri": uri}},
        }
    )
    answer = await client.answer(2, timeout=120)
    assert "max_document_mb" in answer["error"]["message"]
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 8}},
        }
    )
    assert "Lean hover" in (await client.answer(3, timeout=60))["result"]["contents"]["value"]
    client.proc.kill()
    await client.proc.wait()


async def test_lean_that_cannot_start_gives_errors_not_hangs() -> None:
    import sys

    cmd = [
        sys.executable,
        "-m",
        "lean_sidecar",
        "serve",
        "--upstream",
        "/nonexistent/lean --server",
    ]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    client = RawClient(proc)
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": PROJECT.as_uri(), "capabilities": {}},
        }
    )
    assert "textDocumentSync" in (await client.answer(1))["result"]["capabilities"]
    uri = (PROJECT / "X.lean").as_uri()
    client.send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "lean4",
                    "version": 1,
                    "text": "example : True := sorry\n",
                }
            },
        }
    )
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "leanSidecar/holes",
            "params": {"textDocument": {"uri": uri}},
        }
    )
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}},
        }
    )
    assert "did not start" in (await client.answer(2, timeout=10))["error"]["message"]
    hover = (await client.answer(3, timeout=10))["error"]
    assert hover["code"] == -32803
    assert "did not start" in hover["message"] and "restarting" not in hover["message"]
    shown = [m for m in client.inbox if m.get("method") == "window/showMessage"]
    assert len(shown) == 1, "one message, not a pop-up per request"
    assert "did not start" in shown[0]["params"]["message"]
    assert "elan" in shown[0]["params"]["message"] and "--upstream" in shown[0]["params"]["message"]
    proc.kill()
    await proc.wait()


async def test_incremental_diagnostics_are_accumulated_per_version() -> None:
    """With `lean.incrementalDiagnosticSupport`, Lean sends a version's diagnostics in batches
    (`isIncremental: true` appends); an error in the first batch must survive the second."""
    cmd = sidecar_command(standin_lean_command(FACTS))
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    client = RawClient(proc)
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "processId": None,
                "rootUri": PROJECT.as_uri(),
                "capabilities": {"lean": {"incrementalDiagnosticSupport": True}},
            },
        }
    )
    await client.answer(1)
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    uri = (PROJECT / "Incremental.lean").as_uri()
    text = (
        "theorem uses_linarith (a b : ℚ) (h : a < b) : a ≤ b := by\n  linarith [sq_nonneg a]\n\n"
        + "".join(f"theorem t{i} : True := by\n  sorry\n\n" for i in range(3))
    )
    client.send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {"uri": uri, "languageId": "lean4", "version": 1, "text": text}
            },
        }
    )
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "leanSidecar/holes",
            "params": {"textDocument": {"uri": uri}},
        }
    )
    holes = (await client.answer(2))["result"]["holes"]
    batches = [
        m["params"] for m in client.inbox if m.get("method") == "textDocument/publishDiagnostics"
    ]
    assert [b.get("isIncremental") for b in batches] == [
        False,
        True,
    ]  # Lean's batches reached the editor
    assert "linarith failed" in batches[0]["diagnostics"][0]["message"]  # the error came first
    assert [h["kind"] for h in holes] == ["failingTactic", "sorry", "sorry", "sorry"]
    proc.kill()
    await proc.wait()


async def test_serve_works_with_regular_files_for_stdin_and_stdout(tmp_path) -> None:
    """asyncio's pipe transports refuse regular files: `lean-sidecar serve > file` and
    `lean-sidecar serve < file` must fall back to plain reads and writes, not crash."""
    answers = tmp_path / "answers"
    with answers.open("wb") as fout:
        proc = await asyncio.create_subprocess_exec(
            *sidecar_command(standin_lean_command(FACTS)),
            stdin=asyncio.subprocess.PIPE,
            stdout=fout,
            stderr=asyncio.subprocess.PIPE,
        )
    sender = RawClient.__new__(RawClient)
    sender.proc = proc
    sender.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": PROJECT.as_uri(), "capabilities": {}},
        }
    )
    await wait_until(lambda: b'"serverInfo"' in answers.read_bytes(), "initialize's answer")
    sender.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    await wait_until(
        lambda: b'"id":2' in answers.read_bytes().replace(b" ", b""), "shutdown's answer"
    )
    sender.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(proc.wait(), 20) == 0
    assert proc.stderr is not None
    assert b"Traceback" not in await proc.stderr.read()
    assert b'"serverInfo"' in answers.read_bytes()

    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with empty.open("rb") as fin:
        done = await asyncio.create_subprocess_exec(
            *sidecar_command(standin_lean_command(FACTS)),
            stdin=fin,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(done.communicate(), 30)
    assert b"Traceback" not in err, err.decode()[-2000:]
