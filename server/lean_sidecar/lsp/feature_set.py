"""The registered features, seen as one: it fans hooks out and combines their answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from lean_bridge.json_types import Json
from lean_sidecar.lsp.documents import DocState
from lean_sidecar.lsp.features.base import Feature
from lean_sidecar.lsp.merged_methods import MergedMethod, combine_own, merge_answer, owns_action

log = logging.getLogger(__name__)


def _already_json(answer: object) -> Json:
    """Without a converter, the features' answers are taken as JSON already."""
    return cast(Json, answer)


class FeatureSet:
    def __init__(self, unstructure: Callable[[object], Json] = _already_json) -> None:
        self.features: list[Feature] = []
        self._unstructure = unstructure  # lsprotocol objects -> JSON

    def add(self, feature: Feature) -> Feature:
        self.features.append(feature)
        return feature

    def answers(self, method: MergedMethod) -> bool:
        """Whether a feature adds to Lean's answer (otherwise the request is only forwarded)."""
        return any(method in f.methods for f in self.features)

    def owns_action(self, action: Json) -> bool:
        return owns_action(action)

    async def own_answer(self, method: MergedMethod, params: object) -> Json:
        answers = [await f.answer(method, params) for f in self.features if method in f.methods]
        return combine_own(method, [self._unstructure(a) for a in answers if a])

    def merge_answer(self, method: MergedMethod, lean: Json, ours: Json) -> Json:
        return merge_answer(method, lean, ours)

    def on_change(self, uri: str, first_line: int) -> None:
        for f in self.features:
            f.on_change(uri, first_line)

    def on_holes(self, doc: DocState) -> None:
        for f in self.features:
            f.on_holes(doc)

    def on_close(self, uri: str) -> None:
        for f in self.features:
            f.on_close(uri)

    async def settings_changed(self) -> None:
        for f in self.features:
            await f.settings_changed()

    async def close(self) -> None:
        for f in self.features:
            await f.close()
