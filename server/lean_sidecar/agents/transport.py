"""How agents reach the server: stdio (the agent starts ``lean-sidecar mcp``), or streamable
HTTP (``lean-sidecar mcp --http``, or the editor's ``serve`` with ``mcpShare``), on loopback by
default and only for callers that send the bearer token.

The token lives in a file only its owner can read (0600, in a 0700 folder), so other users of
the machine cannot call the server (a loopback port is open to every local user). It is made
once and reused, so that the agents' configurations stay valid across restarts; a file that
others could read, or that another user owns, is replaced by a fresh token. The token is never
logged and never put anywhere else. The SDK's DNS-rebinding protection (Host and Origin
checked) is on for loopback addresses: a web page cannot reach the server either."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import secrets
import socket
import stat
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
TOKEN_BYTES = 32
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class TokenFileError(OSError):
    """The token file cannot be made private (its folder or file is not ours to fix)."""


def ensure_token(path: Path) -> str:
    """The token in ``path``, made (or remade) when missing, empty, not ours or readable by
    others; the folder is created 0700 and the file written 0600 before any byte of it."""
    path = path.expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        return _ensure_token(path)
    except FileExistsError:  # another sidecar made it just now (the editor's and `mcp --http`)
        return _ensure_token(path)


def _ensure_token(path: Path) -> str:
    with contextlib.suppress(FileNotFoundError):
        st = path.lstat()
        private = stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077
        if private:
            token = path.read_text(encoding="ascii", errors="replace").strip()
            if len(token) >= 32 and token.isascii() and token.isprintable():
                return token
        log.warning("the MCP token file %s was not private: a new token replaces it", path)
        path.unlink()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        os.fchmod(out.fileno(), 0o600)  # whatever the umask
        out.write(token + "\n")
    return token


class BearerAuth:
    """Every HTTP request must carry ``Authorization: Bearer <token>`` (compared in constant
    time); others get 401 before the MCP server sees them."""

    def __init__(self, app: App, token: str) -> None:
        self._app = app
        self._token = token.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            body = (
                b'{"error": "unauthorized: send Authorization: Bearer <the token in mcpTokenFile>"}'
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="lean-sidecar"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self._app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, given = bytes(value).partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    given.strip(), self._token
                )
        return False


class _Embedded(uvicorn.Server):
    """uvicorn inside a process that owns its signals (the editor's sidecar, ``mcp``'s own
    loop): it must not install handlers of its own, nor re-raise signals when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpService:
    """The MCP server on streamable HTTP, running in the current event loop."""

    def __init__(self, server: _Embedded, task: asyncio.Task[None], url: str) -> None:
        self._server = server
        self._task = task
        self.url = url

    @classmethod
    async def start(cls, mcp: Server[Any], host: str, port: int, token: str) -> HttpService:
        """Listen on ``host``:``port`` (0: a free port). The socket is bound here, so a port in
        use is an OSError for the caller to report, not an exit of the process."""
        app = mcp.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
        config = uvicorn.Config(
            BearerAuth(app, token),
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        bound = sock.getsockname()[1]
        server = _Embedded(config)
        task = asyncio.ensure_future(cls._serve(server, sock))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # its failure, raised here
            raise OSError(f"the MCP HTTP server stopped at start-up on {host}:{bound}")
        if host not in LOOPBACK:
            log.warning(
                "MCP listens on %s: reachable from other machines, with the token as its only "
                "protection",
                host,
            )
        shown = f"[{host}]" if ":" in host else host
        return cls(server, task, f"http://{shown}:{bound}{MCP_PATH}")

    @staticmethod
    async def _serve(server: _Embedded, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn exits on a failed start-up: not the process
            raise OSError(f"the MCP HTTP server could not start (exit {exc.code})") from None
        finally:
            sock.close()

    async def wait(self) -> None:
        await self._task

    def request_stop(self) -> None:
        """Stop gracefully (open streams closed, the SDK's sessions ended); ``wait`` returns."""
        self._server.should_exit = True

    async def stop(self) -> None:
        self._server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self._task, 10)


async def serve_stdio(mcp: Server[Any]) -> None:
    """Serve one agent on stdin/stdout until it closes them."""
    async with stdio_server() as (read, write):
        await mcp.run(read, write, mcp.create_initialization_options())
