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

Fault modes (keys of a response), for the fault-injection tests:
    {"headers_only": true}              200 and SSE headers, then nothing (until the client goes)
    {"truncate": true, "then": "hang"}  half the stream, then silence ("close" is the default)
    {"drip": 1.0}                       the whole stream, one byte per `drip` seconds
    {"status": 429, "retry_after": 2}   an HTTP error, with a Retry-After header
    {"status": 401, "body": "..."}      an error body; `{key}`, `{key_json}`, `{key_url}`,
                                        `{key_b64}` are replaced by the bearer key it received
    {"sse_garbage": "data: {oops"}      SSE headers, then these raw lines
    {"error_event": "boom"}             half the stream, then vLLM's in-stream error object
    {"no_index": true}                  choices without `index`
    {"chunk_chars": 65536}              bigger pieces (an oversized answer streams fast)
    {"chunk_delay": 2.0, "chunk_chars": 4}  the stream a few characters at a time, each after
                                        a pause: whole SSE lines that trickle (never silent
                                        for `stall_timeout`, never done within the budget)
    {"html": "<!DOCTYPE html>…"}        200 with Content-Type text/html and this page, what a
                                        proxy or a login portal in front of the server sends
    {"empty_choices": true}             a well-formed answer with `"choices": []` (an empty
                                        stream: the role chunk, usage, [DONE])
    {"finish": "length"}                the choices' `finish_reason` (default "stop")
Connections are tracked: `open_connections` is how many are still open on the server side.
`parallel` (default: unlimited) is how many answers are generated at once; the others wait,
sending nothing, as a server with that many slots keeps them queued; `max_active` is the most
seen at once. Subclasses (tests/standins/local_servers.py: Ollama, llama.cpp) change how many
choices an answer has, the error bodies and the extra routes through the `_`-hooks below.

Run alone: python tests/standins/openai_endpoint.py --script FILE --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    disconnected: bool = False
    bytes_sent: int = 0
    finished: bool = False


@dataclass
class StandInEndpoint:
    script: list[dict[str, Any]] = field(default_factory=list)
    model: str = "AI-MO/Kimina-Prover-Distill-8B"
    default_delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    chunk_chars: int = 40
    require_key: str | None = None  # like `vllm serve --api-key`: every /v1 route checks it
    parallel: int | None = None  # answers generated at once; the rest wait (None: no limit)
    max_model_len: int | None = None  # listed in /v1/models with owned_by "vllm" when set

    def __post_init__(self) -> None:
        self._counters: dict[int, int] = {}
        self._server: asyncio.base_events.Server | None = None
        self._slots: asyncio.Semaphore | None = None
        self.open_connections = 0
        self.connections_total = 0
        self.active = 0
        self.max_active = 0

    # ---- hooks for the stand-ins of other servers (tests/standins/local_servers.py)
    def _auth_error(self, path: str, headers: dict[str, str]) -> dict[str, Any] | None:
        """The 401 body for a request without the key (vLLM's --api-key middleware)."""
        auth = headers.get("authorization", "")
        if self.require_key is not None and auth != f"Bearer {self.require_key}":
            return {"error": "Unauthorized"}
        return None

    def _models_body(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.model, "object": "model"}
        if self.max_model_len is not None:  # as vLLM lists it (ModelCard)
            entry.update(owned_by="vllm", max_model_len=self.max_model_len)
        return {"object": "list", "data": [entry]}

    async def _extra_route(
        self, method: str, path: str, rec: Recorded, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer a route of this server's own; False when it has none by that name."""
        return False

    def _error_json(self, status: int, message: str) -> dict[str, Any]:
        """vLLM's error object (ErrorResponse)."""
        return {"error": {"message": message, "type": "InternalServerError", "code": status}}

    def _refuse(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """An error answer for a request this server rejects before generating."""
        return None

    def _choice_count(self, body: dict[str, Any]) -> int:
        """How many choices an answer has: vLLM gives `n`."""
        return int(body.get("n", 1))

    def _adjust(self, plan: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """The scripted answer as this server would send it (e.g. cut at its context)."""
        return plan

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
        self.open_connections += 1
        self.connections_total += 1
        try:
            await self._serve(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            self.open_connections -= 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
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
            refused = self._auth_error(path, headers)
            if refused is not None:
                await self._json(writer, 401, refused)
            elif method == "GET" and path in ("/v1/models", "/models"):
                await self._json(writer, 200, self._models_body())
            elif await self._extra_route(method, path, rec, writer):
                pass
            elif method == "GET" and path == "/health":
                await self._json(writer, 200, {})
            elif method == "POST" and path.endswith(("/completions",)):
                await self._generate(reader, writer, rec, path.endswith("chat/completions"))
            else:
                await self._json(writer, 404, self._error_json(404, f"no route {path}"))
            rec.finished = not rec.disconnected
        except (ConnectionError, asyncio.CancelledError):
            rec.disconnected = True

    async def _json(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        obj: Any,
        raw: bytes | None = None,
        extra: bytes = b"",
    ) -> None:
        data = raw if raw is not None else json.dumps(obj).encode()
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"%sConnection: close\r\n\r\n%s" % (status, len(data), extra, data)
        )
        await writer.drain()

    async def _wait_disconnect(self, reader: asyncio.StreamReader, rec: Recorded) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read()  # returns at EOF: the client went away
        rec.disconnected = True

    async def _until_disconnect(
        self, reader: asyncio.StreamReader, rec: Recorded, work: Any
    ) -> None:
        """Run ``work`` (writing the answer) but stop it as soon as the client disconnects."""
        job = asyncio.ensure_future(work)
        watch = asyncio.ensure_future(self._wait_disconnect(reader, rec))
        try:
            await asyncio.wait([job, watch], return_when=asyncio.FIRST_COMPLETED)
        finally:
            job.cancel()
            watch.cancel()
        if job.done() and not job.cancelled() and job.exception() is not None:
            exc = job.exception()
            if not isinstance(exc, ConnectionError):
                raise exc  # type: ignore[misc]

    def _error_body(self, rec: Recorded, plan: dict[str, Any]) -> bytes:
        status = plan["status"]
        if "body" in plan:
            key = rec.headers.get("authorization", "").removeprefix("Bearer ")
            return (
                str(plan["body"])
                .replace("{key}", key)
                .replace("{key_json}", json.dumps(key)[1:-1])
                .replace("{key_url}", quote(key, safe=""))
                .replace("{key_b64}", base64.b64encode(f"user:{key}".encode()).decode())
                .encode()
            )
        if status == 401:  # what vLLM's --api-key middleware answers
            return json.dumps({"error": "Unauthorized"}).encode()
        return json.dumps(self._error_json(status, "scripted failure")).encode()

    async def _generate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rec: Recorded, chat: bool
    ) -> None:
        assert rec.body is not None
        refusal = self._refuse(rec.body)
        if refusal is not None:
            await self._json(writer, refusal[0], refusal[1])
            return
        if self.parallel is not None and self._slots is None:
            self._slots = asyncio.Semaphore(self.parallel)
        if self._slots is not None:
            waiter = asyncio.ensure_future(self._wait_disconnect(reader, rec))
            slot = asyncio.ensure_future(self._slots.acquire())
            await asyncio.wait([waiter, slot], return_when=asyncio.FIRST_COMPLETED)
            if not slot.done():  # the client gave up while its request waited for a slot
                slot.cancel()
                return
            waiter.cancel()
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._answer(reader, writer, rec, chat)
        finally:
            self.active -= 1
            if self._slots is not None:
                self._slots.release()

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rec: Recorded, chat: bool
    ) -> None:
        assert rec.body is not None
        plan = self._adjust(self._pick(rec.body), rec.body)
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
            extra = b""
            if "retry_after" in plan:
                extra = b"Retry-After: %s\r\n" % str(plan["retry_after"]).encode()
            await self._json(
                writer, plan["status"], None, raw=self._error_body(rec, plan), extra=extra
            )
            return
        if "garbage" in plan:
            await self._json(writer, 200, None, raw=str(plan["garbage"]).encode())
            return
        if "html" in plan:
            page = str(plan["html"]).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(page) + page
            )
            await writer.drain()
            return
        n = 0 if plan.get("empty_choices") else self._choice_count(rec.body)
        texts = plan.get("texts") or [""]
        choices = [texts[i % len(texts)] for i in range(n)]
        tokens = sum(len(t) // 4 + 1 for t in choices)
        if not rec.body.get("stream"):
            await self._json(writer, 200, self._whole(plan, choices, chat, tokens))
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        await self._until_disconnect(
            reader, rec, self._sse(writer, rec, plan, choices, chat, tokens)
        )

    def _whole(
        self, plan: dict[str, Any], choices: list[str], chat: bool, tokens: int
    ) -> dict[str, Any]:
        reasoning = plan.get("reasoning", "")
        finish = plan.get("finish", "stop")
        out: list[dict[str, Any]] = []
        for i, t in enumerate(choices):
            if chat:
                message = {"role": "assistant", "content": t, "reasoning": reasoning or None}
                out.append({"index": i, "message": message, "finish_reason": finish})
            else:
                out.append({"index": i, "text": t, "finish_reason": finish})
            if plan.get("no_index"):
                del out[-1]["index"]
        return {
            "id": "cmpl-standin",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": out,
            "usage": {"completion_tokens": tokens},
        }

    def _events(
        self, plan: dict[str, Any], choices: list[str], chat: bool, tokens: int
    ) -> list[bytes]:
        """The SSE events vLLM sends: a role chunk per choice (chat), content pieces of all
        choices interleaved, a finish chunk per choice, the usage chunk, ``[DONE]``."""
        head = {
            "id": "chatcmpl-standin" if chat else "cmpl-standin",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": self.model,
        }

        def event(choice_list: list[dict[str, Any]], **more: Any) -> bytes:
            if plan.get("no_index"):
                for c in choice_list:
                    c.pop("index", None)
            return (
                b"data: " + json.dumps({**head, "choices": choice_list, **more}).encode() + b"\n\n"
            )

        def choice(i: int, piece: str | None, finish: str | None = None) -> dict[str, Any]:
            if chat:
                delta: dict[str, Any] = {} if piece is None else {"content": piece}
                return {"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {"index": i, "text": piece or "", "logprobs": None, "finish_reason": finish}

        size = int(plan.get("chunk_chars", self.chunk_chars))
        pieces = [[t[k : k + size] for k in range(0, max(len(t), 1), size)] for t in choices]
        out: list[bytes] = []
        if chat:
            for i in range(len(choices)):
                role = {"index": i, "delta": {"role": "assistant", "content": ""}}
                out.append(event([{**role, "logprobs": None, "finish_reason": None}]))
        for k in range(max((len(p) for p in pieces), default=0)):
            for i, p in enumerate(pieces):
                if k < len(p):
                    out.append(event([choice(i, p[k])]))
        if plan.get("truncate") or plan.get("error_event"):
            out = out[: max(1, len(out) // 2)]
            if plan.get("error_event"):
                err = {"message": plan["error_event"], "type": "InternalServerError", "code": 500}
                out.append(b"data: " + json.dumps({"error": err}).encode() + b"\n\n")
                out.append(b"data: [DONE]\n\n")
            return out
        for i in range(len(choices)):
            out.append(event([choice(i, None, plan.get("finish", "stop"))]))
        usage = {"prompt_tokens": 10, "total_tokens": 10 + tokens, "completion_tokens": tokens}
        out.append(event([], usage=usage))
        out.append(b"data: [DONE]\n\n")
        return out

    async def _sse(
        self,
        writer: asyncio.StreamWriter,
        rec: Recorded,
        plan: dict[str, Any],
        choices: list[str],
        chat: bool,
        tokens: int,
    ) -> None:
        if plan.get("headers_only"):
            await asyncio.Event().wait()  # until the client disconnects
        if "sse_garbage" in plan:
            writer.write(str(plan["sse_garbage"]).encode())
            await writer.drain()
            return
        events = self._events(plan, choices, chat, tokens)
        if plan.get("drip"):
            for byte in b"".join(events):
                writer.write(bytes([byte]))
                rec.bytes_sent += 1
                await writer.drain()
                await asyncio.sleep(float(plan["drip"]))
            return
        for ev in events:
            writer.write(ev)
            rec.bytes_sent += len(ev)
            await writer.drain()
            await asyncio.sleep(plan.get("chunk_delay", 0))
        if plan.get("truncate") and plan.get("then") == "hang":
            await asyncio.Event().wait()

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
