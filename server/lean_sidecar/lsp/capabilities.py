"""Union of Lean's server capabilities and the sidecar's, Lean's taking precedence except where
a merged method (lean_sidecar.lsp.merged_methods) says how the two join."""

from __future__ import annotations

import copy
from typing import cast

from lean_bridge.json_types import JsonObject, as_object
from lean_sidecar import __version__
from lean_sidecar.lsp.merged_methods import BY_CAPABILITY, MERGED_METHODS


def merge_capabilities(lean_result: JsonObject, ours: JsonObject) -> JsonObject:
    """Lean's InitializeResult with the sidecar's capabilities joined in (``ours``: pygls'
    InitializeResult as JSON)."""
    result = copy.deepcopy(lean_result) if lean_result else {}
    # ServerCapabilities (and its ``experimental``): objects, as LSP says
    caps = cast(JsonObject, result.setdefault("capabilities", {}))
    our_caps = as_object(ours.get("capabilities"))
    for key, value in our_caps.items():
        if key in BY_CAPABILITY:
            continue  # joined below, as its merged method says
        if key == "experimental":
            caps[key] = {**as_object(value), **as_object(caps.get(key))}
        elif key not in caps:
            caps[key] = value
    for method in MERGED_METHODS:
        key = method.capability
        merged = method.merge_capability(caps.get(key), our_caps.get(key))
        if merged is not None:
            caps[key] = merged
    experimental = cast(JsonObject, caps.setdefault("experimental", {}))
    experimental["leanSidecar"] = {"version": __version__}
    # Lean counts positions in UTF-16 code units; so must the editor, whatever it offered.
    caps["positionEncoding"] = "utf-16"
    result.setdefault("serverInfo", ours.get("serverInfo") or {"name": "lean-sidecar"})
    return result
