#!/usr/bin/env python3
"""A stand-in for vLLM's OpenAI-compatible server: real HTTP/1.1 on loopback, scripted answers.

Routes: GET /v1/models, GET /health, POST /v1/completions, POST /v1/chat/completions (streamed as
SSE `data: {...}` chunks ending with `data: [DONE]`, or whole JSON). Every request body and
header set is recorded; so is a client that disconnects before its answer is complete.

A script is a list of rules; the first rule whose `match` occurs in the prompt (all message
contents, or the prompt text) answers, taking its `responses` in turn (the last one repeats):

    [{"match": "theorem foo", "responses": [
        {"texts": ["```lean4\n...\n```"], "delay": 0.5},   # n choices cycle through texts
        {"status": 500},                                    # an HTTP error
        {"hang": true},                                     # never answers
        {"truncate": true, "texts": ["..."]},               # the stream stops before [DONE]
        {"garbage": "not json"}]}]                           # a body that is not JSON

Run alone: python tests/standins/openai_endpoint.py --script FILE --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    disconnected: bool = False
    finished: bool = False


@dataclass
class StandInEndpoint:
    script: list[dict[str, Any]] = field(default_factory=list)
    model: str = "AI-MO/Kimina-Prover-Distill-8B"
    default_delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    chunk_chars: int = 40

    def __post_init__(self) -> None:
        self._counters: dict[int, int] = {}
        self._server: asyncio.base_events.Server | None = None

    # ---- scripting
    def _prompt_text(self, body: dict[str, Any]) -> str:
        if "messages" in body:
            return "\n".join(str(m.get("content", "")) for m in body["messages"])
        return str(body.get("prompt", ""))

    def _pick(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = self._prompt_text(body)
        for k, rule in enumerate(self.script):
            if rule.get("match", "") in prompt:
                i = self._counters.get(k, 0)
                self._counters[k] = i + 1
                responses = rule["responses"]
                return dict(responses[min(i, len(responses) - 1)])
        return {"texts": ["I cannot prove this."]}

    # ---- HTTP
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        body_bytes = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        body = json.loads(body_bytes) if body_bytes else None
        rec = Recorded(path, headers, body)
        self.requests.append(rec)
        try:
            if method == "GET" and path in ("/v1/models", "/models"):
                await self._json(
                    writer, 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]}
                )
            elif method == "GET" and path == "/health":
                await self._json(writer, 200, {})
            elif method == "POST" and path.endswith(("/completions",)):
                await self._generate(reader, writer, rec, path.endswith("chat/completions"))
            else:
                await self._json(writer, 404, {"error": {"message": f"no route {path}"}})
            rec.finished = True
        except (ConnectionError, asyncio.CancelledError):
            rec.disconnected = True
        finally:
            writer.close()

    async def _json(
        self, writer: asyncio.StreamWriter, status: int, obj: Any, raw: bytes | None = None
    ) -> None:
        data = raw if raw is not None else json.dumps(obj).encode()
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, len(data), data)
        )
        await writer.drain()

    async def _wait_disconnect(self, reader: asyncio.StreamReader, rec: Recorded) -> None:
        await reader.read()  # returns at EOF: the client went away
        rec.disconnected = True

    async def _generate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rec: Recorded, chat: bool
    ) -> None:
        assert rec.body is not None
        plan = self._pick(rec.body)
        delay = plan.get("delay", self.default_delay)
        if plan.get("hang"):
            await self._wait_disconnect(reader, rec)
            return
        if delay:
            waiter = asyncio.ensure_future(self._wait_disconnect(reader, rec))
            await asyncio.wait([waiter], timeout=delay)
            if rec.disconnected:
                return
            waiter.cancel()
        if "status" in plan:
            await self._json(writer, plan["status"], {"error": {"message": "scripted failure"}})
            return
        if "garbage" in plan:
            await self._json(writer, 200, None, raw=str(plan["garbage"]).encode())
            return
        n = int(rec.body.get("n", 1))
        texts = plan.get("texts") or [""]
        choices = [texts[i % len(texts)] for i in range(n)]
        reasoning = plan.get("reasoning", "")
        tokens = sum(len(t) // 4 + 1 for t in choices)
        if not rec.body.get("stream"):
            if chat:
                out = [
                    {
                        "index": i,
                        "message": {
                            "role": "assistant",
                            "content": t,
                            "reasoning": reasoning or None,
                        },
                        "finish_reason": "stop",
                    }
                    for i, t in enumerate(choices)
                ]
            else:
                out = [
                    {"index": i, "text": t, "finish_reason": "stop"} for i, t in enumerate(choices)
                ]
            await self._json(
                writer,
                200,
                {
                    "id": "cmpl-standin",
                    "object": "chat.completion" if chat else "text_completion",
                    "choices": out,
                    "usage": {"completion_tokens": tokens},
                },
            )
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        for i, t in enumerate(choices):
            pieces = [
                t[k : k + self.chunk_chars] for k in range(0, max(len(t), 1), self.chunk_chars)
            ]
            if plan.get("truncate"):
                pieces = pieces[: max(1, len(pieces) // 2)]
            for piece in pieces:
                delta = {"content": piece} if chat else None
                choice = (
                    {"index": i, "delta": delta, "finish_reason": None}
                    if chat
                    else {"index": i, "text": piece, "finish_reason": None}
                )
                writer.write(b"data: " + json.dumps({"choices": [choice]}).encode() + b"\n\n")
                await writer.drain()
                await asyncio.sleep(plan.get("chunk_delay", 0))
            if plan.get("truncate"):
                return
            end = (
                {"index": i, "delta": {}, "finish_reason": "stop"}
                if chat
                else {"index": i, "text": "", "finish_reason": "stop"}
            )
            writer.write(b"data: " + json.dumps({"choices": [end]}).encode() + b"\n\n")
        writer.write(
            b"data: "
            + json.dumps({"choices": [], "usage": {"completion_tokens": tokens}}).encode()
            + b"\n\n"
        )
        writer.write(b"data: [DONE]\n\n")
        await writer.drain()

    # ---- running
    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def start_in_thread(self) -> str:
        """For synchronous callers (a CLI under test): serve from a background thread."""
        ready = threading.Event()
        url: list[str] = []

        def run() -> None:
            async def main() -> None:
                url.append(await self.start())
                ready.set()
                while True:
                    await asyncio.sleep(3600)

            asyncio.run(main())

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        return url[0]

    def generation_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("completions")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--script")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    script = json.load(open(args.script)) if args.script else []
    ep = StandInEndpoint(script=script, port=args.port, default_delay=args.delay)

    async def run() -> None:
        print(await ep.start(), flush=True)
        while True:
            await asyncio.sleep(3600)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        time.sleep(0)


if __name__ == "__main__":
    main()
