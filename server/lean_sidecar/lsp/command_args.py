"""The argument of the sidecar's commands (``{uri, version?, position?}``, as the code actions
and the editors' keybindings send it), read once into typed values: handlers never dig into the
JSON themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast


@dataclass(frozen=True)
class CommandArgs:
    uri: str | None
    version: int | None  # the document version the command was offered for, if it says
    version_given: bool  # a version was sent (one that is not a number never matches)
    position: Mapping[str, object]  # as sent; read by `line`/`character` when a command needs it

    @classmethod
    def read(cls, args: Mapping[str, object]) -> CommandArgs:
        uri = args.get("uri")
        version = args.get("version")
        pos = args.get("position") or {}
        return cls(
            uri=None if uri is None else str(uri),
            version=version if isinstance(version, int) and not isinstance(version, bool) else None,
            version_given=version is not None,
            position=pos if isinstance(pos, Mapping) else {},
        )

    @property
    def line(self) -> int:
        """The position's line (0-based); -1 when none was given. ValueError if not a number."""
        return _number(self.position.get("line", -1))

    @property
    def character(self) -> int:
        return _number(self.position.get("character", -1))

    def offered_for(self, version: int) -> bool:
        """Whether the command may act on ``version`` (it was offered for it, or says none)."""
        return not self.version_given or self.version == version

    @property
    def document(self) -> str:
        """The document's URI as the handlers look it up (``"None"`` when absent: not open)."""
        return str(self.uri)


def _number(value: object) -> int:
    """``int()`` of a position field as sent: a number (or a numeric string) reads as it is;
    anything else raises, as ``int()`` does."""
    return int(cast("str | float", value))
