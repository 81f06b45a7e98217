"""The REPL's sandbox, measured: a hostile "REPL" started exactly as the pool starts Lean's (a
candidate that reached Lean through a deliberately disabled gate) cannot write outside the
sandbox, read the user's home, open a socket or see a secret.

A control run with the sandbox turned off shows that the same hostile process does all of that,
so each assertion below can fail."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lean_bridge import sandbox
from lean_bridge.repl_pool import ReplPool, ReplSettings
from tests.conftest import PROJECT, ROOT
from tests.standins.toolchain import install_script

SECRET = "sk-sandbox-test-3b1f9c"
MECHANISM = sandbox.detect()
needs_sandbox = pytest.mark.skipif(
    MECHANISM == "none", reason="no sandbox tool works here (install bubblewrap)"
)
needs_bwrap = pytest.mark.skipif(
    MECHANISM != "bwrap", reason=f"file-system isolation needs bubblewrap (have: {MECHANISM})"
)


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A user with a home outside /tmp holding a secret, keys in the environment, a project."""
    home = Path(tempfile.mkdtemp(prefix=".sandbox-test-home-", dir=ROOT))
    (home / ".config").mkdir()
    (home / ".config" / "token").write_text("home-secret-7d2e\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LEAN_SIDECAR_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    project = tmp_path / "proj"
    project.mkdir()
    shutil.copy(PROJECT / "lean-toolchain", project / "lean-toolchain")
    listener = Listener()
    try:
        yield {"home": home, "project": project, "tmp": tmp_path, "listener": listener}
    finally:
        listener.close()
        shutil.rmtree(home, ignore_errors=True)


def hostile_toolchain(world: dict[str, Any]) -> tuple[Path, Path, dict[str, Path]]:
    tc = world["tmp"] / "tc"
    (tc / "repl" / ".lake" / "build" / "bin").mkdir(parents=True)
    shutil.copy(PROJECT / "lean-toolchain", tc / "repl" / "lean-toolchain")
    lake = tc / "lake"
    lake.write_text('#!/bin/sh\nif [ "$1" = "env" ]; then shift; exec "$@"; fi\nexit 2\n')
    lake.chmod(0o755)
    targets = {
        "project": world["project"] / "Evil.lean",
        "home": world["home"] / ".bashrc",
        "tmp": world["tmp"] / "outside.txt",
        "repo": ROOT / f".sandbox-escape-{os.getpid()}",
    }
    args = [sys.executable, str(install_script(tc, "hostile_repl.py"))]
    for p in targets.values():
        args += ["--write", str(p)]
    args += ["--read", str(world["home"] / ".config" / "token")]
    args += ["--read", f"/proc/{os.getpid()}/environ"]  # the sidecar's own environment
    args += ["--connect", f"127.0.0.1:{world['listener'].port}"]
    repl = tc / "repl" / ".lake" / "build" / "bin" / "repl"
    repl.write_text("#!/bin/sh\nexec " + shlex.join(args) + "\n")
    repl.chmod(0o755)
    return lake, tc / "repl", targets


def run_hostile(world: dict[str, Any], enabled: bool) -> tuple[dict[str, Any], dict[str, Path]]:
    lake, repl, targets = hostile_toolchain(world)
    pool = ReplPool(
        ReplSettings(
            project_dir=world["project"],
            repl_path=repl,
            lake_path=str(lake),
            pool_size=1,
            timeout=30,
            memory_mb=4096,
            sandbox=enabled,
        )
    )

    async def go() -> Any:
        try:
            return await pool.command("", 'theorem t : True := by\n  #eval! IO.getEnv "KEY"')
        finally:
            await pool.close()

    try:
        res = asyncio.run(go())
        assert res.error is None, res.error
        report: dict[str, Any] = json.loads(res.lean_messages[0].data)
        report["on_host"] = {k: p.exists() for k, p in targets.items()}
        return report, targets
    finally:
        targets["repo"].unlink(missing_ok=True)


@needs_sandbox
def test_sandboxed_repl_sees_no_secret_and_cannot_connect(world: dict[str, Any]) -> None:
    report, _ = run_hostile(world, enabled=True)
    assert report["env"] == {}, report["env"]
    assert SECRET not in json.dumps(report)
    assert report["home"] != str(world["home"])
    assert not report["connect"][f"127.0.0.1:{world['listener'].port}"].startswith("ok")
    assert world["listener"].accepted == 0
    assert report["limits"]["as"] == 4096 * 1024 * 1024
    assert 0 < report["limits"]["cpu"] <= sandbox.DEFAULT_CPU_SECONDS


@needs_bwrap
def test_sandboxed_repl_cannot_write_outside_or_read_the_home(world: dict[str, Any]) -> None:
    report, targets = run_hostile(world, enabled=True)
    assert report["on_host"] == {k: False for k in targets}, report["write"]
    assert "Read-only" in report["write"][str(targets["project"])]
    # (the repo is either read-only or, in a checkout under /tmp, hidden behind a private
    # folder: either way `on_host` above shows nothing reached the real file)
    token = str(world["home"] / ".config" / "token")
    assert not report["read"][token].startswith("ok"), report["read"]
    assert (world["home"] / ".config" / "token").read_text() == "home-secret-7d2e\n"
    assert not report["read"][f"/proc/{os.getpid()}/environ"].startswith("ok")


def test_control_without_sandbox_the_same_process_does_harm(world: dict[str, Any]) -> None:
    """The stand-in is effective: unconfined, it writes, reads, connects; the environment is
    still scrubbed (that part does not depend on the sandbox tool)."""
    report, targets = run_hostile(world, enabled=False)
    assert report["on_host"] == {k: True for k in targets}
    token = str(world["home"] / ".config" / "token")
    assert report["read"][token] == "ok: home-secret-7d2e\n"
    assert report["read"][f"/proc/{os.getpid()}/environ"].startswith("ok")
    assert report["connect"][f"127.0.0.1:{world['listener'].port}"] == "ok"
    assert report["env"] == {}


def test_scrubbed_environment_keeps_only_what_lake_needs(tmp_path: Path) -> None:
    environ = {
        "PATH": "/home/u/bin:/usr/bin",
        "HOME": "/home/u",
        "LEAN_SIDECAR_API_KEY": SECRET,
        "LEAN_SIDECAR_ENDPOINTS": "http://x",
        "OPENAI_API_KEY": SECRET,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "LANG": "C.UTF-8",
        "ELAN_HOME": "/opt/elan",
    }
    env = sandbox.scrubbed_env(environ, tmp_path, ["/opt/lake-dir"])
    assert SECRET not in json.dumps(env)
    assert not any(k.startswith("LEAN_SIDECAR_") for k in env)
    assert env["HOME"] == str(tmp_path)
    assert env["ELAN_HOME"] == "/opt/elan"
    assert env["PATH"].split(":")[:2] == ["/opt/lake-dir", "/opt/elan/bin"]
    assert "/home/u/bin" not in env["PATH"]
    assert env["LANG"] == "C.UTF-8"


def test_describe_names_the_active_protection() -> None:
    assert sandbox.describe(False).startswith("REPL sandbox: OFF")
    line = sandbox.describe(True)
    assert {"bwrap": "bubblewrap", "unshare": "unshare", "none": "none"}[MECHANISM] in line


@pytest.mark.skipif(
    MECHANISM == "none"
    or shutil.which("unshare") is None
    or not sandbox._probe(sandbox._unshare_base(shutil.which("unshare") or "unshare")),
    reason="unshare cannot create a network namespace here",
)
def test_unshare_fallback_still_cuts_the_network(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where bubblewrap is missing or refused, the fallback still isolates the network and
    scrubs the environment (the file system is not isolated: the log says so)."""
    monkeypatch.setattr(sandbox, "detect", lambda: "unshare")
    report, targets = run_hostile(world, enabled=True)
    assert world["listener"].accepted == 0
    assert not report["connect"][f"127.0.0.1:{world['listener'].port}"].startswith("ok")
    assert report["env"] == {}
    assert "NOT read-only" in sandbox.describe(True)
    # Its own process table and /proc: the sidecar's environment is out of reach; the home is
    # hidden, so its secret cannot be read and nothing written there reaches the real one.
    assert not report["read"][f"/proc/{os.getpid()}/environ"].startswith("ok")
    assert not report["read"][str(world["home"] / ".config" / "token")].startswith("ok")
    assert not targets["home"].exists()


def test_local_lake_dependencies_outside_the_project_stay_readable(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    manifest = {
        "version": "1.1.0",
        "packages": [
            {"type": "path", "name": "foo", "dir": "../foo", "inherited": False},
            {"type": "git", "name": "mathlib", "url": "https://x", "rev": "abc"},
        ],
    }
    (proj / "lake-manifest.json").write_text(json.dumps(manifest))
    policy = sandbox.policy_for(
        enabled=True, memory_mb=None, project_dir=proj, repl_dir=None, lake_path="lake"
    )
    assert (proj / "../foo").absolute() in policy.readable
    assert proj.absolute() in policy.readable
    assert Path.home() not in policy.readable


@needs_sandbox
async def test_a_stopped_repl_leaves_no_process_behind(tmp_path: Path) -> None:
    """Stopping a REPL (the pool's close, a replacement) kills what the sandbox started first,
    so each sandbox process is reaped by the one that started it: none is left, not even as a
    zombie waiting for the host's init (which lean-interact would wait a second on)."""
    import psutil

    from tests.search_helpers import make_pool

    pool = make_pool(tmp_path, size=1)
    try:
        await pool.command("", "theorem t : True := trivial")
        root = psutil.Process(pool._slots[0].server.sandbox_proc.pid)
        tree = [root, *root.children(recursive=True)]
        assert len(tree) > 1  # the sandbox's own processes, then the REPL
        await pool._replace(pool._slots[0])
        assert not [p.pid for p in tree if psutil.pid_exists(p.pid)]
        replacement = pool._slots[0].server.sandbox_proc.pid
        assert replacement != root.pid
        root = psutil.Process(replacement)
        tree = [root, *root.children(recursive=True)]
    finally:
        await pool.close()
    assert not [p.pid for p in tree if psutil.pid_exists(p.pid)]


@pytest.mark.skipif(
    MECHANISM == "none"
    or shutil.which("unshare") is None
    or not sandbox._probe(sandbox._unshare_base(shutil.which("unshare") or "unshare")),
    reason="unshare cannot create a network namespace here",
)
def test_unshare_prelude_lists_what_it_hides_when_it_runs(tmp_path: Path) -> None:
    """The unshare prelude lists the entries of a hidden folder that holds something kept (here
    /tmp, which holds the REPL's private folder) when it runs, not when the REPL's command is
    built: its size does not grow with /tmp (thousands of entries passed the kernel's limit on
    one argument), an entry made since is hidden too, and one removed since (another pool's
    folder, closed meanwhile) does not keep the REPL from starting."""
    import subprocess

    gone = Path(tempfile.mkdtemp(prefix="lean-sidecar-gone-", dir="/tmp"))
    policy = sandbox.SandboxPolicy(writable=(tmp_path,))
    inside = 'cat "$0"; echo started'
    late = Path("/tmp") / f"lean-sidecar-late-{os.getpid()}"
    argv = sandbox._unshare_argv(["/bin/sh", "-c", inside, str(late)], policy, tmp_path)
    script = argv[argv.index("-c") + 1]
    assert str(gone) not in script and str(tmp_path) in script
    gone.rmdir()
    late.write_text("made after the command was built\n")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    finally:
        late.unlink()
    assert (done.returncode, done.stdout) == (0, "started\n"), done.stderr
