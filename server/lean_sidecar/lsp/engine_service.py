"""The search engine of the language server: built on first use (starting a REPL takes
seconds), rebuilt lazily after a settings change, closed at shutdown. Features share it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types

from lean_sidecar.lsp.lean_process import UserNotice
from lean_sidecar.search.build import BuiltEngine, build_engine
from lean_sidecar.search.engine import SearchEngine
from lean_sidecar.settings import Settings, env_name, name_settings


def editor_spelling(name: str) -> str:
    """How an editor user sets a field: its camelCase key (and the variable)."""
    head, *rest = name.split("_")
    return f"`{head}{''.join(w.title() for w in rest)}` (or {env_name(name)})"


class EngineService:
    def __init__(
        self,
        settings: Callable[[], Settings],
        root: Callable[[], Path | None],
        notice: UserNotice,
    ) -> None:
        self._settings = settings
        self._root = root
        self._notice = notice
        self._built: BuiltEngine | None = None
        self._lock = asyncio.Lock()
        self._told: set[tuple[str, str]] = set()  # failure causes the user was shown

    def tell_failure(self, cause: tuple[str, str], message: str) -> None:
        """Show ``message`` unless its cause (kind, endpoint) was shown already: one message
        per cause, not per attempt, per hole or per feature (searches and hovers share it)."""
        if cause in self._told:
            return
        self._told.add(cause)
        self._notice(types.MessageType.Error, message)

    def failures_cleared(self) -> None:
        """The endpoint answered again: a new failure is news again."""
        self._told.clear()

    @property
    def setup_error(self) -> str | None:
        """Why the engine has no Lean REPL to verify with, if it has none."""
        return self._built.setup_error if self._built is not None else None

    def current(self) -> SearchEngine | None:
        """The engine if it was built already (never starts one)."""
        return self._built.engine if self._built is not None else None

    async def engine(self) -> SearchEngine:
        async with self._lock:
            if self._built is None:
                root = self._root()
                project = root if root and (root / "lean-toolchain").exists() else None
                self._built = await build_engine(
                    self._settings(), project, notify=self._tell_notice
                )
                if self._built.setup_error is not None:
                    why = name_settings(self._built.setup_error, editor_spelling)
                    self._notice(types.MessageType.Error, f"lean-sidecar: {why}")
                for notice in self._built.notices:  # once per engine: at the first search
                    self._tell_notice(notice)
            return self._built.engine

    def _tell_notice(self, notice: str) -> None:
        """A warning the user is shown once per engine (a cache that stopped working, …)."""
        if ("notice", notice) not in self._told:
            self._told.add(("notice", notice))
            text = name_settings(notice, editor_spelling)
            self._notice(types.MessageType.Warning, f"lean-sidecar: {text}")

    async def reset(self) -> None:
        """New settings take effect with the next search: the engine is rebuilt lazily."""
        async with self._lock:
            self._told.clear()
            await self.close()

    async def close(self) -> None:
        built, self._built = self._built, None
        if built is not None:
            await built.close()
