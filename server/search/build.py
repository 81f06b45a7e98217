"""The one place that wires REPL pool → verifier → endpoint → cache → search engine, for the
language server, ``lean-sidecar fill`` and ``lean-sidecar eval`` alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lean_bridge.repl_pool import ReplPool, ReplUnavailable
from lean_bridge.verifier import Verifier
from lean_sidecar.prover.endpoint import client_from
from lean_sidecar.search.cache import CacheScope, ProofCache
from lean_sidecar.search.engine import SearchEngine
from lean_sidecar.settings import Settings


@dataclass
class BuiltEngine:
    """An engine and what it owns; ``setup_error`` says why there is no verifier, if so."""

    engine: SearchEngine
    pool: ReplPool
    setup_error: str | None = None

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
) -> BuiltEngine:
    """Start the REPL pool for ``project`` and build the engine over it. A REPL that cannot
    start leaves the engine without a verifier (it answers "no Lean REPL"), never raises."""
    pool = ReplPool(settings.repl(project))
    verifier: Verifier | None = Verifier(pool, allow_native_decide=settings.allow_native_decide)
    error: str | None = None
    if start_repl:
        try:
            await pool.start()
        except ReplUnavailable as exc:
            verifier, error = None, str(exc)
    endpoint = client_from(settings) if use_endpoint else None
    scope = CacheScope.of(project, settings.allow_native_decide)
    cache = ProofCache(settings.cache_path, scope) if use_cache else None
    return BuiltEngine(SearchEngine(settings, verifier, endpoint, cache), pool, error)
