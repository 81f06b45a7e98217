"""Search one hole: what every front end calls (the editor's "search proof", ``fill``, ``eval``,
soon agents), so that the prompt's task is derived from the site in one way for all of them."""

from __future__ import annotations

from lean_bridge.hole_site import HoleSite
from lean_bridge.holes import TextModel
from lean_sidecar.prover.task import build_task
from lean_sidecar.search.engine import SearchEngine
from lean_sidecar.search.trace import HoleResult, OnFound, Progress


async def search_hole(
    engine: SearchEngine,
    site: HoleSite,
    goal: str | None,
    *,
    on_found: OnFound | None = None,
    progress: Progress | None = None,
    max_found: int = 3,
) -> HoleResult:
    """Search ``site`` (whose goal, as Lean reports it, is ``goal``) within the engine's budget:
    the first verified proof goes to ``on_found`` at once; the result keeps every attempt."""
    task = build_task(TextModel(site.text), site.decl, site.start, site.end, goal)
    return await engine.search(site, goal, task, on_found, progress, max_found)


def with_budget(
    engine: SearchEngine, *, samples: int | None = None, seconds: float | None = None
) -> SearchEngine:
    """``engine`` with another budget for one request (an agent passes its own): a new engine
    over the same verifier (REPL pool), endpoint client and cache, so nothing is started twice
    and the endpoint's bound on requests in flight still holds across both."""
    update: dict[str, object] = {}
    if samples is not None:
        update["budget_samples"] = samples
    if seconds is not None:
        update["budget_seconds"] = seconds
    if not update:
        return engine
    settings = engine.settings.model_copy(update=update)
    return SearchEngine(settings, engine.verifier, engine.endpoint, engine.cache)
