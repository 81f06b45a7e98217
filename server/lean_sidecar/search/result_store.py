"""What searches found, per hole of one document version: the proofs, each search's trace, the
best partial sketch and "this goal is false". Front ends read it to offer fills; it keeps the
current version of each document only (the proof cache keeps the rest across versions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from lean_bridge.hole_site import HoleSite
from lean_sidecar.search.cache import ProofCache
from lean_sidecar.search.trace import Found, HoleResult, Partial, Refuted

HoleKey = tuple[str, int, int]  # document, its version, the hole's offset in that version's text
_V = TypeVar("_V")


def _drop(table: dict[HoleKey, _V], document: str, keep: int | None) -> None:
    for key in [k for k in table if k[0] == document and k[1] != keep]:
        del table[key]


@dataclass
class ResultStore:
    found: dict[HoleKey, list[Found]] = field(default_factory=dict)
    traces: dict[HoleKey, HoleResult] = field(default_factory=dict)
    partial: dict[HoleKey, Partial] = field(default_factory=dict)
    refuted: dict[HoleKey, Refuted] = field(default_factory=dict)  # the goal is false

    def forget(self, document: str, keep: int | None) -> None:
        """Drop every result of ``document`` except those of version ``keep``."""
        _drop(self.found, document, keep)
        _drop(self.traces, document, keep)
        _drop(self.partial, document, keep)
        _drop(self.refuted, document, keep)

    def add_found(self, key: HoleKey, found: Found) -> None:
        self.found.setdefault(key, []).append(found)

    def finished(self, key: HoleKey, result: HoleResult) -> tuple[bool, bool]:
        """Keep a finished search's trace, its refutation and its best partial sketch; says
        (whether the goal was newly found false, whether a partial sketch was kept)."""
        self.traces[key] = result
        newly_refuted = False
        if result.status == "refuted" and result.refuted is not None:
            newly_refuted = key not in self.refuted
            self.refuted[key] = result.refuted
        kept_partial = not result.found and result.partial is not None
        if kept_partial and result.partial is not None:
            self.partial[key] = result.partial
        return newly_refuted, kept_partial

    def offer_cached(
        self, key: HoleKey, cache: ProofCache, site: HoleSite, goal: str | None, model: str
    ) -> bool:
        """Offer the cached proof of ``site`` when it was verified against this very prefix
        (one that needs a re-check waits for a search)."""
        hit = cache.lookup(site, goal, model)
        if hit is None or hit.recheck:
            return False
        self.found[key] = [Found(hit.script, "cache", 0.0)]
        return True
