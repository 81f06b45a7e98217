"""Union of Lean's server capabilities and the sidecar's, Lean's taking precedence except where
a merged method (lean_sidecar.lsp.merged_methods) says how the two join."""

from __future__ import annotations

import copy
from typing import Any

from lean_sidecar import __version__
from lean_sidecar.lsp.merged_methods import BY_CAPABILITY, MERGED_METHODS


def merge_capabilities(lean_result: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(lean_result) if lean_result else {}
    caps: dict[str, Any] = result.setdefault("capabilities", {})
    our_caps: dict[str, Any] = ours.get("capabilities") or {}
    for key, value in our_caps.items():
        if key in BY_CAPABILITY:
            continue  # joined below, as its merged method says
        if key == "experimental":
            caps[key] = {**(value or {}), **(caps.get(key) or {})}
        elif key not in caps:
            caps[key] = value
    for method in MERGED_METHODS:
        key = method.capability
        merged = method.merge_capability(caps.get(key), our_caps.get(key))
        if merged is not None:
            caps[key] = merged
    caps.setdefault("experimental", {})["leanSidecar"] = {"version": __version__}
    # Lean counts positions in UTF-16 code units; so must the editor, whatever it offered.
    caps["positionEncoding"] = "utf-16"
    result.setdefault("serverInfo", ours.get("serverInfo") or {"name": "lean-sidecar"})
    return result
