"""Custom-method params as plain JSON (pygls hands them over as attrs-like objects)."""

from __future__ import annotations

from collections.abc import Sequence


def as_dict(params: object) -> dict[str, object]:
    """``params`` as a dict: a dict as it is, a namedtuple or object (pygls' parse of a JSON
    object) by its fields, nested ones too; anything else empty. The values are as pygls parsed
    them, hence ``object``: JSON, or namedtuples inside lists."""
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


def first_arg(args: Sequence[object]) -> dict[str, object]:
    """The first argument of a workspace/executeCommand, as a dict."""
    arg = args[0] if args else {}
    return arg if isinstance(arg, dict) else as_dict(arg)
