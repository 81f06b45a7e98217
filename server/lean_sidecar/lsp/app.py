"""The sidecar language server: pygls in front (initialize, configuration, the editor's text),
Lean's server behind. The object graph is built by ``lean_sidecar.lsp.root``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import cast

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.progress import Progress
from pygls.uris import to_fs_path

from lean_bridge.compat import builtin_initialize, unstructure, unstructurer
from lean_bridge.json_types import JsonObject, as_object
from lean_bridge.upstream import default_upstream_command
from lean_sidecar import __version__
from lean_sidecar.lsp.documents import DocumentStore
from lean_sidecar.lsp.feature_set import FeatureSet
from lean_sidecar.lsp.features.base import WorkDoneProgress
from lean_sidecar.lsp.lean_process import LeanProcess
from lean_sidecar.lsp.merged_methods import MERGED_METHODS
from lean_sidecar.lsp.params import as_dict
from lean_sidecar.lsp.protocol import Router, SidecarProtocol
from lean_sidecar.lsp.tasks import TaskRegistry
from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)


def apply_log_level(level: str) -> None:
    """``logLevel`` from the editor takes effect at once (the log was set up before the editor
    said anything); an unknown name leaves the level as it is."""
    value = logging.getLevelName(level.upper())
    if isinstance(value, int):
        logging.getLogger().setLevel(value)


CONFIG_SECTION = "leanSidecar"
UTF16 = types.PositionEncodingKind.Utf16
# Lean's own initializationOptions (Lean.Lsp.InitializationOptions), which the Lean 4 extension
# sends, flat, in the VS Code shim route: Lean reads them (initialize is forwarded unchanged);
# they are not unknown settings of ours.
LEAN_INITIALIZATION_OPTIONS = frozenset({"editDelay", "hasWidgets"})


def sidecar_options(options: JsonObject) -> JsonObject:
    """The sidecar's settings in an ``initializationOptions`` object: its ``leanSidecar`` key,
    else the object itself (flat) less what Lean's server reads there."""
    if CONFIG_SECTION in options:
        section = options[CONFIG_SECTION]
        return section if isinstance(section, dict) else {}
    lean = sorted(k for k in options if k in LEAN_INITIALIZATION_OPTIONS)
    if lean:
        log.debug("initializationOptions: %s are Lean's, left to it", ", ".join(lean))
    return {k: v for k, v in options.items() if k not in LEAN_INITIALIZATION_OPTIONS}


class SidecarServer(LanguageServer):
    protocol: SidecarProtocol

    def __init__(
        self,
        settings: Settings,
        tasks: TaskRegistry,
        router: Callable[[], Router],
        lean: Callable[[], LeanProcess],
    ) -> None:
        """``router`` and ``lean`` give the forwarder and Lean's process, which the composition
        root builds after this server (they need its protocol and its workspace): pygls builds
        the protocol inside this constructor, so the edges back to them are deferred."""
        self._tasks = tasks
        self._router = router
        self._lean = lean
        super().__init__("lean-sidecar", __version__, protocol_cls=SidecarProtocol)
        self.settings = settings
        self._editor_base: Settings = settings  # settings before workspace/configuration
        self.documents = DocumentStore()
        self.features = FeatureSet(unstructurer(self.protocol))

    @property
    def tasks(self) -> TaskRegistry:
        return self._tasks

    def router(self) -> Router:
        return self._router()

    @property
    def lean(self) -> LeanProcess:
        return self._lean()

    # ---- initialize -----------------------------------------------------------------------
    def initialize_self(self, params: types.InitializeParams | None, raw: JsonObject) -> JsonObject:
        """Run pygls' own initialize (workspace, capabilities) and return its result as JSON."""
        options = raw.get("initializationOptions")
        if isinstance(options, dict):
            section = sidecar_options(options)
            self.settings = self.settings.merged(section, "initializationOptions", editor=True)
            apply_log_level(self.settings.log_level)
        self._editor_base = self.settings
        if params is None:
            return {}
        # Lean speaks UTF-16 only: pygls' workspace must count in UTF-16 whatever the editor
        # prefers (pygls would pick the client's first choice, e.g. Neovim's utf-8).
        general = params.capabilities.general
        if general is not None and general.position_encodings is not None:
            general.position_encodings = [UTF16]
        result = builtin_initialize(self.protocol, params)
        ours = cast(JsonObject, unstructure(self.protocol, result))  # an InitializeResult
        for method in MERGED_METHODS:
            provided = method.own_capability()
            if provided is not None and self.features.answers(method):
                caps = cast(JsonObject, ours.setdefault("capabilities", {}))  # ServerCapabilities
                caps[method.capability] = provided
        return ours

    async def pull_configuration(self) -> None:
        """Ask the editor for the ``leanSidecar`` section (the last and strongest source)."""
        ws = self.client_capabilities.workspace
        if ws is None or not ws.configuration:
            return
        try:
            items = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
            )
        except Exception as exc:
            log.warning("workspace/configuration failed: %s", exc)
            return
        section = as_dict(items[0]) if items else {}
        if not section:
            return
        updated = self._editor_base.merged(section, "workspace/configuration", editor=True)
        if updated != self.settings:
            self.settings = updated
            apply_log_level(updated.log_level)
            await self.features.settings_changed()

    def root_path(self) -> Path | None:
        try:
            root = self.workspace.root_path
        except RuntimeError:
            return None
        if root:
            return Path(root)
        folders = list(self.workspace.folders.values())
        path = to_fs_path(folders[0].uri) if folders else None
        return Path(path) if path else None

    def upstream_command(self) -> tuple[list[str], str | None]:
        """The command of Lean's server and its working directory (the project's root)."""
        root = self.root_path()
        command = self.settings.upstream or default_upstream_command(root)
        return command, str(root) if root else None

    # ---- the editor's text (lean_sidecar.lsp.hole_tracker.Sources) ------------------------
    def source(self, uri: str) -> str:
        return self.workspace.get_text_document(uri).source

    def language_id(self, uri: str) -> str | None:
        return self.workspace.get_text_document(uri).language_id

    def show_message(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def report_server_error(self, error: Exception, source: object) -> None:
        log.error("%s: %s", getattr(source, "__name__", source), error)


class ForgetfulProgress:
    """pygls' work-done progress, except that an ended token is forgotten: pygls keeps every
    token's cancellation future (and through its callbacks, the finished work) forever."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    @property
    def tokens(self) -> Mapping[int | str, Future[object]]:
        return self._progress.tokens

    def create_async(self, token: int | str) -> Awaitable[object]:
        return self._progress.create_async(token)

    def begin(self, token: int | str, value: types.WorkDoneProgressBegin) -> None:
        self._progress.begin(token, value)

    def report(self, token: int | str, value: types.WorkDoneProgressReport) -> None:
        self._progress.report(token, value)

    def end(self, token: int | str, value: types.WorkDoneProgressEnd) -> None:
        self._progress.end(token, value)
        self._progress.tokens.pop(token, None)


class ServerEditor:
    """The editor as features see it (lean_sidecar.lsp.features.base.Editor)."""

    def __init__(self, server: SidecarServer) -> None:
        self._server = server
        self._progress = ForgetfulProgress(server.work_done_progress)

    @property
    def progress(self) -> WorkDoneProgress:
        return self._progress

    def show_message(self, kind: types.MessageType, message: str) -> None:
        self._server.show_message(kind, message)

    def _refreshes_code_actions(self) -> bool:
        """``workspace/codeAction/refresh`` is not in LSP 3.17: only clients that say so get it
        (the 3.18 draft's ``workspace.codeAction.refreshSupport``, or ``experimental``)."""
        # ClientCapabilities and its workspace, experimental and codeAction parts: objects
        caps = as_object((self._server.lean.init_params or {}).get("capabilities"))
        ws = as_object(caps.get("workspace"))
        exp = as_object(caps.get("experimental"))
        return bool(
            as_object(ws.get("codeAction")).get("refreshSupport") or exp.get("codeActionRefresh")
        )

    async def refresh_code_actions(self) -> None:
        if not self._refreshes_code_actions():
            return
        try:
            await asyncio.wait_for(
                self._server.protocol.send_request_async("workspace/codeAction/refresh", None), 5
            )
        except Exception as exc:  # an editor without refresh support is fine
            log.debug("codeAction/refresh: %s", exc)

    async def apply_edit(self, params: types.ApplyWorkspaceEditParams) -> bool:
        res = await self._server.workspace_apply_edit_async(params)
        return bool(res.applied)
