"""The VS Code route with the official Lean extension: its `lake serve` goes through a `lake`
shim (put first on PATH by lean4.envPathExtensions) to the sidecar, which starts the real
`lake serve`; every other `lake` call reaches the real lake unchanged. One Lean server per file.

The endpoint API key reaches the sidecar in memory: the extension serves it on a Unix socket in a
private directory (vscode-extension/src/keyChannel.ts) and the shim reads it into the sidecar's
environment. The sidecar starts even when the socket is gone, and the user's project (the working
directory of `lake serve`) cannot shadow the sidecar's modules."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHECKOUT_PYTHONPATH, PROJECT, ROOT, standin_lean_command

CONFIG_JS = ROOT / "vscode-extension" / "out" / "config.js"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not CONFIG_JS.exists(),
    reason="needs node and the compiled extension (npx tsc -p vscode-extension)",
)


def write_shim(shim_dir: Path, key_socket: Path | None) -> None:
    """The shim exactly as the extension writes it (lakeShim of the compiled config.js)."""
    args = [json.dumps(sys.executable), json.dumps(str(shim_dir))]
    if key_socket is not None:
        args.append(json.dumps(str(key_socket)))
    text = subprocess.run(
        [
            "node",
            "-e",
            f"process.stdout.write(require({json.dumps(str(CONFIG_JS))}).lakeShim({', '.join(args)}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    shim_dir.mkdir(exist_ok=True)
    (shim_dir / "lake").write_text(text)
    (shim_dir / "lake").chmod(0o755)


class KeySocket:
    """What the extension's KeyChannel does: answer each connection with the key and close."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key, self.served = path, key, 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.key.encode())
                self.served += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def toolchain(tmp_path: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """A "real" lake that records each call (`serve` runs the stand-in Lean server), the shim
    folder and the environment with the shim first on PATH."""
    shim_dir = tmp_path / "shim"
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    calls = tmp_path / "calls.log"
    standin = " ".join(standin_lean_command(PROJECT / "holes_facts.json"))
    (real_dir / "lake").write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\nif [ "$1" = serve ]; then exec {standin}; fi\necho "lake $1: ok"\n'
    )
    (real_dir / "lake").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shim_dir}{os.pathsep}{real_dir}{os.pathsep}/usr/bin:/bin",
        "PYTHONPATH": CHECKOUT_PYTHONPATH,
    }
    env.pop("LEAN_SIDECAR_API_KEY", None)
    yield shim_dir, calls, env


def serve_and_initialize(
    env: dict[str, str], cwd: Path, stderr: Any = subprocess.DEVNULL
) -> tuple[dict[str, Any], list[bytes], bytes]:
    """`lake serve` through the shim: the initialize answer, the environment and the command line
    of the process that answered (the shim exec'd the sidecar in place)."""
    proc = subprocess.Popen(
        ["lake", "serve", "--", str(PROJECT)],
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    try:
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": PROJECT.as_uri(), "capabilities": {}},
            }
        ).encode()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        proc.stdin.flush()
        headers = b""
        while not headers.endswith(b"\r\n\r\n"):
            byte = proc.stdout.read(1)
            assert byte, f"the server exited ({proc.wait(timeout=30)}) before answering"
            headers += byte
        length = int(
            next(
                h for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length")
            ).split(b":")[1]
        )
        answer = json.loads(proc.stdout.read(length))
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    finally:
        proc.kill()
        proc.wait()
    return answer, environ, cmdline


def assert_sidecar_in_front_of_lean(answer: dict[str, Any], cmdline: bytes) -> None:
    caps = answer["result"]["capabilities"]
    assert answer["result"]["serverInfo"]["name"] == "Lean 4 Server"  # Lean behind the sidecar
    assert "leanSidecar" in caps["experimental"]  # … with the sidecar in front
    assert b"lean_sidecar" in cmdline and b"-m\0" not in cmdline


def test_lake_shim_routes_serve_through_the_sidecar_with_the_key_from_the_socket(
    tmp_path: Path, toolchain: tuple[Path, Path, dict[str, str]]
) -> None:
    shim_dir, calls, env = toolchain
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    keys = KeySocket(private / "key", "sk-shim-test")
    try:
        write_shim(shim_dir, keys.path)
        build = subprocess.run(
            ["lake", "build"], env=env, capture_output=True, text=True, timeout=30
        )
        assert build.stdout.strip() == "lake build: ok"
        assert keys.served == 0  # only `lake serve` asks for the key
        answer, environ, cmdline = serve_and_initialize(env, PROJECT)
    finally:
        keys.close()
    # The key reached the sidecar in its environment, not its command line, and in no file we
    # wrote; once read, its value is overwritten there: /proc shows the variable, not the key.
    assert keys.served == 1
    assert b"LEAN_SIDECAR_API_KEY=" + b"*" * len("sk-shim-test") in environ
    assert b"sk-shim-test" not in b"\0".join(environ)
    assert b"sk-shim-test" not in cmdline
    assert "sk-shim-test" not in (shim_dir / "lake").read_text()
    assert_sidecar_in_front_of_lean(answer, cmdline)
    assert calls.read_text().splitlines() == ["build", f"serve -- {PROJECT}"]  # one real lake serve


@pytest.mark.parametrize("where", ["no socket there", "no socket configured", "a plain file there"])
def test_lake_shim_starts_the_sidecar_without_a_key_when_the_socket_is_missing(
    tmp_path: Path, toolchain: tuple[Path, Path, dict[str, str]], where: str
) -> None:
    shim_dir, calls, env = toolchain
    path: Path | None = tmp_path / "gone" / "key"
    if where == "no socket configured":
        path = None
    elif where == "a plain file there":
        path = tmp_path / "key"
        path.write_text("sk-not-a-socket")
    write_shim(shim_dir, path)
    answer, environ, cmdline = serve_and_initialize(env, PROJECT)
    assert not any(e.startswith(b"LEAN_SIDECAR_API_KEY=") for e in environ)
    assert_sidecar_in_front_of_lean(answer, cmdline)
    assert calls.read_text().splitlines() == [f"serve -- {PROJECT}"]


def test_lake_shim_is_not_shadowed_by_the_users_project(
    tmp_path: Path, toolchain: tuple[Path, Path, dict[str, str]]
) -> None:
    """vscode-lean4 runs `lake serve` in the Lean project: modules there must not replace ours."""
    shim_dir, calls, env = toolchain
    write_shim(shim_dir, None)
    project = tmp_path / "user-project"
    (project / "lean_sidecar").mkdir(parents=True)
    marker = tmp_path / "decoy-ran"
    decoy = (
        f"import pathlib, sys\npathlib.Path({str(marker)!r}).write_text(__name__)\nsys.exit(3)\n"
    )
    for name in ("server.py", "lean_sidecar.py", "lean_sidecar/__init__.py"):
        (project / name).write_text(decoy)
    answer, _, cmdline = serve_and_initialize(env, project)
    assert not marker.exists(), f"the project's {marker.read_text()} ran instead of the sidecar"
    assert_sidecar_in_front_of_lean(answer, cmdline)
    assert calls.read_text().splitlines() == [f"serve -- {PROJECT}"]


def test_the_sidecar_behind_the_shim_logs_to_a_file_not_to_stderr(
    tmp_path: Path, toolchain: tuple[Path, Path, dict[str, str]]
) -> None:
    """The Lean extension shows every byte on its server's stderr as an error pop-up, so the
    sidecar it starts through the shim writes its log beside the shim's folder instead."""
    shim_dir, _calls, env = toolchain
    write_shim(shim_dir, None)
    env = {**env, "LEAN_SIDECAR_LOG_LEVEL": "DEBUG"}  # plenty to log
    err = tmp_path / "stderr"
    with err.open("wb") as sink:
        answer, environ, cmdline = serve_and_initialize(env, PROJECT, stderr=sink)
    log_file = shim_dir.parent / "sidecar.log"
    assert_sidecar_in_front_of_lean(answer, cmdline)
    assert f"LEAN_SIDECAR_LOG_FILE={log_file}".encode() in environ
    assert log_file.read_text().strip(), "the sidecar logged nothing to its file"
    assert err.read_bytes() == b""


class Session:
    """An editor's side of `lake serve` through the shim, as vscode-lean4 drives it: framed
    JSON-RPC, and an answer for each request the server sends (configuration, progress,
    registration)."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            ["lake", "serve", "--", str(PROJECT)],
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.seen: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        headers = b""
        while not headers.endswith(b"\r\n\r\n"):
            byte = self.proc.stdout.read(1)
            assert byte, f"the server exited ({self.proc.wait(timeout=30)})"
            headers += byte
        length = int(
            next(
                h for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length")
            ).split(b":")[1]
        )
        message: dict[str, Any] = json.loads(self.proc.stdout.read(length))
        self.seen.append(message)
        return message

    def request(self, msg_id: int, method: str, params: Any) -> Any:
        self.send({"id": msg_id, "method": method, "params": params})
        while True:
            message = self.read()
            if "method" in message and "id" in message:  # the server asks the editor
                answer = [None] if message["method"] == "workspace/configuration" else None
                self.send({"id": message["id"], "result": answer})
            elif message.get("id") == msg_id and "method" not in message:
                assert "error" not in message, message
                return message["result"]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_the_lean_extensions_session_through_the_shim(
    tmp_path: Path, toolchain: tuple[Path, Path, dict[str, str]]
) -> None:
    """What the Lean 4 extension sends through the shim: its own initializationOptions (Lean's
    `editDelay`, `hasWidgets`) and `didSave`, which the sidecar only passes on, are no warnings
    in the log that docs/troubleshooting.md sends users to; and the "Search proof" action runs
    the lean-sidecar extension's command, which shows the search as a cancellable notification
    (the Lean extension's client would show the server's progress in the status bar only)."""
    shim_dir, _calls, env = toolchain
    write_shim(shim_dir, None)
    project = tmp_path / "proj"
    shutil.copytree(PROJECT, project)
    fill = project / "Fill.lean"
    session = Session(env, project)
    try:
        session.request(
            1,
            "initialize",
            {
                "processId": None,
                "rootUri": project.as_uri(),
                "capabilities": {"workspace": {"configuration": True}},
                "initializationOptions": {"editDelay": 200, "hasWidgets": True},
            },
        )
        session.send({"method": "initialized", "params": {}})
        uri = fill.as_uri()
        text = fill.read_text(encoding="utf-8")
        item = {"uri": uri, "languageId": "lean4", "version": 1, "text": text}
        session.send({"method": "textDocument/didOpen", "params": {"textDocument": item}})
        session.send({"method": "textDocument/didSave", "params": {"textDocument": {"uri": uri}}})
        session.request(2, "leanSidecar/holes", {"textDocument": {"uri": uri}})
        at = {"line": 3, "character": 2}
        actions = session.request(
            3,
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": at, "end": at},
                "context": {"diagnostics": []},
            },
        )
        session.request(4, "shutdown", None)
    finally:
        session.close()
    search = next(a for a in actions if a["title"] == "Search proof for this sorry")
    assert search["command"]["command"] == "leanSidecar.searchProofWithNotification"
    assert search["command"]["arguments"] == [
        {"uri": uri, "version": 1, "position": {"line": 3, "character": 2}}
    ]
    log = (shim_dir.parent / "sidecar.log").read_text()
    warnings = [ln for ln in log.splitlines() if "WARNING" in ln]
    for noise in ("hasWidgets", "editDelay", "didSave", "unknown method"):
        assert not [w for w in warnings if noise in w], warnings


def test_doctor_checks_the_lake_that_the_search_uses_behind_the_shim(tmp_path: Path) -> None:
    """ "Run doctor" in the shim route: the extension host's PATH starts with the shim's folder
    (vscode-lean4 puts lean4.envPathExtensions first on it). The sidecar behind the shim runs
    with that folder taken out of PATH, so its `lake` (for the REPL, in the sandbox) is the real
    one; doctor checks that one too, as the search runs it, not the shim (which, in the
    sandbox, finds no real lake and fails)."""
    from tests.standins.toolchain import make_toolchain

    shim_dir = tmp_path / "shim"
    write_shim(shim_dir, None)
    lake, repl = make_toolchain(tmp_path / "tc", ROOT / "tests" / "nvim" / "repl_facts.json")
    project = tmp_path / "proj"
    shutil.copytree(ROOT / "tests" / "nvim" / "project", project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_SIDECAR_")}
    env.update(
        PATH=os.pathsep.join([str(shim_dir), str(lake.parent), "/usr/bin", "/bin"]),
        PYTHONPATH=CHECKOUT_PYTHONPATH,
        LEAN_SIDECAR_CACHE_PATH=str(tmp_path / "cache" / "p.sqlite"),
    )
    args = ["--project", str(project), "--repl-path", str(repl)]  # no --lake-path: `lake` on PATH
    done = subprocess.run(
        [sys.executable, "-m", "lean_sidecar", "doctor", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    lines = {ln[6:].split(" ")[0]: ln for ln in out.splitlines() if ln[:6].strip()}
    assert lines["lake"].startswith("OK") and str(lake) in lines["lake"], out
    assert lines["repl"].startswith("OK"), out
    assert "answers" in lines["repl"], out
    assert "no real lake" not in out
    assert str(shim_dir / "lake") in lines["editor"] and str(lake) in lines["editor"], out
    assert done.returncode == 0, out
