"""Stand-in Kimina Lean Servers (tests/standins/kimina_server.py) as processes a test can start,
kill mid-run and start again on the same port, over the stand-in REPL of a stand-in toolchain."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.standins.toolchain import make_toolchain

HERE = Path(__file__).resolve().parent
SERVER = HERE / "standins" / "kimina_server.py"
LEAN_VERSION = "4.24.0"


def with_probe(facts: dict[str, Any], lean_version: str = LEAN_VERSION) -> dict[str, Any]:
    """``facts`` plus what the sidecar's probe asks (``theorem sidecarProbe : True := trivial``,
    its axioms, ``#eval Lean.versionString``), answered as that Lean would."""
    out = json.loads(json.dumps(facts))
    out.setdefault("proofs", {}).setdefault(": True", {"accepted": ["trivial"]})
    out["proofs"][": True"].setdefault("axioms", {})["trivial"] = []
    out.setdefault("info", {})["#eval Lean.versionString"] = json.dumps(lean_version)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class KiminaProc:
    """One stand-in server process; ``kill()`` is SIGKILL (no goodbye), ``start()`` again binds
    the same port."""

    lake: Path
    repl: Path
    project: Path
    port: int
    max_repls: int = 2
    max_wait: float = 60.0
    no_infotree: bool = False
    api_key: str | None = None
    log: Path | None = None
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KiminaProc:
        cmd = [
            sys.executable,
            str(SERVER),
            "--port",
            str(self.port),
            "--lake",
            str(self.lake),
            "--repl",
            str(self.repl),
            "--project",
            str(self.project),
            "--max-repls",
            str(self.max_repls),
            "--max-wait",
            str(self.max_wait),
        ]
        if self.no_infotree:
            cmd.append("--no-infotree")
        if self.log is not None:
            cmd += ["--log", str(self.log)]
        env = {k: v for k, v in os.environ.items() if k != "LEAN_SERVER_API_KEY"}
        if self.api_key is not None:
            env["LEAN_SERVER_API_KEY"] = self.api_key
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening on" in line, f"the stand-in Kimina server did not start: {line!r}"
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def checked(self) -> list[dict[str, Any]]:
        """The snippets this server answered (its log), the sidecar's probes left out."""
        if self.log is None or not self.log.exists():
            return []
        rows = [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]
        return [r for r in rows if "sidecarProbe" not in r["code"]]


def toolchain(tmp: Path, facts: dict[str, Any]) -> tuple[Path, Path, Path]:
    """A stand-in toolchain whose REPL answers ``facts`` (plus the probe's), and a project:
    (lake, the REPL binary, the project folder)."""
    tc = tmp / "kimina-tc"
    tc.mkdir(parents=True, exist_ok=True)
    path = tc / "facts.json"
    path.write_text(json.dumps(with_probe(facts), ensure_ascii=False))
    lake, repl_dir = make_toolchain(tc, path)
    project = tmp / "kimina-proj"
    project.mkdir(exist_ok=True)
    (project / "lean-toolchain").write_text(f"leanprover/lean4:v{LEAN_VERSION}\n")
    return lake, repl_dir / ".lake" / "build" / "bin" / "repl", project


def start_servers(
    tmp: Path, facts: dict[str, Any], n: int = 1, **kw: Any
) -> tuple[list[KiminaProc], Path]:
    """``n`` stand-in servers over one toolchain answering ``facts``; and the project folder."""
    lake, repl, project = toolchain(tmp, facts)
    servers = []
    for i in range(n):
        log = tmp / f"kimina-{i}.log"
        servers.append(KiminaProc(lake, repl, project, free_port(), log=log, **kw).start())
    return servers, project


def wait_until(predicate: Any, seconds: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
