"""Several Kimina Lean Servers as one ``LeanRepl``: the checks that a local ``ReplPool`` would
run go, one snippet each, round-robin to the servers that answer.

What moves is only where Lean runs. The verifier still gates every candidate before it is sent,
and still reads Lean's answer itself: the parse of record from the info tree, Lean's errors and
sorries, the ``#print axioms`` report of its own command (``kimina_snippet`` cuts the server's
answer into the ``CommandResult`` each command would have had in a local REPL). So a server is
used only once it has shown, on a probe, that it returns the info tree when asked for one, and
where it puts the lines of its positions; a server that cannot is refused with the reason, never
trusted without it. Its Lean version must be the project's (a verdict of another Lean is not a
verdict for this project).

Health: a server that cannot be reached, breaks a connection or does not answer in time is taken
out of the rotation (a warning names it and where its checks go) and probed again every few
seconds; the check it was running goes to the next server. When none answers for
``retry_seconds``, the pool is *lost*: every check raises ``VerifierLost`` while none answers,
which a runner reads as "stop, keep what is done, resume later" rather than as a candidate's
failure. ``lost`` stays said (a batch run that lost Lean does not trust what it was doing then);
a long-lived user (the editor) checks again as soon as a server answers again.
A 429 (every REPL of the server busy) waits and retries; a server's 5xx on one check is that
check's failure after a retry (a REPL that a candidate crashed answers so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from lean_bridge.axiom_audit import parse_print_axioms
from lean_bridge.json_types import JsonObject
from lean_bridge.kimina import Answer, KiminaServer, ServerFault
from lean_bridge.kimina_snippet import (
    Lines,
    Malformed,
    NotSendable,
    build_snippet,
    probe_snippet,
    split_answer,
    tree_start_line,
)
from lean_bridge.lean_repl import TacticRepl
from lean_bridge.lean_versions import Version, parse_toolchain, show
from lean_bridge.repl_pool import (
    REPL_TIMED_OUT,
    REPL_TIMEOUT_SETTING,
    ReplFailed,
    ReplSettings,
    ReplUnavailable,
)
from lean_bridge.repl_results import CommandResult

log = logging.getLogger(__name__)

#: seconds between probes of a server that stopped answering
PROBE_EVERY = 2.0
#: waits for a busy (429) server before the check is given up
BUSY_RETRIES = 8
_VERSION = re.compile(r'^"?(v?\d+\.\d+\.\d+[^"\s]*)"?$')
NO_SESSION = (
    "tactic-mode steps need a local Lean REPL: the verifier servers (verifierServers) check "
    "whole commands only"
)


class VerifierLost(ReplFailed):
    """No verifier server answered for the whole wait: nothing more can be checked in this run
    (what is done stays done; a rerun resumes)."""


@dataclass
class _Server:
    client: KiminaServer
    lines: Lines = field(default_factory=Lines)
    version: Version | None = None
    in_flight: int = 0
    down: str | None = None  # why it is out of the rotation
    watcher: asyncio.Task[None] | None = None
    checks: int = 0


class RemotePool:
    """Round-robin over verifier servers, with health checks (see the module's docstring)."""

    def __init__(
        self,
        servers: list[KiminaServer],
        settings: ReplSettings,
        *,
        retry_seconds: float = 30.0,
        expected_version: Version | None = None,
    ) -> None:
        if not servers:
            raise ValueError("no verifier server")
        self._settings = settings
        self._servers = [_Server(s) for s in servers]
        self.retry_seconds = retry_seconds
        self.expected_version = expected_version
        self.lean_version: Version | None = None
        self.lost: str | None = None
        self.checks_sent = 0
        self._turn = 0
        self._changed = asyncio.Condition()
        self._all_down_since: float | None = None
        self._started = False
        self._start_lock = asyncio.Lock()

    @property
    def settings(self) -> ReplSettings:
        return self._settings

    @property
    def urls(self) -> list[str]:
        return [s.client.shown for s in self._servers]

    def checks_by_server(self) -> dict[str, int]:
        return {s.client.shown: s.checks for s in self._servers}

    # ---- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Probe every server; ``ReplUnavailable`` names what is wrong when one cannot give what
        the checks need, or when none answers."""
        async with self._start_lock:
            if self._started:
                return
            probes = await asyncio.gather(
                *(self._probe(s) for s in self._servers), return_exceptions=True
            )
            unreachable = []
            for server, outcome in zip(self._servers, probes, strict=True):
                if isinstance(outcome, ServerFault) and outcome.server_down:
                    unreachable.append(str(outcome))
                    self._mark_down(server, outcome.detail, quiet=True)
                elif isinstance(outcome, ServerFault):
                    raise ReplUnavailable(f"{outcome}; it is not used")
                elif isinstance(outcome, BaseException):
                    raise outcome
            if len(unreachable) == len(self._servers):
                raise ReplUnavailable("no verifier server answers: " + "; ".join(unreachable))
            for why in unreachable:
                log.warning("%s; the others check until it answers", why)
            self._agree_on_version()
            self._started = True
            log.info(
                "checking on %d verifier server(s) (Kimina Lean Server, Lean %s): %s",
                len(self._servers),
                show(self.lean_version) if self.lean_version else "version unknown",
                ", ".join(self.urls),
            )

    def _agree_on_version(self) -> None:
        seen = {s.version for s in self._servers if s.down is None and s.version is not None}
        if len(seen) > 1:
            raise ReplUnavailable(
                "the verifier servers run different Lean versions ("
                + ", ".join(sorted(show(v) for v in seen))
                + "): a check must not depend on which server it went to"
            )
        version = next(iter(seen), None)
        if self.expected_version is not None and version not in (None, self.expected_version):
            assert version is not None
            raise ReplUnavailable(
                f"the verifier servers run Lean {show(version)}, the project "
                f"{show(self.expected_version)}: their verdicts would be another Lean's; run "
                "them with the project's toolchain (Kimina's LEAN_SERVER_LEAN_VERSION)"
            )
        if version is None:
            log.warning("the verifier servers did not say their Lean version")
        self.lean_version = version or self.expected_version

    async def _probe(self, server: _Server) -> None:
        """What every check relies on, asked of ``server``: it is healthy, it returns the info
        tree when asked, and it numbers lines as ``server.lines`` then says."""
        await server.client.health()
        snippet, theorem_line, report_line = probe_snippet()
        answer = await server.client.check(snippet.code, self._settings.timeout, infotree=True)
        url = server.client.shown
        response = answer.response
        if answer.error is not None or response is None or "message" in response:
            why = answer.error or (response or {}).get("message") or "no answer"
            raise ReplUnavailable(f"verifier server {url}: the probe check failed: {why}")
        trees = response.get("infotree")
        if not isinstance(trees, list) or not trees:
            raise ReplUnavailable(
                f"verifier server {url} returned no info tree when asked for one (infotree "
                '"full"): it cannot give the parse of record every check is read with, so it '
                "is not used (a Kimina Lean Server 2.x passes the REPL's info tree through)"
            )
        h = snippet.header_lines
        decl_lines = {
            tree_start_line(t)
            for t in trees
            if isinstance(t, dict)
            and isinstance(t.get("node"), dict)
            and "declaration" in str(t["node"].get("stx", {}).get("kind", ""))  # type: ignore[union-attr]
        }
        report = [
            m
            for m in response.get("messages") or []  # type: ignore[union-attr]
            if isinstance(m, dict)
            and (r := parse_print_axioms(str(m.get("data", "")))) is not None
            and r.name == "sidecarProbe"
        ]
        lines_at = {m.get("pos", {}).get("line") for m in report}  # type: ignore[union-attr]
        if decl_lines not in ({theorem_line}, {theorem_line + h}) or lines_at not in (
            {report_line},
            {report_line + h},
        ):
            raise ReplUnavailable(
                f"verifier server {url} places the probe's commands on other lines than Kimina "
                "Lean Server 2.x does: its answers cannot be cut per command, so it is not used"
            )
        server.lines = Lines(
            messages_count_header=lines_at == {report_line + h},
            tree_counts_header=decl_lines == {theorem_line + h},
        )
        server.version = _version_in(response)

    async def close(self) -> None:
        for s in self._servers:
            if s.watcher is not None:
                s.watcher.cancel()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.client.close()
        self._started = False

    def session(self) -> contextlib.AbstractAsyncContextManager[TacticRepl]:
        return _no_session()

    # ---- health ---------------------------------------------------------------------------------
    def _mark_down(self, server: _Server, why: str, *, quiet: bool = False) -> None:
        if server.down is not None:
            return
        server.down = why
        others = sum(1 for s in self._servers if s.down is None)
        if not quiet:
            log.warning(
                "verifier server %s stopped answering (%s); its checks go to %s",
                server.client.shown,
                why,
                f"the {others} other(s)" if others else "none until one answers again",
            )
        server.watcher = asyncio.ensure_future(self._watch(server))

    async def _watch(self, server: _Server) -> None:
        """Probe ``server`` until it answers as it must, then put it back in the rotation."""
        while True:
            await asyncio.sleep(PROBE_EVERY)
            try:
                await self._probe(server)
            except (ServerFault, ReplUnavailable) as exc:
                server.down = str(getattr(exc, "detail", exc))
                continue
            if self.lean_version is not None and server.version not in (None, self.lean_version):
                server.down = "it now runs another Lean version"
                continue
            server.down, server.watcher = None, None
            self._all_down_since = None
            log.warning("verifier server %s answers again", server.client.shown)
            async with self._changed:
                self._changed.notify_all()
            return

    async def _acquire(self) -> _Server:
        while True:
            n = len(self._servers)
            up = [s for s in self._servers if s.down is None]
            if not up:
                if self.lost is not None:
                    raise VerifierLost(self.lost)
                now = time.monotonic()
                if self._all_down_since is None:
                    self._all_down_since = now
                    log.warning(
                        "no verifier server answers; waiting up to %g s for one", self.retry_seconds
                    )
                elif now - self._all_down_since >= self.retry_seconds:
                    self.lost = (
                        f"no verifier server answered for {self.retry_seconds:g} s ("
                        + "; ".join(f"{s.client.shown}: {s.down}" for s in self._servers)
                        + ")"
                    )
                    raise VerifierLost(self.lost)
            for i in range(n):
                s = self._servers[(self._turn + i) % n]
                if s.down is None and s.in_flight < s.client.concurrency:
                    self._turn = (self._turn + i + 1) % n
                    s.in_flight += 1
                    return s
            async with self._changed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.5)

    async def _release(self, server: _Server) -> None:
        server.in_flight -= 1
        async with self._changed:
            self._changed.notify(1)  # one slot: one waiter (health changes wake them all)

    async def _send(self, code: str, timeout: float, infotree: bool) -> tuple[_Server, Answer]:
        """One snippet, on the next server that answers; a server's own failure moves it on."""
        failures: list[str] = []
        busy = 0
        while True:
            server = await self._acquire()
            try:
                answer = await server.client.check(code, timeout, infotree)
            except ServerFault as fault:
                if fault.server_down or fault.kind == "unauthorized":
                    self._mark_down(server, fault.detail)
                    continue  # the check itself did nothing wrong: another server takes it
                if fault.kind == "busy" and busy < BUSY_RETRIES:
                    busy += 1
                    await asyncio.sleep(min(5.0, 0.25 * 2**busy))
                    continue
                failures.append(str(fault))
                if fault.kind == "failed" and len(failures) < 2:
                    continue
                return server, Answer(None, "; ".join(failures), 0.0)
            finally:
                await self._release(server)
            server.checks += 1
            self.checks_sent += 1
            return server, answer

    # ---- the LeanRepl interface -----------------------------------------------------------------
    async def command(self, prefix: str, cmd: str, timeout: float | None = None) -> CommandResult:
        """Run ``cmd`` in the environment of ``prefix``."""
        return (await self.commands(prefix, [cmd], timeout))[0]

    async def commands(
        self,
        prefix: str,
        cmds: list[str],
        timeout: float | None = None,
        *,
        infotree: frozenset[int] = frozenset(),
    ) -> list[CommandResult]:
        """``cmds`` after ``prefix`` as one snippet on one server, its answer cut per command
        (``kimina_snippet.split_answer``)."""
        await self.start()
        try:
            snippet = build_snippet(prefix, cmds)
        except NotSendable as exc:
            if exc.in_file:
                raise ReplFailed(str(exc)) from None
            return [CommandResult(None, error=f"not sent to the verifier server: {exc}")]
        limit = timeout or self._settings.timeout
        server, answer = await self._send(snippet.code, limit, bool(infotree))
        if answer.error is not None and "header command timed out" in answer.error:
            # A new REPL loads the file's imports within the same limit: give it the time a
            # local pool gives a prefix, once.
            server, answer = await self._send(
                snippet.code, 4 * self._settings.timeout, bool(infotree)
            )
        if answer.error is not None:
            return [CommandResult(None, error=_error(answer.error, limit, self._settings.timeout))]
        response: JsonObject = answer.response or {}
        if "message" in response:
            return [CommandResult(None, error=str(response["message"]), seconds=answer.seconds)]
        if response.get("sorries") and not response.get("messages"):
            # Kimina shifts the sorries' lines only when there are messages: such an answer
            # cannot be placed (and Lean never reports a sorry without its warning)
            return [CommandResult(None, error="the server reported sorries without messages")]
        try:
            return split_answer(snippet, response, server.lines, infotree, answer.seconds)
        except Malformed as exc:
            return [CommandResult(None, error=f"verifier server {server.client.shown}: {exc}")]


def _error(error: str, limit: float, setting: float) -> str:
    """A server's error as the local pool words it (timeouts are counted by their words)."""
    if "timed out" in error:
        return f"{REPL_TIMED_OUT} {limit:g} s" + (
            f" ({REPL_TIMEOUT_SETTING})" if limit >= setting else ""
        )
    return f"the verifier server could not check it: {error}"


def _version_in(response: JsonObject) -> Version | None:
    """Lean's version from the probe's ``#eval Lean.versionString``, if it answered."""
    for m in response.get("messages") or []:  # type: ignore[union-attr]
        if isinstance(m, dict) and m.get("severity") == "info":
            found = _VERSION.match(str(m.get("data", "")).strip())
            if found:
                return parse_toolchain(found.group(1))
    return None


@contextlib.asynccontextmanager
async def _no_session() -> AsyncIterator[TacticRepl]:
    raise ReplUnavailable(NO_SESSION)
    yield  # pragma: no cover - never reached


def remote_settings(project_dir: Path | None, timeout: float) -> ReplSettings:
    """The settings a remote pool reports (the project its checks are for, the time limit)."""
    return ReplSettings(project_dir=project_dir, repl_path=None, timeout=timeout)
