"""Every Lean REPL runs in a sandbox, because what it elaborates is text from a model.

The candidate gate admits only proofs, but a gate meets constructs nobody listed; this is the
second wall. A REPL started here has no network, sees the file system read-only except a private
temporary directory (and the pool's own folder of pickled environments), cannot see the user's
home beyond the project, the REPL and the Lean toolchain, runs with memory and CPU-time caps,
and gets a scrubbed environment: no API keys, no ``LEAN_SIDECAR_*`` values, a minimal ``PATH``
and ``HOME``.

Mechanisms, strongest first (``detect()`` tries each one for real: containers may refuse user
namespaces even where the tool is installed):

- ``bwrap`` (bubblewrap): new mount, network, PID, IPC and UTS namespaces; everything above.
- ``unshare``: a new network namespace only (no network); the file system is not isolated.
- ``none``: only the resource caps and the scrubbed environment.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lean_bridge.compat import repl_command, set_repl_process

if TYPE_CHECKING:
    from lean_interact import LeanREPLConfig, LeanServer

log = logging.getLogger(__name__)

Mechanism = Literal["bwrap", "unshare", "none"]
DEFAULT_CPU_SECONDS = 3600  # per REPL process, over its whole life; the pool replaces a dead one
FILE_SIZE_MB = 2048  # largest file the REPL may write (pickled environments)
_PASS_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "ELAN_TOOLCHAIN", "TERM")
# Folders that hold other users' or other programs' data and sockets: hidden in the sandbox.
_HIDDEN = ("/home", "/root", "/run", "/var/run", "/tmp", "/var/tmp", "/mnt", "/media", "/srv")


@dataclass(frozen=True)
class SandboxPolicy:
    """What one REPL may touch. ``readable`` and ``writable`` are host paths."""

    enabled: bool = True
    memory_mb: int | None = None
    cpu_seconds: int | None = DEFAULT_CPU_SECONDS
    readable: tuple[Path, ...] = ()
    writable: tuple[Path, ...] = ()
    path_dirs: tuple[str, ...] = field(default_factory=tuple)  # put first on the REPL's PATH


def _probe(argv: Sequence[str]) -> bool:
    try:
        done = subprocess.run(
            [*argv, "/bin/sh", "-c", "exit 0"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@functools.cache
def detect() -> Mechanism:
    """The strongest mechanism that actually works on this machine (tried, not assumed)."""
    if platform.system() != "Linux":
        return "none"
    bwrap = shutil.which("bwrap")
    if bwrap and _probe([bwrap, *_bwrap_base()]):
        return "bwrap"
    unshare = shutil.which("unshare")
    if unshare and _probe(_unshare_base(unshare)):
        return "unshare"
    return "none"


def describe(enabled: bool = True) -> str:
    """One line for the log and ``lean-sidecar doctor``: which protection the REPL runs under."""
    if not enabled:
        return (
            "REPL sandbox: OFF (turned off by the replSandbox setting); "
            "model output runs unconfined"
        )
    return {
        "bwrap": "REPL sandbox: bubblewrap (no network, read-only file system, private /tmp, "
        "home hidden, memory and CPU caps, scrubbed environment)",
        "unshare": "REPL sandbox: unshare (no network, own process table, home and /tmp hidden, "
        "memory and CPU caps, scrubbed environment; file system NOT read-only: install "
        "bubblewrap for that)",
        "none": "REPL sandbox: none available (only memory and CPU caps and a scrubbed "
        "environment; install bubblewrap)",
    }[detect()]


def unsandboxed_reason(enabled: bool = True) -> str | None:
    """Why a model's candidates would run unconfined here, or None when a sandbox works."""
    if not enabled:
        return "the REPL sandbox is turned off (replSandbox)"
    if detect() == "none":
        return "no sandbox works on this machine (neither bubblewrap nor user namespaces)"
    return None


def _bwrap_base() -> list[str]:
    return [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
    ]  # fmt: skip


def _unshare_base(unshare: str) -> list[str]:
    """No network, and a PID namespace with its own /proc: the REPL sees no process of the
    user's, the sidecar's /proc/<pid>/environ included. Its own mount namespace lets it hide
    folders (``_unshare_hiding``)."""
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [unshare, *user, "--net", "--mount", "--pid", "--fork", "--mount-proc", "--"]


def _unshare_hiding(policy: SandboxPolicy, private_tmp: Path) -> str:
    """A shell prelude, run inside the unshare namespaces, that lays an empty tmpfs over each
    hidden folder (home, /tmp, /run, …) — or, where the REPL must see something inside one (the
    project, the toolchain, its private folder), over each of its other entries.

    Those other entries are listed when the prelude runs, not when the command is built: /tmp
    may hold thousands (a prelude naming each one passed the kernel's limit on one argument),
    and changes meanwhile (an entry made since is hidden too; one removed since needs no
    hiding). Any other failure to mount stops the REPL from starting."""
    keep = {p.resolve() for p in (*policy.readable, *policy.writable, private_tmp) if p.exists()}
    lines: list[str] = []

    def hide(d: Path) -> None:
        inside = [k for k in keep if k == d or d in k.parents]
        if not inside:
            lines.append(_mount_unless_gone("-t tmpfs tmpfs", shlex.quote(str(d))))
            return
        if d in inside:
            return  # the folder itself is kept, with all it holds
        # The entries on the way to what is kept: kept themselves, or folders to hide in turn.
        on_way = sorted({d / k.relative_to(d).parts[0] for k in inside})
        for entry in on_way:
            if entry not in keep:
                hide(entry)
        folder = shlex.quote(str(d))
        skip = "|".join(shlex.quote(str(e)) for e in on_way)
        lines.extend(
            [
                f"for e in {folder}/* {folder}/.[!.]* {folder}/..?*; do",
                f'  case "$e" in {skip}) continue ;; esac',
                '  if [ -L "$e" ]; then continue; fi',
                '  if [ -d "$e" ]; then ' + _mount_unless_gone("-t tmpfs tmpfs", '"$e"'),
                '  elif [ -e "$e" ]; then ' + _mount_unless_gone("--bind /dev/null", '"$e"'),
                "  fi",
                "done",
            ]
        )

    for d in _hidden_dirs(os.environ.get("HOME")):
        hide(Path(d).resolve())
    return "set -e\n" + "\n".join(lines) + '\nexec "$@"\n'


def _mount_unless_gone(how: str, target: str) -> str:
    """``mount`` over ``target`` (a shell word); failing only where the target still exists."""
    return f"mount {how} {target} || [ ! -e {target} ]"


def _unshare_argv(argv: Sequence[str], policy: SandboxPolicy, private_tmp: Path) -> list[str]:
    base = _unshare_base(shutil.which("unshare") or "unshare")
    script = _unshare_hiding(policy, private_tmp)
    return [*base, "/bin/sh", "-c", script, "sh", *argv]


def _hidden_dirs(home: str | None) -> list[str]:
    dirs = [d for d in _HIDDEN if os.path.isdir(d) and not os.path.islink(d)]
    if home and os.path.isdir(home) and home not in dirs and home != "/":
        dirs.append(home)
    return dirs


def wrap(
    argv: Sequence[str], policy: SandboxPolicy, private_tmp: Path, cwd: str | None = None
) -> list[str]:
    """``argv`` run inside the sandbox (unchanged when it is off or nothing is available)."""
    if not policy.enabled:
        return list(argv)
    mech = detect()
    if mech == "unshare":
        return _unshare_argv(argv, policy, private_tmp)
    if mech == "none":
        return list(argv)
    out = [shutil.which("bwrap") or "bwrap", *_bwrap_base()]
    hidden = _hidden_dirs(os.environ.get("HOME"))
    for d in hidden:
        out += ["--tmpfs", d]
    for p in sorted(set(policy.readable), key=lambda q: len(str(q))):  # parents first
        if p.exists():
            rp = str(p.resolve())
            out += ["--ro-bind", rp, rp]
            # A path reached through a symlink (`~/.elan -> /opt/elan`) inside a hidden folder
            # must exist at its own name too: that is the name in PATH and ELAN_HOME.
            if str(p) != rp and any(str(p).startswith(d + "/") for d in hidden):
                out += ["--ro-bind", rp, str(p)]
    for p in policy.writable:
        rp = str(p.resolve())
        out += ["--bind", rp, rp]
    out += ["--bind", str(private_tmp), str(private_tmp), "--chdir", cwd or str(private_tmp)]
    return [*out, "--", *argv]


def scrubbed_env(
    environ: Mapping[str, str], home: Path, path_dirs: Sequence[str] = ()
) -> dict[str, str]:
    """The REPL's whole environment: nothing secret, only what ``lake``/``lean`` need."""
    elan_home = environ.get("ELAN_HOME") or str(Path(environ.get("HOME", "/root")) / ".elan")
    path = [*path_dirs, str(Path(elan_home) / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]
    env = {
        "PATH": ":".join(dict.fromkeys(p for p in path if p)),
        "HOME": str(home),
        "TMPDIR": str(home),
        "ELAN_HOME": elan_home,
    }
    for key in _PASS_ENV:
        if key in environ:
            env[key] = environ[key]
    return env


def _limits(policy: SandboxPolicy) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec
        import resource

        def cap(what: int, value: int) -> None:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(what, (value, value))

        if policy.memory_mb is not None:
            cap(resource.RLIMIT_AS, policy.memory_mb * 1024 * 1024)
        if policy.cpu_seconds is not None:
            cap(resource.RLIMIT_CPU, policy.cpu_seconds)
        cap(resource.RLIMIT_FSIZE, FILE_SIZE_MB * 1024 * 1024)
        cap(resource.RLIMIT_CORE, 0)

    return apply


def popen(
    argv: Sequence[str], policy: SandboxPolicy, cwd: str | None, private_tmp: Path, **kwargs: Any
) -> subprocess.Popen[str]:
    """Start ``argv`` in the sandbox with a scrubbed environment and resource caps;
    ``private_tmp`` (a fresh folder of the caller's) is its HOME, TMPDIR and only scratch space.
    ``kwargs`` go to ``subprocess.Popen`` as they are (Any: Popen's own keyword types, which
    its overloads pick the text or bytes mode from, cannot be restated by a wrapper)."""
    env = scrubbed_env(os.environ, private_tmp, policy.path_dirs)
    full = wrap(argv, policy, private_tmp, cwd)
    proc: subprocess.Popen[str] = subprocess.Popen(
        full,
        cwd=cwd,
        env=env,
        start_new_session=True,
        preexec_fn=_limits(policy) if platform.system() == "Linux" else None,
        **kwargs,
    )
    return proc


def run_once(
    argv: Sequence[str], policy: SandboxPolicy, cwd: Path | None, stdin: str, timeout: float
) -> tuple[int, str]:
    """Run ``argv`` once exactly as the pool runs a REPL (sandbox, scrubbed environment, caps)
    and return (exit code, stdout and stderr): ``doctor`` checks the REPL the way searches will
    use it, so a REPL that works only outside the sandbox is found there, not mid-search."""
    private_tmp = Path(tempfile.mkdtemp(prefix="lean-sidecar-doctor-"))
    try:
        proc = popen(
            argv,
            policy,
            cwd=str(cwd) if cwd else None,
            private_tmp=private_tmp,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return 124, f"no answer within {timeout:g} s"
        return proc.returncode, (out + err).strip()
    except OSError as exc:
        return 127, str(exc)
    finally:
        shutil.rmtree(private_tmp, ignore_errors=True)


def local_dependencies(project_dir: Path) -> list[Path]:
    """Lake packages the project takes from a local folder (``require foo from "../foo"``):
    they may live outside the project, and ``lake env`` reads them."""
    try:
        manifest = json.loads((project_dir / "lake-manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = []
    for pkg in manifest.get("packages", []) if isinstance(manifest, dict) else []:
        if isinstance(pkg, dict) and pkg.get("type") == "path" and isinstance(pkg.get("dir"), str):
            out.append((project_dir / pkg["dir"]).absolute())
    return out


def policy_for(
    *,
    enabled: bool,
    memory_mb: int | None,
    project_dir: Path | None,
    repl_dir: Path | None,
    lake_path: str,
    writable: Sequence[Path] = (),
    readable_extra: Sequence[Path] = (),
) -> SandboxPolicy:
    """The pool's policy: the project, the REPL, ``lake`` and the toolchain are readable (and
    ``readable_extra``, the pool's verified pickles)."""
    readable: list[Path] = [Path(p).absolute() for p in readable_extra]
    lake = shutil.which(lake_path) or lake_path
    lake_dir = str(Path(lake).parent) if os.sep in lake else ""
    for p in (project_dir, repl_dir, Path(lake_dir) if lake_dir else None):
        if p is not None:
            readable.append(Path(p).absolute())
    if project_dir is not None:
        readable += local_dependencies(project_dir)
    elan = os.environ.get("ELAN_HOME") or str(Path(os.environ.get("HOME", "/root")) / ".elan")
    readable.append(Path(elan))
    # The sidecar's own Python installation (code, no user data): stand-in REPLs and tools
    # written in Python run from it, and under pyenv or a user install it sits in the home.
    readable += [Path(sys.base_prefix), Path(sys.prefix)]
    return SandboxPolicy(
        enabled=enabled,
        memory_mb=memory_mb,
        readable=tuple(readable),
        writable=tuple(writable),
        path_dirs=(lake_dir,) if lake_dir else (),
    )


def sandboxed_server_class() -> type[LeanServer]:
    """lean-interact's ``LeanServer`` whose process starts through :func:`popen`.

    lean-interact spawns the REPL in ``LeanServer.start`` (also used by its restarts) as
    ``lake env <repl>``; this subclass starts the same command inside the sandbox.
    """
    from lean_interact import LeanServer

    class SandboxedLeanServer(LeanServer):  # type: ignore[misc]
        policy: SandboxPolicy = SandboxPolicy()
        private_tmp: Path | None = None
        sandbox_proc: subprocess.Popen[str] | None = None

        def start(self) -> None:
            command = repl_command(self.config)
            self._drop_tmp()
            self.private_tmp = Path(tempfile.mkdtemp(prefix="lean-sidecar-repl-"))
            proc = popen(
                command,
                self.policy,
                cwd=self.config.working_dir,
                private_tmp=self.private_tmp,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                encoding="utf-8",
                text=True,
                bufsize=1,
            )
            set_repl_process(self, proc)
            self.sandbox_proc = proc
            if not self.is_alive():
                out, err = self.get_stdout_stderr()
                raise ChildProcessError(f"the Lean REPL could not be started: {out} {err}")

        def kill(self) -> None:
            if self.sandbox_proc is not None:
                stop_inside_out(self.sandbox_proc)
            super().kill()
            self._drop_tmp()

        def _drop_tmp(self) -> None:
            if self.private_tmp is not None:
                shutil.rmtree(self.private_tmp, ignore_errors=True)
                self.private_tmp = None

    return SandboxedLeanServer


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux ``/proc``; elsewhere none)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError, ValueError):
            out += [int(c) for c in task.read_text().split()]
    return out


def stop_inside_out(proc: subprocess.Popen[str], timeout: float = 1.0) -> None:
    """Kill what ``proc`` (the sandbox) started, then reap ``proc``: bwrap's init (or
    unshare's forked child) dies with its whole PID namespace, the sandbox process reaps it and
    exits, and nothing is left behind. Terminating from the outside in (lean-interact's
    ``kill``) signals that init, which ignores SIGTERM, then its parent: the init dies with its
    parent and waits as a zombie for the host's init to reap it, and lean-interact waits a
    second on it for every REPL stopped or replaced."""
    if proc.poll() is not None:
        return
    started = children(proc.pid)
    for pid in started:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)


def start_server(config: LeanREPLConfig, policy: SandboxPolicy) -> LeanServer:
    """A started ``LeanServer`` for ``config`` running under ``policy``."""
    base = sandboxed_server_class()
    # A subclass per policy: LeanServer.__init__ starts the process, so the policy must be
    # known before the constructor runs.
    cls = type("PolicyLeanServer", (base,), {"policy": policy})
    server: LeanServer = cls(config)
    return server
