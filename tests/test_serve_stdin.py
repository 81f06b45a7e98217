"""`lean-sidecar serve` wherever its standard streams are not pipes: /dev/null (a service
manager, nohup, CI) and regular files. uvloop aborted the whole process (SIGABRT, exit 134, no
message) when asked to watch /dev/null; the end of input must instead end the server cleanly.

Exit codes (docs/troubleshooting.md): the end of stdin is the editor gone, 0; LSP's `exit`
notification, 0 after `shutdown` and 1 without it (tests/test_lsp_letter.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import CHECKOUT_PYTHONPATH, ROOT, sidecar_command, standin_lean_command


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def serve(
    tmp: Path, stdin: int | IO[bytes], stdout: int | IO[bytes], *args: str
) -> subprocess.CompletedProcess[str]:
    """`serve` with default settings: no upstream, no flag beyond ``args``."""
    return subprocess.run(
        [sys.executable, "-m", "lean_sidecar", "serve", *args],
        cwd=ROOT,
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "PYTHONPATH": CHECKOUT_PYTHONPATH},
    )


@pytest.mark.parametrize("stdout", ["pipe", "devnull"])
def test_serve_with_stdin_at_dev_null_ends_cleanly_with_one_line(
    tmp_path: Path, stdout: str
) -> None:
    out = subprocess.PIPE if stdout == "pipe" else subprocess.DEVNULL
    done = serve(tmp_path, subprocess.DEVNULL, out)
    assert done.returncode == 0, (done.returncode, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("lean-sidecar serve: standard input ended before any LSP message")
    assert "--tcp" in lines[0]
    assert not done.stdout  # nothing on the protocol's stream


@pytest.mark.parametrize(("ending", "code"), [("end of input", 0), ("exit", 1)])
def test_a_session_read_from_a_file_with_stdout_at_dev_null(
    tmp_path: Path, ending: str, code: int
) -> None:
    """The same streams with a session in the file: the end of input is the editor gone (0);
    `exit` without `shutdown` is 1, as LSP says. (`shutdown` then `exit` cannot be replayed
    from a file: an editor waits for the answer to `shutdown` before it sends `exit`.)"""
    session = tmp_path / "session.bin"
    messages: list[dict[str, object]] = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
    ]
    if ending == "exit":
        messages.append({"jsonrpc": "2.0", "method": "exit"})
    session.write_bytes(b"".join(frame(m) for m in messages))
    upstream = sidecar_command(standin_lean_command())[-1]
    with session.open("rb") as stdin:
        done = serve(tmp_path, stdin, subprocess.DEVNULL, "--upstream", upstream)
    assert done.returncode == code, done.stderr
    assert "standard input ended" not in done.stderr
