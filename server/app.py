"""The sidecar language server: pygls in front, Lean's server behind, features merged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from lean_sidecar import __version__
from lean_sidecar.documents import DocumentStore
from lean_sidecar.protocol import SidecarProtocol
from lean_sidecar.proxy import Proxy
from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)

CONFIG_SECTION = "leanSidecar"


class SidecarServer(LanguageServer):
    protocol: SidecarProtocol

    def __init__(self, settings: Settings) -> None:
        super().__init__("lean-sidecar", __version__, protocol_cls=SidecarProtocol)
        self.settings = settings
        self._editor_base: Settings = settings  # settings before workspace/configuration
        self.documents = DocumentStore()
        self.proxy = Proxy(self)
        self.protocol.proxy = self.proxy
        self.features: list[Any] = []  # feature modules add their hooks here

    # ---- initialize -----------------------------------------------------------------------
    def initialize_self(
        self, params: types.InitializeParams | None, raw: dict[str, Any]
    ) -> dict[str, Any]:
        """Run pygls' own initialize (workspace, capabilities) and return its result as JSON."""
        options = raw.get("initializationOptions")
        if isinstance(options, dict):
            section = options.get(CONFIG_SECTION, options)
            if isinstance(section, dict):
                self.settings = self.settings.merged(section, "initializationOptions")
        self._editor_base = self.settings
        if params is None:
            return {}
        gen = self.protocol.lsp_initialize(params)
        result: Any = None
        try:
            while True:
                handler, args, _ = next(gen)
                gen.send(handler(*args))
        except StopIteration as stop:
            result = stop.value
        ours: dict[str, Any] = self.protocol._converter.unstructure(result)
        if self.answers("textDocument/codeAction"):
            ours.setdefault("capabilities", {})["codeActionProvider"] = {
                "codeActionKinds": ["quickfix", "source"],
                "resolveProvider": False,
            }
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
        updated = self._editor_base.merged(section, "workspace/configuration")
        if updated != self.settings:
            self.settings = updated
            for f in self.features:
                if hasattr(f, "settings_changed"):
                    await f.settings_changed()

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

    # ---- merged features ------------------------------------------------------------------
    def owns_action(self, action: Any) -> bool:
        data = action.get("data") if isinstance(action, dict) else None
        return isinstance(data, dict) and "leanSidecar" in data

    def answers(self, method: str) -> bool:
        """Whether a feature adds to Lean's answer (otherwise the request is only forwarded)."""
        return any(method in getattr(f, "methods", ()) for f in self.features)

    async def own_answer(self, method: str, params: Any) -> Any:
        answers = [await f.answer(method, params) for f in self.features if hasattr(f, "answer")]
        answers = [a for a in answers if a]
        if method == "textDocument/codeAction":
            return [self.protocol._converter.unstructure(x) for a in answers for x in a] or None
        if method == "textDocument/hover":
            return "\n\n---\n\n".join(answers) or None
        return None

    def merge_answer(self, method: str, lean: Any, ours: Any) -> Any:
        if not ours:
            return lean
        if method == "textDocument/codeAction":
            return list(lean or []) + list(ours)
        if method == "textDocument/hover":
            if not lean:
                return {"contents": {"kind": "markdown", "value": ours}}
            contents = lean.get("contents")
            value = _markdown_of(contents)
            return {**lean, "contents": {"kind": "markdown", "value": f"{value}\n\n---\n\n{ours}"}}
        return lean

    def on_change(self, uri: str, first_line: int) -> None:
        for f in self.features:
            if hasattr(f, "on_change"):
                f.on_change(uri, first_line)

    def on_holes(self, doc: Any) -> None:
        for f in self.features:
            if hasattr(f, "on_holes"):
                f.on_holes(doc)

    def show_message(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def report_server_error(self, error: Exception, source: Any) -> None:
        log.error("%s: %s", getattr(source, "__name__", source), error)


def _markdown_of(contents: Any) -> str:
    if isinstance(contents, dict):
        value = str(contents.get("value", ""))
        return value if contents.get("kind", "markdown") == "markdown" else f"```\n{value}\n```"
    if isinstance(contents, list):
        return "\n\n".join(_markdown_of(c) for c in contents)
    return str(contents or "")


def as_dict(params: Any) -> dict[str, Any]:
    """pygls hands custom-method params over as attrs-like objects; get plain JSON back."""
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


def build_server(settings: Settings) -> SidecarServer:
    server = SidecarServer(settings)
    from lean_sidecar.features import register_all

    register_all(server)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: SidecarServer, _params: Any) -> None:
        await ls.pull_configuration()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: SidecarServer, _params: Any) -> None:
        await ls.pull_configuration()

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: SidecarServer, _params: Any) -> None:
        for f in ls.features:
            if hasattr(f, "close"):
                await f.close()
        await ls.proxy.stop()

    return server
