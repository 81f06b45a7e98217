"""The LSP requests whose answers the sidecar merges into Lean's: one declaration each, read by
everything that treats them apart (routing in protocol.py and forwarder.py, the features'
``methods``, feature_set.py, the capabilities in app.py and capabilities.py).

A declaration says, for its method: how one feature is asked (a hook of ``Feature``), how the
features' answers combine into the sidecar's own, how that joins Lean's answer, and which server
capability it concerns: what the sidecar advertises when a feature answers it, and how that
joins Lean's. Everything past asking a feature is a pure function over JSON."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol, cast

from lsprotocol import types

from lean_bridge.json_types import Json, JsonObject

SEPARATOR = "\n\n---\n\n"


class Responder(Protocol):
    """A feature, as the merged methods ask it (lean_sidecar.lsp.features.base.Feature)."""

    async def answer_code_action(
        self, params: types.CodeActionParams
    ) -> Sequence[types.CodeAction] | None: ...

    async def answer_hover(self, params: types.HoverParams) -> str | None: ...


@dataclass(frozen=True, eq=False)  # compared by identity: one object per method
class MergedMethod:
    #: the LSP method
    name: str
    #: one feature's part of a request (the params pygls structured for this method; its answer
    #: in lsprotocol types, turned into JSON by the feature set)
    ask: Callable[[Responder, object], Awaitable[object]]
    #: the features' parts, as JSON and none of them empty, as one (None when that is empty)
    combine: Callable[[list[Json]], Json]
    #: Lean's result (None when Lean had none) and the sidecar's (never empty) as the answer
    merge: Callable[[Json, Json], Json]
    #: the key of the server capability this method concerns
    capability: str
    #: what the sidecar advertises there when a feature answers (None: nothing of its own)
    provides: Json
    #: Lean's value and the sidecar's (None where absent) as the editor's (None: Lean's stays)
    merge_capability: Callable[[Json, Json], Json]

    def own_capability(self) -> Json:
        """A fresh copy of what the sidecar advertises (None when nothing)."""
        return copy.deepcopy(self.provides)


# ---- textDocument/codeAction: Lean's actions first, then the sidecar's ----------------------
# The features' parts are the JSON of ``Sequence[CodeAction]`` (answer_code_action), and the
# sidecar's answer their concatenation: arrays by construction.
def _concat_actions(parts: list[Json]) -> Json:
    return [x for a in parts for x in cast("list[Json]", a)] or None


def _append_actions(lean: Json, ours: Json) -> Json:
    # Lean's answer to textDocument/codeAction is an array (or null), as LSP says.
    return list(cast("list[Json]", lean or [])) + list(cast("list[Json]", ours))


def _code_action_provider(lean: Json, ours: Json) -> Json:
    """The kinds of both, resolve support where either resolves; Lean's other options kept."""
    if ours is None:
        return None
    if not isinstance(lean, dict):
        lean = {} if lean else {"codeActionKinds": []}
    if not isinstance(ours, dict):
        ours = {}
    # codeActionKinds is an array of strings (CodeActionOptions), in Lean's and in ours
    kinds = list(cast("list[Json]", lean.get("codeActionKinds") or []))
    kinds += [k for k in cast("list[Json]", ours.get("codeActionKinds") or []) if k not in kinds]
    return {
        **lean,
        "codeActionKinds": kinds,
        "resolveProvider": bool(lean.get("resolveProvider") or ours.get("resolveProvider")),
    }


CODE_ACTION = MergedMethod(
    name="textDocument/codeAction",
    ask=lambda feature, params: feature.answer_code_action(
        cast(types.CodeActionParams, params)  # what pygls structures this method's params as
    ),
    combine=_concat_actions,
    merge=_append_actions,
    capability="codeActionProvider",
    provides={"codeActionKinds": ["quickfix", "source"], "resolveProvider": False},
    merge_capability=_code_action_provider,
)


# ---- textDocument/hover: the sidecar's markdown above Lean's --------------------------------
# The features' parts are markdown strings (answer_hover), and so is the sidecar's answer. It
# goes first: an editor shows a hover in a small box, below the diagnostics at that place (Lean's
# error, in VS Code), and what the sidecar adds (replacements Lean checked) is the news there;
# Lean's own hover text follows, unchanged, and the range stays Lean's.
def _join_markdown(parts: list[Json]) -> Json:
    return SEPARATOR.join(cast("list[str]", parts)) or None


def _hover_above(lean: Json, ours: Json) -> Json:
    hover = cast(JsonObject, lean)  # Lean's answer to textDocument/hover: a Hover (or null)
    value = markdown_of(hover.get("contents")) if lean else ""
    if not value.strip():
        return {**(hover if lean else {}), "contents": {"kind": "markdown", "value": ours}}
    return {**hover, "contents": {"kind": "markdown", "value": f"{ours}{SEPARATOR}{value}"}}


def _hover_provider(lean: Json, ours: Json) -> Json:
    return True if lean or ours else None


HOVER = MergedMethod(
    name="textDocument/hover",
    ask=lambda feature, params: feature.answer_hover(
        cast(types.HoverParams, params)  # what pygls structures this method's params as
    ),
    combine=_join_markdown,
    merge=_hover_above,
    capability="hoverProvider",
    provides=None,  # Lean always hovers; the sidecar only adds to its hovers
    merge_capability=_hover_provider,
)


# ---- the table -----------------------------------------------------------------------------
MERGED_METHODS: tuple[MergedMethod, ...] = (CODE_ACTION, HOVER)
BY_NAME: Mapping[str, MergedMethod] = MappingProxyType({m.name: m for m in MERGED_METHODS})
BY_CAPABILITY: Mapping[str, MergedMethod] = MappingProxyType(
    {m.capability: m for m in MERGED_METHODS}
)


def combine_own(method: MergedMethod, answers: Iterable[Json]) -> Json:
    """The features' answers (JSON) to one request, as one (None when they have nothing)."""
    return method.combine([a for a in answers if a])


def merge_answer(method: MergedMethod, lean: Json, ours: Json) -> Json:
    """Lean's answer with the sidecar's added (Lean's alone when the sidecar has nothing)."""
    if not ours:
        return lean
    return method.merge(lean, ours)


def markdown_of(contents: Json) -> str:
    """Hover contents of any LSP shape (MarkupContent, MarkedString, a list) as markdown."""
    if isinstance(contents, dict):
        value = str(contents.get("value", ""))
        return value if contents.get("kind", "markdown") == "markdown" else f"```\n{value}\n```"
    if isinstance(contents, list):
        return "\n\n".join(markdown_of(c) for c in contents)
    return str(contents or "")


def owns_action(action: Json) -> bool:
    """Whether a code action (in codeAction/resolve) is one the sidecar made."""
    data = action.get("data") if isinstance(action, dict) else None
    return isinstance(data, dict) and "leanSidecar" in data
