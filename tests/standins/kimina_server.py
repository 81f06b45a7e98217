#!/usr/bin/env python3
"""A stand-in for Kimina Lean Server (github.com/project-numina/kimina-lean-server, read at
fb2393d, "feat: switch default to v4.26.0"): its REST API over real HTTP/1.1 on loopback, in
front of REPL processes it starts as Kimina does (``lake env <repl>`` in the project folder) —
in the tests, the stand-in REPL (tests/standins/repl.py) of a stand-in toolchain.

What it reproduces, from Kimina's source:

- routes (``server/main.py``): ``POST /api/check`` (and ``/api/check/``),
  ``GET /health`` (``/health/``, ``/``) answering ``{"status": "ok"}``
  (``server/routers/health.py``), ``POST /verify`` and ``/one_pass_verify_batch`` (the backward-
  compatible batch: ``codes`` of ``{custom_id, proof|code}``, ``timeout``, ``infotree_type``,
  ``disable_cache``; ``server/routers/backward.py``);
- the request and answer shapes (``client/kimina_client/models.py``): ``CheckRequest``
  ``{snippets: [{id, code}], timeout: int >= 0 (30), debug, reuse (true), infotree: "full" |
  "tactics" | "original" | "substantive" | null}``; ``CheckResponse`` ``{results: [ReplResponse
  {id, time, error?, response?: CommandResponse | {"message"}, diagnostics?}]}``, ``None``
  fields left out (``response_model_exclude_none``); FastAPI's ``{"detail": …}`` errors;
- the API key (``server/auth.py``): with ``LEAN_SERVER_API_KEY`` set, the ``Authorization``
  header, ``Bearer `` removed, must equal it: 401 "Missing API key" / "Invalid API key";
- the split (``server/split.py`` ``split_snippet``): leading blank and ``import`` lines are the
  header (every ``import Mathlib…`` becomes one ``import Mathlib``), the rest, re-joined from
  ``str.splitlines()`` with ``\\n``, the body; the messages' and sorries' lines of the answer are
  shifted by the header's line count, the info tree's are not (``server/routers/check.py``
  ``_apply_header_offset``, which also leaves the sorries alone when there is no message);
- the REPLs (``server/manager.py``, ``server/repl.py``): at most ``--max-repls``; a free REPL with
  the same header is reused (``reuse``), else a new one starts, or the oldest free one is
  replaced; none free within ``--max-wait`` s: 429 "No available REPLs". A new REPL runs the
  header first (``{"cmd": header}``), then every body as ``{"cmd": body, "env": 0, "gc": true}``
  (plus ``infotree``); a header or body past ``timeout`` s kills the REPL and answers
  ``error: "Lean REPL [header ]command timed out in {timeout} seconds"``; a REPL that dies is a
  500 with the reason.

Test knobs: ``--no-infotree`` (a server that drops the info tree: the sidecar must refuse it),
``--log FILE`` (one JSON line per snippet checked: its id, code and the answer's time),
``STANDIN_PIDFILE`` (append this process's pid). Nothing else of Kimina (its database, its
CPU/memory diagnostics, its logging) is reproduced.

Run: python tests/standins/kimina_server.py --port 8000 --lake LAKE --repl REPL --project DIR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

INFOTREE_LEVELS = ("full", "tactics", "original", "substantive")


class HTTPError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status, self.detail = status, detail


# ---- server/split.py --------------------------------------------------------------------------


def split_snippet(code: str) -> tuple[str, str, int]:
    lines = code.splitlines()
    i = 0
    while i < len(lines) and (lines[i].strip() == "" or lines[i].strip().startswith("import ")):
        i += 1
    header_lines = [x.strip() for x in lines[:i]]
    body = "\n".join(lines[i:])
    imports: list[str] = []
    seen: set[str] = set()
    has_mathlib = False
    for line in (x for x in header_lines if x.startswith("import ")):
        if line.startswith("import Mathlib"):
            has_mathlib = True
        elif line not in seen:
            seen.add(line)
            imports.append(line)
    header = "\n".join((["import Mathlib"] if has_mathlib else []) + imports)
    return header, body, i


# ---- server/repl.py ---------------------------------------------------------------------------


@dataclass(eq=False)
class Repl:
    header: str
    command: list[str]
    cwd: str
    proc: asyncio.subprocess.Process | None = None
    use_count: int = 0
    last_check_at: float = field(default_factory=time.monotonic)

    @property
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.command,
            cwd=self.cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def send(self, code: str, is_header: bool, infotree: str | None) -> dict[str, Any]:
        if not self.is_running:
            raise RuntimeError("REPL process not started or shut down")
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        cmd: dict[str, Any] = {"cmd": code}
        if self.use_count != 0 and not is_header:
            cmd["env"] = 0
            cmd["gc"] = True
        if infotree:
            cmd["infotree"] = infotree
        try:
            self.proc.stdin.write((json.dumps(cmd, ensure_ascii=False) + "\n\n").encode())
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise RuntimeError("Lean process broken pipe") from None
        lines: list[bytes] = []
        while True:
            chunk = await self.proc.stdout.readline()
            if not chunk or not chunk.strip():
                break
            lines.append(chunk)
        if not lines:
            raise RuntimeError("the Lean REPL ended without an answer")
        try:
            answer: dict[str, Any] = json.loads(b"".join(lines))
        except json.JSONDecodeError:
            raise RuntimeError("JSON decode error") from None
        self.use_count += 1
        return answer

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


# ---- server/manager.py ------------------------------------------------------------------------


class Manager:
    def __init__(self, command: list[str], cwd: str, max_repls: int, max_wait: float) -> None:
        self.command, self.cwd = command, cwd
        self.max_repls, self.max_wait = max_repls, max_wait
        self.free: list[Repl] = []
        self.busy: set[Repl] = set()
        self.cond = asyncio.Condition()
        self.closing: set[asyncio.Future[None]] = set()  # REPLs being replaced

    async def get_repl(self, header: str, reuse: bool) -> Repl:
        deadline = time.monotonic() + self.max_wait
        async with self.cond:
            while True:
                if reuse:
                    for i, r in enumerate(self.free):
                        if r.header == header:
                            repl = self.free.pop(i)
                            self.busy.add(repl)
                            return repl
                if len(self.free) + len(self.busy) < self.max_repls:
                    break
                if self.free:
                    oldest = min(self.free, key=lambda r: r.last_check_at)
                    self.free.remove(oldest)
                    self.closing.add(asyncio.ensure_future(oldest.close()))
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HTTPError(429, "No available REPLs")
                try:
                    await asyncio.wait_for(self.cond.wait(), remaining)
                except asyncio.TimeoutError:
                    raise HTTPError(429, "No available REPLs") from None
            repl = Repl(header, self.command, self.cwd)
            self.busy.add(repl)
            return repl

    async def release(self, repl: Repl) -> None:
        async with self.cond:
            self.busy.discard(repl)
            self.free.append(repl)
            repl.last_check_at = time.monotonic()
            self.cond.notify(1)

    async def destroy(self, repl: Repl) -> None:
        async with self.cond:
            self.busy.discard(repl)
            if repl in self.free:
                self.free.remove(repl)
            self.cond.notify(1)
        await repl.close()

    async def prep(self, repl: Repl, timeout: float) -> dict[str, Any] | None:
        """A new REPL runs its header first."""
        if repl.is_running:
            return None
        await repl.start()
        if repl.header.strip():
            # Kimina keeps the header's answer; only a timeout or a failure stops the check
            await asyncio.wait_for(repl.send(repl.header, True, None), timeout)
        return None


# ---- server/routers/check.py ------------------------------------------------------------------


def apply_header_offset(response: dict[str, Any], offset: int) -> None:
    if offset <= 0:
        return
    messages = response.get("messages")
    if not messages:
        return
    for m in messages:
        for key in ("pos", "endPos"):
            if m.get(key):
                m[key]["line"] += offset
    for s in response.get("sorries") or []:
        for key in ("pos", "endPos"):
            if s.get(key):
                s[key]["line"] += offset


class Server:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.api_key = os.environ.get("LEAN_SERVER_API_KEY") or None
        self.manager = Manager(
            [args.lake, "env", args.repl], args.project, args.max_repls, args.max_wait
        )
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

    def require_key(self, headers: dict[str, str]) -> None:
        if self.api_key is None:
            return
        auth = headers.get("authorization")
        if not auth:
            raise HTTPError(401, "Missing API key")
        if auth.removeprefix("Bearer ").strip() != self.api_key:
            raise HTTPError(401, "Invalid API key")

    async def run_one(
        self, sid: str, code: str, timeout: float, reuse: bool, infotree: str | None
    ) -> dict[str, Any]:
        header, body, header_lines = split_snippet(code)
        repl = await self.manager.get_repl(header, reuse)
        t0 = time.monotonic()
        try:
            prep = await self.manager.prep(repl, timeout)
            if prep is not None:
                return {"id": sid, "time": 0.0, "response": prep}
        except asyncio.TimeoutError:
            await self.manager.destroy(repl)
            return {
                "id": sid,
                "error": f"Lean REPL header command timed out in {timeout} seconds",
                "time": timeout,
            }
        except Exception as exc:
            await self.manager.destroy(repl)
            raise HTTPError(500, str(exc)) from None
        if self.args.no_infotree:
            infotree = None
        try:
            answer = await asyncio.wait_for(repl.send(body, False, infotree), timeout)
        except asyncio.TimeoutError:
            await self.manager.destroy(repl)
            return {
                "id": sid,
                "error": f"Lean REPL command timed out in {timeout} seconds",
                "time": timeout,
            }
        except Exception as exc:
            await self.manager.destroy(repl)
            raise HTTPError(500, str(exc)) from None
        elapsed = round(time.monotonic() - t0, 6)
        if "message" not in answer:
            apply_header_offset(answer, header_lines)
        await self.manager.release(repl)
        if self.log:
            self.log.write(json.dumps({"id": sid, "code": code, "time": elapsed}) + "\n")
            self.log.flush()
        return {"id": sid, "time": elapsed, "response": answer}

    async def check(self, body: dict[str, Any]) -> dict[str, Any]:
        snippets = body.get("snippets")
        timeout = body.get("timeout", 30)
        infotree = body.get("infotree")
        if (
            not isinstance(snippets, list)
            or not snippets
            or not all(
                isinstance(s, dict)
                and isinstance(s.get("id"), str)
                and isinstance(s.get("code"), str)
                for s in snippets
            )
            or len({s["id"] for s in snippets}) != len(snippets)
            or not isinstance(timeout, int)
            or timeout < 0
            or (infotree is not None and infotree not in INFOTREE_LEVELS)
        ):
            raise HTTPError(422, [{"type": "value_error", "msg": "invalid CheckRequest"}])
        reuse = bool(body.get("reuse", True))
        results = await asyncio.gather(
            *(self.run_one(s["id"], s["code"], float(timeout), reuse, infotree) for s in snippets)
        )
        return {"results": list(results)}

    async def verify(self, body: dict[str, Any]) -> dict[str, Any]:
        codes = body.get("codes")
        if not isinstance(codes, list):
            raise HTTPError(422, [{"type": "value_error", "msg": "invalid VerifyRequestBody"}])
        timeout = float(body.get("timeout", 300))
        infotree = body.get("infotree_type")
        reuse = not body.get("disable_cache", False)
        answers = await asyncio.gather(
            *(
                self.run_one(
                    str(c["custom_id"]),
                    c.get("proof") if c.get("proof") is not None else c.get("code", ""),
                    timeout,
                    reuse,
                    infotree,
                )
                for c in codes
            )
        )
        results = []
        for a in answers:
            r: dict[str, Any] = {"custom_id": a["id"]}
            if a.get("error") is not None:
                r["error"] = a["error"]
            if a.get("response") is not None:
                r["response"] = {**a["response"], "time": a["time"]}
            results.append(r)
        return {"results": results}

    async def route(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        path = path.split("?", 1)[0]
        if method == "GET" and path in ("/health", "/health/", "/"):
            return 200, {"status": "ok"}
        if method == "POST" and path in (
            "/api/check",
            "/api/check/",
            "/verify",
            "/one_pass_verify_batch",
        ):
            try:
                body = json.loads(raw or b"null")
            except json.JSONDecodeError:
                raise HTTPError(
                    422, [{"type": "json_invalid", "msg": "JSON decode error"}]
                ) from None
            if not isinstance(body, dict):
                raise HTTPError(422, [{"type": "model_attributes_type", "msg": "not an object"}])
            self.require_key(headers)
            if path.startswith("/api/check"):
                return 200, await self.check(body)
            return 200, await self.verify(body)
        raise HTTPError(404, "Not Found")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                try:
                    status, payload = await self.route(method, path, headers, raw)
                except HTTPError as exc:
                    status, payload = exc.status, {"detail": exc.detail}
                data = json.dumps(payload, ensure_ascii=False).encode()
                reason = {
                    200: "OK",
                    401: "Unauthorized",
                    404: "Not Found",
                    422: "Unprocessable Entity",
                    429: "Too Many Requests",
                    500: "Internal Server Error",
                }.get(status, "Error")
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def serve(args: argparse.Namespace) -> None:
    server = Server(args)
    srv = await asyncio.start_server(server.handle, args.host, args.port, reuse_address=True)
    port = srv.sockets[0].getsockname()[1]
    if os.environ.get("STANDIN_PIDFILE"):
        with open(os.environ["STANDIN_PIDFILE"], "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    print(f"listening on http://{args.host}:{port}", flush=True)
    async with srv:
        await srv.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--lake", required=True)
    p.add_argument("--repl", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--max-repls", type=int, default=max((os.cpu_count() or 1) - 1, 1))
    p.add_argument("--max-wait", type=float, default=60.0)
    p.add_argument("--no-infotree", action="store_true")
    p.add_argument("--log")
    args = p.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
