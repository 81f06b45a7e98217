"""The one place that wires REPL pool → verifier → endpoint → cache → search engine, for the
language server, ``lean-sidecar fill`` and ``lean-sidecar eval`` alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lean_bridge.lean_versions import kernel_warning, project_version
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
    pool: ReplPool
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


async def build_engine(
    settings: Settings,
    project: Path | None,
    *,
    start_repl: bool = True,
    use_cache: bool = True,
    use_endpoint: bool = True,
    notify: Callable[[str], None] | None = None,
) -> BuiltEngine:
    """Start the REPL pool for ``project`` and build the engine over it. A REPL that cannot
    start leaves the engine without a verifier (it answers "no Lean REPL"), never raises; a
    cache that cannot be used leaves it without a cache, said once (in ``notices`` when it
    cannot be opened, through ``notify`` when it fails later)."""
    pool = ReplPool(settings.repl(project))
    version = project_version(project)
    verifier: Verifier | None = Verifier(
        pool,
        allow_native_decide=settings.allow_native_decide,
        lean_version=version,
    )
    error: str | None = None
    if start_repl:
        try:
            await pool.start()
        except ReplUnavailable as exc:
            verifier, error = None, str(exc)
    notices = [w for w in [kernel_warning(version)] if w]
    if use_endpoint and settings.endpoints and not settings.allow_unsandboxed:
        why = await asyncio.to_thread(unsandboxed_reason, settings.repl_sandbox)
        if why is not None:
            use_endpoint = False
            notices.append(f"{why}: {NO_MODEL_WITHOUT_SANDBOX}")
    endpoint = client_from(settings) if use_endpoint else None
    scope = CacheScope.of(project, settings.allow_native_decide)
    cache: ProofCache | None = None
    if use_cache:
        cache, why = open_cache(settings.cache_path, scope, notify)
        if why is not None:
            notices.append(why)
    engine = SearchEngine(settings, verifier, endpoint, cache)
    return BuiltEngine(engine, pool, error, notices)


NO_MODEL_WITHOUT_SANDBOX = (
    "a model's proofs are not checked (its output would run unconfined); only the symbolic "
    "tactics run. Install bubblewrap (apt install bubblewrap / dnf install bubblewrap), or "
    "set allow_unsandboxed to accept the risk"
)
