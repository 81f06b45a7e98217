"""The one contract every feature implements, and what features may ask of the editor.

A feature is built by the composition root (``lean_sidecar.lsp.root``) with the narrow
collaborators it needs; it never imports another feature or the server. The root registers
its ``requests()`` and ``commands()`` with pygls and calls its hooks; every hook has a default
that does nothing, so a feature overrides only what it uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Protocol

from lsprotocol import types

from lean_sidecar.lsp.documents import DocState
from lean_sidecar.lsp.merged_methods import MergedMethod
from lean_sidecar.search.engine import SearchEngine

# The params pygls structured (a custom method's: nested namedtuples) -> the result, or an
# awaitable of it; pygls turns the result into JSON.
RequestHandler = Callable[[object], object]
# The command's first argument (JSON, as the editor sent it) -> the result, or an awaitable of it.
CommandHandler = Callable[[Mapping[str, object]], object]


class WorkDoneProgress(Protocol):
    """pygls' ``server.work_done_progress``, as far as features use it."""

    @property
    def tokens(self) -> Mapping[int | str, Future[object]]: ...  # token -> cancellation future

    def create_async(self, token: int | str) -> Awaitable[object]: ...

    def begin(self, token: int | str, value: types.WorkDoneProgressBegin) -> None: ...

    def report(self, token: int | str, value: types.WorkDoneProgressReport) -> None: ...

    def end(self, token: int | str, value: types.WorkDoneProgressEnd) -> None: ...


class Editor(Protocol):
    """What features may ask of the editor."""

    @property
    def progress(self) -> WorkDoneProgress: ...

    def show_message(self, kind: types.MessageType, message: str) -> None: ...

    async def refresh_code_actions(self) -> None: ...

    async def apply_edit(self, params: types.ApplyWorkspaceEditParams) -> bool: ...


class Engines(Protocol):
    """The shared search engine (lean_sidecar.lsp.engine_service.EngineService)."""

    @property
    def setup_error(self) -> str | None: ...

    def current(self) -> SearchEngine | None: ...

    def tell_failure(self, cause: tuple[str, str], message: str) -> None: ...

    def failures_cleared(self) -> None: ...

    async def engine(self) -> SearchEngine: ...

    async def reset(self) -> None: ...

    async def close(self) -> None: ...


class Feature:
    """Base of every feature; the hooks are the whole interface between features and server."""

    #: The merged LSP requests (lean_sidecar.lsp.merged_methods) whose answer this feature adds
    #: to Lean's; each asks the feature through its hook below.
    methods: tuple[MergedMethod, ...] = ()

    async def answer(self, method: MergedMethod, params: object) -> object:
        """This feature's part of a merged request, from that method's hook, in lsprotocol
        types (None when the request's params could not be read)."""
        return None if params is None else await method.ask(self, params)

    async def answer_code_action(
        self, params: types.CodeActionParams
    ) -> Sequence[types.CodeAction] | None:
        """``textDocument/codeAction``: the actions this feature offers."""
        return None

    async def answer_hover(self, params: types.HoverParams) -> str | None:
        """``textDocument/hover``: markdown shown below Lean's hover."""
        return None

    def requests(self) -> dict[str, RequestHandler]:
        """Requests answered by this feature alone (``leanSidecar/holes``, ...)."""
        return {}

    def commands(self) -> dict[str, CommandHandler]:
        """``workspace/executeCommand`` ids this feature answers."""
        return {}

    def on_change(self, uri: str, first_line: int) -> None:
        """The editor changed ``uri`` at or below ``first_line``."""

    def on_holes(self, doc: DocState) -> None:
        """Lean finished a version of ``doc``; its hole snapshot is ready."""

    def on_close(self, uri: str) -> None:
        """The editor closed ``uri``: drop everything kept for it (its work is cancelled)."""

    async def settings_changed(self) -> None:
        """The effective settings changed (workspace/configuration)."""

    async def close(self) -> None:
        """Shutdown: stop background work."""
