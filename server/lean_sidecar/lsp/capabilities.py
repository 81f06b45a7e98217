"""Union of Lean's server capabilities and the sidecar's, Lean's taking precedence."""

from __future__ import annotations

import copy
from typing import Any

from lean_sidecar import __version__


def _merge_code_action(lean: Any, ours: Any) -> Any:
    if not isinstance(lean, dict):
        lean = {} if lean else {"codeActionKinds": []}
    if not isinstance(ours, dict):
        ours = {}
    kinds = list(lean.get("codeActionKinds") or [])
    kinds += [k for k in ours.get("codeActionKinds") or [] if k not in kinds]
    return {
        **lean,
        "codeActionKinds": kinds,
        "resolveProvider": bool(lean.get("resolveProvider") or ours.get("resolveProvider")),
    }


def merge_capabilities(lean_result: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(lean_result) if lean_result else {}
    caps: dict[str, Any] = result.setdefault("capabilities", {})
    our_caps: dict[str, Any] = ours.get("capabilities") or {}
    for key, value in our_caps.items():
        if key == "codeActionProvider":
            caps[key] = _merge_code_action(caps.get(key), value)
        elif key == "experimental":
            caps[key] = {**(value or {}), **(caps.get(key) or {})}
        elif key not in caps:
            caps[key] = value
    if lean_result.get("capabilities", {}).get("hoverProvider") or our_caps.get("hoverProvider"):
        caps["hoverProvider"] = True
    caps.setdefault("experimental", {})["leanSidecar"] = {"version": __version__}
    # Lean counts positions in UTF-16 code units; so must the editor, whatever it offered.
    caps["positionEncoding"] = "utf-16"
    result.setdefault("serverInfo", ours.get("serverInfo") or {"name": "lean-sidecar"})
    return result
