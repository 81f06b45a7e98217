"""The composition root: the one place that builds the language server's object graph — the
pygls server, the forwarder, Lean's process, the hole tracker, the engine service and the
features — and hands each piece the narrow interface it needs."""

from __future__ import annotations

import inspect

from lsprotocol import types

from lean_sidecar.lsp.app import ServerEditor, SidecarServer
from lean_sidecar.lsp.editor_share import EditorShare, ShareHook
from lean_sidecar.lsp.engine_service import EngineService
from lean_sidecar.lsp.features.base import CommandHandler, Feature, RequestHandler
from lean_sidecar.lsp.features.holes_request import HolesRequest
from lean_sidecar.lsp.features.proof_search import ProofSearch
from lean_sidecar.lsp.features.tactic_hover import TacticHover
from lean_sidecar.lsp.forwarder import Forwarder
from lean_sidecar.lsp.hole_tracker import HoleTracker
from lean_sidecar.lsp.lean_process import LeanProcess
from lean_sidecar.lsp.params import first_arg
from lean_sidecar.lsp.tasks import TaskRegistry
from lean_sidecar.settings import Settings


def build_server(settings: Settings, share: ShareHook | None = None) -> SidecarServer:
    """The language server; ``share``, when given, borrows the editor's engine, documents
    and settings from ``initialized`` to shutdown (agents over MCP, lean_sidecar.agents)."""
    # Each piece gets what it needs when it is built. The two edges that point back to a piece
    # built later (pygls builds the protocol inside the server, before the forwarder and Lean's
    # process can exist; Lean's messages go to the forwarder) are closures over names bound
    # below, never attributes set afterwards.
    forwarder: Forwarder
    lean: LeanProcess
    tasks = TaskRegistry()
    server = SidecarServer(settings, tasks, router=lambda: forwarder, lean=lambda: lean)
    lean = LeanProcess(
        server.upstream_command,
        lambda message: forwarder.from_lean(message),
        server.show_message,
        tasks,
        status=lambda params: server.protocol.send_raw(
            {"jsonrpc": "2.0", "method": "leanSidecar/status", "params": params}
        ),
    )
    holes = HoleTracker(
        server.documents,
        lean,
        server,
        server.features,
        lambda: server.settings.max_document_mb,
        tasks,
    )
    forwarder = Forwarder(
        server.protocol,
        server.features,
        server.initialize_self,
        server.show_message,
        tasks,
        lean,
        holes,
    )

    editor = ServerEditor(server)
    engines = EngineService(lambda: server.settings, server.root_path, server.show_message)
    features: list[Feature] = [
        HolesRequest(server.documents, lean),
        ProofSearch(
            server.documents,
            engines,
            editor,
            tasks,
            lean,
            search_command=lambda: server.settings.editor_search_command,
        ),
        TacticHover(server.documents, engines, editor, tasks, lambda: server.settings),
    ]
    for feature in features:
        server.features.add(feature)
        for method, handler in feature.requests().items():
            _register_request(server, method, handler)
        for command, run in feature.commands().items():
            _register_command(server, command, run)

    @server.feature(types.CODE_ACTION_RESOLVE)
    def resolve(ls: SidecarServer, action: types.CodeAction) -> types.CodeAction:
        """The sidecar's actions are complete when offered; resolving returns them as they are."""
        return action

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: SidecarServer, _params: types.InitializedParams) -> None:
        await ls.pull_configuration()
        if share is not None:
            await share.start(
                EditorShare(
                    engines,
                    ls.documents,
                    ls.root_path,
                    lambda: ls.settings,
                    ls.source,
                    lambda text: ls.show_message(types.MessageType.Warning, text),
                )
            )

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(
        ls: SidecarServer, _params: types.DidChangeConfigurationParams
    ) -> None:
        await ls.pull_configuration()

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: SidecarServer, _params: None) -> None:
        if share is not None:
            await share.stop()
        await ls.features.close()
        await lean.stop()

    return server


def _register_request(server: SidecarServer, method: str, handler: RequestHandler) -> None:
    async def request(ls: SidecarServer, params: object) -> object:
        result = handler(params)
        return await result if inspect.isawaitable(result) else result

    server.feature(method)(request)


def _register_command(server: SidecarServer, command: str, run: CommandHandler) -> None:
    # pygls reads this signature (typing.get_type_hints) to structure the command's arguments:
    # ``*args`` takes them as they came, JSON.
    async def execute(ls: SidecarServer, *args: object) -> object:
        result = run(first_arg(args))
        return await result if inspect.isawaitable(result) else result

    server.command(command)(execute)
