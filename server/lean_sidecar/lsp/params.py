"""Custom-method params as plain JSON (pygls hands them over as attrs-like objects)."""

from __future__ import annotations

from typing import Any


def as_dict(params: Any) -> dict[str, Any]:
    if isinstance(params, dict):
        return params
    if hasattr(params, "_asdict"):
        return {k: as_dict(v) if hasattr(v, "_asdict") else v for k, v in params._asdict().items()}
    if hasattr(params, "__dict__"):
        return {
            k: as_dict(v) if hasattr(v, "__dict__") or hasattr(v, "_asdict") else v
            for k, v in vars(params).items()
        }
    return {}


def first_arg(args: Any) -> dict[str, Any]:
    """The first argument of a workspace/executeCommand, as a dict."""
    arg = args[0] if args else {}
    return arg if isinstance(arg, dict) else as_dict(arg)
