"""In-process stand-ins for the unit tests: an in-memory editor stream and a fake Lean upstream
(the real LeanUpstream spawns a process; these tests exercise everything above it)."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from lean_sidecar.lsp.app import SidecarServer
from lean_sidecar.lsp.root import build_server
from lean_sidecar.settings import Settings


class MemoryWriter:
    """Collects what the server writes to the editor, decoded from LSP framing."""

    def __init__(self) -> None:
        self.buffer = b""

    def write(self, data: bytes) -> None:
        self.buffer += data

    def close(self) -> None:
        pass

    def messages(self) -> list[dict[str, Any]]:
        out, rest = [], self.buffer
        while rest:
            header, _, rest = rest.partition(b"\r\n\r\n")
            fields = dict(line.split(b":", 1) for line in header.split(b"\r\n"))
            length = int(fields[b"Content-Length"])
            out.append(json.loads(rest[:length]))
            rest = rest[length:]
        return out


class FakeUpstream:
    """Lean's server as the forwarder sees it: send/notify are recorded, requests answered
    from ``answers`` (method -> result)."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.alive = True
        self.sent: list[dict[str, Any]] = []
        self.requests: list[tuple[str, Any]] = []
        self.answers = answers or {}
        self._ids = itertools.count(100)

    def next_id(self) -> int:
        return next(self._ids)

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any, timeout: float | None = None) -> Any:
        self.requests.append((method, params))
        return self.answers.get(method)

    async def stop(self) -> None:
        self.alive = False


class Harness:
    """A whole sidecar in-process: editor messages in as JSON, editor messages out as JSON."""

    def __init__(self, lean_result: dict[str, Any] | None = None, **settings: Any) -> None:
        self.server: SidecarServer = build_server(Settings(**settings))
        self.writer = MemoryWriter()
        self.server.protocol.set_writer(self.writer)  # type: ignore[arg-type]
        self.upstream = FakeUpstream()
        lean = self.server.lean
        assert lean is not None
        self.lean = lean
        lean_result = lean_result or {"capabilities": {}, "serverInfo": {"name": "Lean 4 Server"}}

        async def start() -> dict[str, Any]:
            lean.upstream = self.upstream  # type: ignore[assignment]
            return lean_result

        lean.start = start  # type: ignore[method-assign]

    def send(self, message: dict[str, Any]) -> None:
        proto = self.server.protocol
        parsed = json.loads(
            json.dumps({"jsonrpc": "2.0", **message}), object_hook=proto.structure_message
        )
        proto.handle_message(parsed)

    def from_lean(self, message: dict[str, Any]) -> None:
        forwarder: Any = self.server.router()
        forwarder.from_lean({"jsonrpc": "2.0", **message})

    def out(self) -> list[dict[str, Any]]:
        return self.writer.messages()

    async def settle(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def initialize(self, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send(
            {
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": None, "capabilities": capabilities or {}},
            }
        )
        await self.settle()
        answer = next(m for m in self.out() if m.get("id") == 1)
        return dict(answer["result"])


class Sink:
    """A writer for a pygls protocol: keeps every frame it is given."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None: ...

    def answers(self) -> list[dict[str, Any]]:
        """The JSON bodies of the frames written."""
        return [json.loads(w.split(b"\r\n\r\n", 1)[1]) for w in self.written]
