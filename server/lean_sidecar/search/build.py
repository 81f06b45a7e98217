"""The one place that wires REPL pool → verifier → endpoint → cache → search engine, for the
language server, ``lean-sidecar fill`` and ``lean-sidecar eval`` alike. With ``verifierServers``
the "pool" is those Kimina Lean Servers (``lean_bridge.remote_pool``), and the verifier reads
their answers exactly as a local REPL's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lean_bridge.kimina import KiminaServer
from lean_bridge.lean_repl import LeanRepl
from lean_bridge.lean_versions import Version, kernel_warning, native_axioms, project_version
from lean_bridge.remote_pool import RemotePool, remote_settings
from lean_bridge.repl_pool import ReplPool, ReplUnavailable
from lean_bridge.sandbox import unsandboxed_reason
from lean_bridge.verifier import Verifier
from lean_sidecar.prover.endpoint import client_from
from lean_sidecar.search.cache import CacheScope, ProofCache, open_cache
from lean_sidecar.search.engine import SearchEngine
from lean_sidecar.settings import Settings


@dataclass
class BuiltEngine:
    """An engine and what it owns; ``setup_error`` says why there is no verifier, if so."""

    engine: SearchEngine
    pool: LeanRepl
    setup_error: str | None = None
    # What the user is told once, where they look, before the first search: a toolchain
    # without the kernel fixes, a model kept out because nothing can confine its output.
    notices: list[str] = field(default_factory=list)

    async def close(self) -> None:
        """Close the endpoint's HTTP client, the cache and the REPL processes."""
        if self.engine.endpoint is not None:
            await self.engine.endpoint.close()
        if self.engine.cache is not None:
            self.engine.cache.close()
        await self.pool.close()

    def verifier_lost(self) -> str | None:
        """Why nothing more can be checked in this run (every verifier server stopped
        answering), or None."""
        return self.pool.lost if isinstance(self.pool, RemotePool) else None


async def build_engine(
    settings: Settings,
    project: Path | None,
    *,
    start_repl: bool = True,
    use_cache: bool = True,
    use_endpoint: bool = True,
    notify: Callable[[str], None] | None = None,
    batch: bool = False,
) -> BuiltEngine:
    """Start the REPL pool for ``project`` and build the engine over it. A REPL that cannot
    start leaves the engine without a verifier (it answers "no Lean REPL"), never raises; a
    cache that cannot be used leaves it without a cache, said once (in ``notices`` when it
    cannot be opened, through ``notify`` when it fails later). ``batch`` (``eval``): requests
    are spread over the endpoints when ``endpointRouting`` is ``auto``."""
    version = project_version(project)
    error: str | None = None
    try:
        pool = lean_backend(settings, project, version)
    except ValueError as exc:
        pool, error = ReplPool(settings.repl(project)), f"verifierServers: {exc}"
    verifier: Verifier | None = Verifier(
        pool,
        allow_native_decide=settings.allow_native_decide,
        lean_version=version,
    )
    if error is not None:
        verifier = None
    elif start_repl:
        try:
            await pool.start()
        except ReplUnavailable as exc:
            verifier, error = None, str(exc)
    remote = isinstance(pool, RemotePool)
    if isinstance(pool, RemotePool) and verifier is not None and version is None:
        version = pool.lean_version  # the servers' Lean: its native axioms, its kernel fixes
        verifier.native_axioms = native_axioms(version)
    notices = [w for w in [kernel_warning(version)] if w]
    # Remote checks run on the verifier servers, not here: the local sandbox does not confine
    # them (the servers' own setup does), so its absence here keeps no model out.
    if use_endpoint and settings.endpoints and not settings.allow_unsandboxed and not remote:
        why = await asyncio.to_thread(unsandboxed_reason, settings.repl_sandbox)
        if why is not None:
            use_endpoint = False
            notices.append(f"{why}: {NO_MODEL_WITHOUT_SANDBOX}")
    endpoint = client_from(settings, batch=batch) if use_endpoint else None
    scope = CacheScope.of(project, settings.allow_native_decide)
    cache: ProofCache | None = None
    if use_cache:
        cache, why = open_cache(settings.cache_path, scope, notify)
        if why is not None:
            notices.append(why)
    engine = SearchEngine(settings, verifier, endpoint, cache)
    return BuiltEngine(engine, pool, error, notices)


def lean_backend(settings: Settings, project: Path | None, version: Version | None) -> LeanRepl:
    """Where Lean runs: the verifier servers when configured (``ValueError`` for a URL that
    cannot be one), else a local REPL pool for ``project``."""
    if not settings.verifier_servers:
        return ReplPool(settings.repl(project))
    key = settings.verifier_api_key.get_secret_value() if settings.verifier_api_key else None
    servers = [
        KiminaServer(url, key, settings.verifier_concurrency) for url in settings.verifier_servers
    ]
    return RemotePool(
        servers,
        remote_settings(project, settings.repl_timeout),
        retry_seconds=settings.verifier_retry_seconds,
        expected_version=version,
    )


NO_MODEL_WITHOUT_SANDBOX = (
    "a model's proofs are not checked (its output would run unconfined); only the symbolic "
    "tactics run. Install bubblewrap (apt install bubblewrap / dnf install bubblewrap), or "
    "set allow_unsandboxed to accept the risk"
)
