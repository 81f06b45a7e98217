"""A pool of Lean REPL processes (through lean-interact), each reusing the environment of a
file's prefix: the prefix is elaborated once per text, pickled, and unpickled by the others."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from lean_interact.interface import LeanError

from lean_bridge import compat
from lean_bridge.repl_results import CommandResult, StepResult, command_result, step_result
from lean_bridge.sandbox import SandboxPolicy, describe, policy_for, start_server

if TYPE_CHECKING:
    from lean_interact import (
        Command,
        LeanREPLConfig,
        LeanServer,
        PickleEnvironment,
        UnpickleEnvironment,
    )

log = logging.getLogger(__name__)
# What a REPL that hangs (killed by lean-interact), dies or cannot be written to raises.
REPL_FAILURES = (TimeoutError, ConnectionAbortedError, BrokenPipeError, ChildProcessError, OSError)


#: how a check that ran out of time starts its error (the search counts them to say so)
REPL_TIMED_OUT = "Lean timed out: no answer within"
REPL_TIMEOUT_SETTING = "repl_timeout"  # named when the check had the whole of it


class ReplUnavailable(Exception):
    """The REPL cannot be prepared here; the message says why and what to set."""


class ReplFailed(ReplUnavailable):
    """The REPL cannot check anything in this file: it stopped before its first answer, or the
    file above the declaration did not load. No candidate is to blame, so the search stops with
    this reason instead of rejecting every candidate with it (which reads as "unsolved")."""


def failure_detail(exc: BaseException) -> str:
    """One line for a REPL failure: the end of the REPL's stderr, which lean-interact embeds
    in its message (a missing file, a wrong toolchain: the cause), else its first line."""
    text = str(exc)
    head = text.splitlines()[0] if text else type(exc).__name__
    _, found, rest = text.partition("stderr:\n")
    stderr = rest.split("\n" + "-" * 50)[0] if found else ""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    tail = " | ".join(lines[-3:])[-400:]
    return tail or head


@dataclass
class ReplSettings:
    project_dir: Path | None
    repl_path: Path | None
    lake_path: str = "lake"
    pool_size: int = 2
    memory_mb: int | None = None
    timeout: float = 60.0
    sandbox: bool = True  # run every REPL in the sandbox (lean_bridge.sandbox); off = unconfined
    sandbox_writable: tuple[Path, ...] = ()  # extra host folders the REPL may write (tests' logs)


def sandbox_policy(
    s: ReplSettings,
    *,
    project_dir: Path | None = None,
    repl_dir: Path | None = None,
    writable: tuple[Path, ...] = (),
    readable: tuple[Path, ...] = (),
) -> SandboxPolicy:
    """The sandbox a REPL of ``s`` runs in: the pool's, and ``doctor``'s check of the REPL, so
    that both see the same folders. ``project_dir``/``repl_dir``: where lean-interact put them,
    when known (else the settings')."""
    return policy_for(
        enabled=s.sandbox,
        memory_mb=s.memory_mb,
        project_dir=project_dir or s.project_dir,
        repl_dir=repl_dir or s.repl_path,
        lake_path=s.lake_path,
        writable=(*writable, *s.sandbox_writable),
        readable_extra=readable,
    )


@dataclass
class _Slot:
    index: int
    server: LeanServer
    envs: dict[str, int] = field(default_factory=dict)
    answered: bool = False  # this process has answered a request (it did start)
    # This process has run something that is not a file's prefix (a candidate): from then on
    # it may be hostile, so it writes no pickled environment another REPL would load.
    tainted: bool = False


def _toolchain(directory: Path) -> str | None:
    f = directory / "lean-toolchain"
    return f.read_text().strip() if f.exists() else None


REPL_REPO = "https://github.com/leanprover-community/repl"


def no_repl_message(version: str | None, exc: BaseException) -> str:
    """What is missing and what to do, when no REPL is set and lean-interact could not fetch
    and build one (offline, most often): in the user's terms, not lean-interact's paths."""
    tag = version.rsplit(":", 1)[-1] if version else "<your Lean version>"
    return (
        f"no Lean REPL for {version or 'this project'}: repl_path is not set, and one could "
        f"not be fetched and built for it ({_fetch_cause(exc)}). Build one yourself (git clone "
        f"{REPL_REPO} && cd repl && git checkout {tag} && lake build) and set repl_path to that "
        "folder, or run again with network access: the REPL is then cloned and built on first "
        "use (a few minutes)"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _fetch_cause(exc: BaseException) -> str:
    """Why the REPL could not be fetched, in a few words: git's own `fatal:` line when the
    clone failed (``could not resolve host: github.com``), else the error's first line."""
    fatal = [
        line.strip().strip("'").removeprefix("fatal: ")
        for line in str(exc).splitlines()
        if line.strip().startswith("fatal:")
    ]
    if fatal:
        return f"git clone failed: {fatal[0][:200]}"
    return _first_line(exc)


def _clean_copy() -> Path | None:
    """The folder lean-interact clones the REPL into before building it (its own cache)."""
    try:
        from lean_interact.utils import DEFAULT_CACHE_DIR, DEFAULT_REPL_GIT_URL
    except ImportError:  # another lean-interact: nothing to tidy
        return None
    owner, repo = str(DEFAULT_REPL_GIT_URL).rstrip("/").removesuffix(".git").split("/")[-2:]
    return Path(DEFAULT_CACHE_DIR) / owner / repo / "repl_clean_copy"


def _drop_failed_clone() -> None:
    """A clone that failed (offline) leaves lean-interact's folder for it empty, and
    lean-interact takes an existing folder for a finished clone: every later run, online or
    not, then fails with `InvalidGitRepositoryError`. Remove the empty folder, under
    lean-interact's own lock, so that the next run clones again."""
    folder = _clean_copy()
    if folder is None or not folder.is_dir():
        return
    try:
        from filelock import FileLock
    except ImportError:  # pragma: no cover - a dependency of lean-interact
        return
    try:
        with FileLock(f"{folder}.lock", timeout=5):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    except Exception:  # a lock held elsewhere, a read-only install: the message still says why
        log.debug("could not remove the empty clone folder %s", folder, exc_info=True)


class ReplPool:
    def __init__(self, settings: ReplSettings) -> None:
        self.settings = settings
        self._config: LeanREPLConfig | None = None
        self._idle: asyncio.Queue[_Slot] = asyncio.Queue()
        self._slots: list[_Slot] = []
        self._prefix_locks: dict[str, asyncio.Lock] = {}
        self._pickles = Path(tempfile.mkdtemp(prefix="lean-sidecar-envs-"))
        # A pickle an untainted REPL wrote is copied here, where REPLs can read but not write
        # (in the bubblewrap sandbox), with its sha256: only such a copy whose hash still
        # matches is ever loaded, so a REPL a candidate took over cannot poison the others.
        self._verified = Path(tempfile.mkdtemp(prefix="lean-sidecar-verified-"))
        self._pickle_hashes: dict[str, str] = {}
        self.prefix_elaborations = 0
        self.commands_run = 0
        self.replaced = 0
        self._started = False

    # ---- lifecycle --------------------------------------------------------------------------
    def _make_config(self) -> LeanREPLConfig:
        try:
            from lean_interact import LeanREPLConfig, LocalProject
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ReplUnavailable(f"lean-interact is not installed: {exc}") from exc
        s = self.settings
        project = (
            LocalProject(directory=str(s.project_dir), auto_build=False) if s.project_dir else None
        )
        if s.repl_path is not None:
            want = _toolchain(s.project_dir) if s.project_dir else None
            have = _toolchain(s.repl_path)
            if want and have and want != have:
                raise ReplUnavailable(
                    f"the REPL at {s.repl_path} is built for {have}, but the project uses {want}; "
                    "build a REPL for the project's toolchain and set repl_path to it"
                )
        if s.repl_path is None:
            _drop_failed_clone()  # one an older run left behind would fail this one too
        try:
            return LeanREPLConfig(
                project=project,
                local_repl_path=str(s.repl_path) if s.repl_path else None,
                build_repl=s.repl_path is None,
                lake_path=s.lake_path,
                memory_hard_limit_mb=s.memory_mb,
            )
        except Exception as exc:
            version = _toolchain(s.project_dir) if s.project_dir else None
            if s.repl_path is None:
                _drop_failed_clone()
                raise ReplUnavailable(no_repl_message(version, exc)) from exc
            raise ReplUnavailable(
                f"the REPL at {s.repl_path} cannot be used: {_first_line(exc)}. Set repl_path "
                f"to a built {REPL_REPO} folder for {version or 'your Lean version'}"
            ) from exc

    def _policy(self) -> SandboxPolicy:
        config = self._config
        return sandbox_policy(
            self.settings,
            project_dir=Path(config.working_dir) if config else None,
            repl_dir=compat.repl_dir(config) if config else None,
            writable=(self._pickles,),
            readable=(self._verified,),
        )

    def _new_server(self) -> LeanServer:
        config = cast("LeanREPLConfig", self._config)  # start() makes it before any server
        return start_server(config, self._policy())

    async def start(self) -> None:
        if self._started:
            return
        self._config = await asyncio.to_thread(self._make_config)
        protection = await asyncio.to_thread(describe, self.settings.sandbox)
        if self.settings.sandbox:
            log.info("%s", protection)
        else:
            log.warning("%s", protection)
        for i in range(self.settings.pool_size):
            try:
                server = await asyncio.to_thread(self._new_server)
            except Exception as exc:
                raise ReplUnavailable(f"the Lean REPL did not start: {exc}") from exc
            slot = _Slot(i, server)
            self._slots.append(slot)
            self._idle.put_nowait(slot)
        self._started = True

    async def close(self) -> None:
        async def kill(slot: _Slot) -> None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(slot.server.kill)

        await asyncio.gather(*(kill(slot) for slot in self._slots))  # all at once
        self._slots.clear()
        shutil.rmtree(self._pickles, ignore_errors=True)
        shutil.rmtree(self._verified, ignore_errors=True)
        self._started = False

    # ---- running commands -------------------------------------------------------------------
    async def _run(
        self,
        slot: _Slot,
        request: Command | PickleEnvironment | UnpickleEnvironment,
        timeout: float,
    ) -> CommandResult:
        t0 = time.perf_counter()
        self.commands_run += 1
        try:
            resp = await asyncio.to_thread(slot.server.run, request, timeout=timeout)
        except REPL_FAILURES as exc:
            started = slot.answered
            await self._replace(slot)
            if isinstance(exc, TimeoutError):
                return CommandResult(
                    None,
                    error=f"{REPL_TIMED_OUT} {timeout:g} s"
                    + (f" ({REPL_TIMEOUT_SETTING})" if timeout >= self.settings.timeout else ""),
                    seconds=time.perf_counter() - t0,
                )
            if not started:
                raise ReplFailed(
                    f"the Lean REPL stopped before answering: {failure_detail(exc)}"
                ) from exc
            return CommandResult(
                None,
                error=f"the Lean REPL died: {failure_detail(exc)}",
                seconds=time.perf_counter() - t0,
            )
        slot.answered = True
        seconds = time.perf_counter() - t0
        if isinstance(resp, LeanError):
            return CommandResult(None, error=str(resp.message), seconds=seconds)
        return command_result(resp, seconds)

    async def _replace(self, slot: _Slot) -> None:
        """A REPL that timed out or died is replaced; its environments are gone with it."""
        self.replaced += 1
        slot.envs.clear()
        slot.answered = False
        slot.tainted = False
        with contextlib.suppress(Exception):
            await asyncio.to_thread(slot.server.kill)
        try:
            slot.server = await asyncio.to_thread(self._new_server)
        except Exception:
            log.exception("could not replace a Lean REPL")

    async def _prefix_env(self, slot: _Slot, prefix: str) -> int | None:
        """The environment of ``prefix`` in ``slot``'s REPL (None: no prefix, a fresh one).
        Raises `ReplFailed` when it does not load: nothing in the declaration can be checked."""
        from lean_interact import Command, PickleEnvironment, UnpickleEnvironment

        if not prefix.strip():
            return None
        key = hashlib.sha256(prefix.encode()).hexdigest()
        if key in slot.envs:
            return slot.envs[key]
        lock = self._prefix_locks.setdefault(key, asyncio.Lock())
        async with lock:
            pickle = self._pickles / f"{key}.olean"
            verified = self._verified / f"{key}.olean"
            res = None
            if verified.exists() and self._pickle_hashes.get(key) == await _sha256(verified):
                res = await self._run(
                    slot,
                    UnpickleEnvironment(unpickle_env_from=str(verified)),
                    self.settings.timeout,
                )
                if res.env is None:
                    log.warning("could not unpickle a prefix environment: %s", res.error)
            if res is None or res.env is None:
                self.prefix_elaborations += 1
                res = await self._run(slot, Command(cmd=prefix), self.settings.timeout * 4)
                if res.env is not None and not slot.tainted:
                    saved = await self._run(
                        slot,
                        PickleEnvironment(env=res.env, pickle_to=str(pickle)),
                        self.settings.timeout,
                    )
                    if saved.error:
                        log.warning("could not pickle a prefix environment: %s", saved.error)
                    elif pickle.exists():
                        self._pickle_hashes[key] = await _copy_hashed(pickle, verified)
            if res.env is None:
                raise ReplFailed(
                    "the file above the declaration did not load in the Lean REPL: "
                    + (res.error or "no environment")
                )
            slot.envs[key] = res.env
            return res.env

    async def command(self, prefix: str, cmd: str, timeout: float | None = None) -> CommandResult:
        """Run ``cmd`` in the environment of ``prefix`` (elaborated once per prefix text)."""
        from lean_interact import Command

        await self.start()
        slot = await self._idle.get()
        try:
            env = await self._prefix_env(slot, prefix)
            slot.tainted = True
            return await self._run(
                slot, Command(cmd=cmd, env=env), timeout or self.settings.timeout
            )
        finally:
            self._idle.put_nowait(slot)

    async def commands(
        self,
        prefix: str,
        cmds: list[str],
        timeout: float | None = None,
        *,
        infotree: frozenset[int] = frozenset(),
    ) -> list[CommandResult]:
        """Run ``cmds`` one after another in one REPL, each in the environment the previous one
        left (the first in the environment of ``prefix``); stops at the first that fails to
        produce an environment. Each command's messages are its own, so a report can be read
        from exactly the command that asked for it. The commands whose indices are in
        ``infotree`` also return Lean's full info tree (what it parsed and elaborated)."""
        from lean_interact import Command

        await self.start()
        slot = await self._idle.get()
        out: list[CommandResult] = []
        try:
            env = await self._prefix_env(slot, prefix)
            slot.tainted = True
            for k, cmd in enumerate(cmds):
                request = (
                    Command(cmd=cmd, env=env, infotree="full")
                    if k in infotree
                    else Command(cmd=cmd, env=env)
                )
                res = await self._run(slot, request, timeout or self.settings.timeout)
                out.append(res)
                if res.env is None:
                    break
                env = res.env
            return out
        finally:
            self._idle.put_nowait(slot)

    def session(self) -> contextlib.AbstractAsyncContextManager[ReplSession]:
        """One REPL of the pool held for a sequence of requests (tactic-mode steps)."""
        return session(self)


class ReplSession:
    """One REPL held for a sequence of requests: proof-state ids live in the process that made
    them, so tactic steps must go to the same REPL as the command that produced the state."""

    def __init__(self, pool: ReplPool, slot: _Slot) -> None:
        self.pool = pool
        self.slot = slot

    async def command(self, prefix: str, cmd: str) -> CommandResult:
        from lean_interact import Command

        env = await self.pool._prefix_env(self.slot, prefix)
        self.slot.tainted = True
        return await self.pool._run(
            self.slot, Command(cmd=cmd, env=env), self.pool.settings.timeout
        )

    async def tactic(self, proof_state: int, tactic: str) -> StepResult:
        from lean_interact import ProofStep

        t0 = time.perf_counter()
        self.pool.commands_run += 1
        self.slot.tainted = True
        try:
            resp = await asyncio.to_thread(
                self.slot.server.run,
                ProofStep(proof_state=proof_state, tactic=tactic),
                timeout=self.pool.settings.timeout,
            )
        except REPL_FAILURES as exc:
            await self.pool._replace(self.slot)
            return StepResult(None, [], "", [], f"the Lean REPL failed: {failure_detail(exc)}")
        if isinstance(resp, LeanError):
            return StepResult(None, [], "", [], str(resp.message))
        return step_result(resp, time.perf_counter() - t0)


async def _copy_hashed(source: Path, target: Path) -> str:
    """Copy ``source`` to ``target`` and return the sha256 of the bytes written there."""

    def copy() -> str:
        h = hashlib.sha256()
        with source.open("rb") as src, target.open("wb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                dst.write(block)
        return h.hexdigest()

    return await asyncio.to_thread(copy)


async def _sha256(path: Path) -> str:
    def digest() -> str:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()

    return await asyncio.to_thread(digest)


@contextlib.asynccontextmanager
async def session(pool: ReplPool) -> AsyncIterator[ReplSession]:
    await pool.start()
    slot = await pool._idle.get()
    try:
        yield ReplSession(pool, slot)
    finally:
        pool._idle.put_nowait(slot)
