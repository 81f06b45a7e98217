"""The type of values that travel as JSON (LSP and JSON-RPC messages, Lean's answers, the
sidecar's own results and rows), so that what is only known to be JSON is typed as JSON, not as
anything at all.

Arrays and objects are ``Sequence`` and ``Mapping`` (read-only, hence covariant), so that JSON
built in the code (a ``list[str]``, a ``dict[str, int]``, a row inside a list of rows) is
``Json`` as it is; ``JsonObject``, a ``dict``, is what messages and rows are built and changed
as. Reading a field of a ``Json`` value means narrowing first: ``isinstance`` where the code
checks the shape, ``cast`` where it relies on what LSP or Lean promise (and an unexpected shape
fails as it always did)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias, cast

Json: TypeAlias = bool | int | float | str | Sequence["Json"] | Mapping[str, "Json"] | None
#: A JSON object: a JSON-RPC message, LSP params, a capability set, one result row.
JsonObject: TypeAlias = dict[str, Json]


def as_object(value: Json) -> JsonObject:
    """``value`` where LSP or Lean promise a JSON object, ``{}`` where it is null or absent
    (the ``value or {}`` the code always read such fields with). A cast, not a check: a value
    of another shape fails where it is used, as it always did."""
    return cast(JsonObject, value or {})
