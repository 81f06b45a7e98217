"""The VS Code route with the official Lean extension: its `lake serve` goes through a `lake`
shim (put first on PATH by lean4.envPathExtensions) to the sidecar, which starts the real
`lake serve`; every other `lake` call reaches the real lake unchanged. One Lean server per file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, ROOT, standin_lean_command

CONFIG_JS = ROOT / "vscode-extension" / "out" / "config.js"


@pytest.mark.skipif(
    shutil.which("node") is None or not CONFIG_JS.exists(),
    reason="needs node and the compiled extension (npx tsc -p vscode-extension)",
)
def test_lake_shim_routes_serve_through_the_sidecar(tmp_path: Path) -> None:
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    key_file = tmp_path / "endpoint-key"  # what "Set endpoint API key" writes (mode 0600)
    key_file.write_text("sk-shim-test\n")
    key_file.chmod(0o600)
    text = subprocess.run(
        [
            "node",
            "-e",
            f"process.stdout.write(require({json.dumps(str(CONFIG_JS))})"
            f".lakeShim({json.dumps(sys.executable)}, {json.dumps(str(shim_dir))},"
            f" {json.dumps(str(key_file))}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (shim_dir / "lake").write_text(text)
    (shim_dir / "lake").chmod(0o755)
    # The "real" lake: records each call; `serve` runs the stand-in Lean server.
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
        "PYTHONPATH": str(ROOT),
    }
    build = subprocess.run(["lake", "build"], env=env, capture_output=True, text=True, timeout=30)
    assert build.stdout.strip() == "lake build: ok"
    proc = subprocess.Popen(
        ["lake", "serve", "--", str(PROJECT)],
        env=env,
        cwd=PROJECT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
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
        headers += proc.stdout.read(1)
    length = int(
        next(h for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length")).split(
            b":"
        )[1]
    )
    answer = json.loads(proc.stdout.read(length))
    # The shim exec'd the sidecar in place: the key is in its environment, not its command line.
    environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    assert b"LEAN_SIDECAR_API_KEY=sk-shim-test" in environ
    assert b"sk-shim-test" not in cmdline and b"lean_sidecar" in cmdline
    proc.kill()
    proc.wait()
    caps = answer["result"]["capabilities"]
    assert answer["result"]["serverInfo"]["name"] == "Lean 4 Server"  # Lean behind the sidecar
    assert "leanSidecar" in caps["experimental"]  # … with the sidecar in front
    assert calls.read_text().splitlines() == ["build", f"serve -- {PROJECT}"]  # one real lake serve
