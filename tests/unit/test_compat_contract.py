"""The private parts of pygls and lean-interact that ``lean_bridge.compat`` names still have the
shape it relies on, in the installed versions; and no other module names them.

A failure here after an upgrade says which private changed: fix ``lean_bridge/compat.py`` (its
docstring says what each one is for), then widen the range pinned in ``pyproject.toml``."""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import cattrs
import pytest
from lean_interact import Command, LeanREPLConfig, LeanServer
from lean_interact import server as lean_interact_server
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCProtocol, LanguageServerProtocol
from pygls.server import JsonRPCServer

from lean_bridge import compat
from tests.standins.toolchain import make_toolchain
from tests.unit.fakes import Sink

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / "lean_bridge" / "compat.py"


def params_of(func: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(func).parameters)


def expect_params(owner: type, name: str, expected: list[str]) -> None:
    func = getattr(owner, name, None)
    assert callable(func), f"{owner.__module__}.{owner.__qualname__}.{name} is gone"
    got = params_of(func)
    assert got == expected, (
        f"{owner.__module__}.{owner.__qualname__}.{name} now takes {got}, compat relies on "
        f"{expected}"
    )


# ---- pygls: signatures and attribute shapes ---------------------------------------------------


def test_pygls_hook_signatures() -> None:
    expect_params(
        JsonRPCProtocol,
        "_execute_handler",
        ["self", "msg_id", "handler", "callback", "args", "kwargs"],
    )
    expect_params(JsonRPCProtocol, "_handle_cancel_notification", ["self", "msg_id"])
    expect_params(LanguageServerProtocol, "lsp_initialize", ["self", "params"])
    assert inspect.isgeneratorfunction(LanguageServerProtocol.lsp_initialize), (
        "pygls' lsp_initialize is no longer a generator: compat.builtin_initialize drives it as one"
    )
    assert isinstance(inspect.getattr_static(JsonRPCProtocol, "msg_id"), property), (
        "pygls' JsonRPCProtocol.msg_id (the context's request id) is no longer a property"
    )


def test_the_mixin_overrides_pygls_hooks_and_shadows_nothing_public() -> None:
    """ProtocolHooks' public names must not exist in pygls (they would shadow pygls' API), and
    its overrides must take what pygls passes."""
    for name in ("execute_handler", "handle_cancel_notification"):
        assert not hasattr(LanguageServerProtocol, name), (
            f"pygls now defines {name}: ProtocolHooks would shadow it; rename the hook"
        )
    for name in ("_execute_handler", "_handle_cancel_notification"):
        ours = params_of(getattr(compat.ProtocolHooks, name))
        theirs = params_of(getattr(JsonRPCProtocol, name))
        assert ours == theirs, f"pygls' {name} takes {theirs}, ProtocolHooks' takes {ours}"


def test_pygls_instance_attributes() -> None:
    server = LanguageServer("contract", "0", protocol_cls=LanguageServerProtocol)
    proto = server.protocol
    assert isinstance(proto._request_futures, dict), "pygls' _request_futures is not a dict"
    assert proto._shutdown is False, "pygls' _shutdown is not False on a new protocol"
    assert isinstance(proto._converter, cattrs.Converter), (
        "pygls' _converter is not a cattrs Converter"
    )
    assert compat.unstructurer(proto) == proto._converter.unstructure
    assert server._stop_event is None, "pygls' JsonRPCServer._stop_event is not None at first"
    assert "_stop_event" in inspect.getsource(JsonRPCServer.shutdown), (
        "pygls' JsonRPCServer.shutdown() no longer sets _stop_event"
    )


# ---- pygls: behaviour -------------------------------------------------------------------------


class Recording(compat.ProtocolHooks, LanguageServerProtocol):
    """Records what pygls hands the hooks, then lets pygls do its own."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.executed: list[tuple[Any, Any]] = []  # (msg_id, the context's request id)
        self.cancelled: list[Any] = []

    def execute_handler(
        self, msg_id: Any, handler: Callable[..., Any], callback: Any, args: Any, kwargs: Any
    ) -> None:
        self.executed.append((msg_id, self.msg_id))
        super().execute_handler(msg_id, handler, callback, args, kwargs)

    def handle_cancel_notification(self, msg_id: Any) -> None:
        self.cancelled.append(msg_id)
        super().handle_cancel_notification(msg_id)


def recording_server() -> tuple[LanguageServer, Recording, Sink]:
    server = LanguageServer("contract", "0", protocol_cls=Recording)
    proto = server.protocol
    assert isinstance(proto, Recording)
    sink = Sink()
    proto.set_writer(sink)
    return server, proto, sink


def send(proto: LanguageServerProtocol, method: str, params: Any, msg_id: Any = None) -> None:
    data: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if msg_id is not None:
        data["id"] = msg_id
    proto.handle_message(proto.structure_message(data))


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_every_request_and_notification_runs_through_execute_handler() -> None:
    server, proto, sink = recording_server()
    notes: list[Any] = []

    @server.feature("contract/request")
    def request(ls: Any, params: Any) -> int:
        return 42

    @server.feature("contract/notification")
    def notification(ls: Any, params: Any) -> None:
        notes.append(params)

    send(proto, "contract/request", {}, 7)
    send(proto, "contract/notification", {})
    await settle()
    assert proto.executed[0] == (7, 7), (
        "pygls no longer runs a request through _execute_handler with its id as the "
        f"context's request id (msg_id): {proto.executed}"
    )
    note_id, note_ctx = proto.executed[1]
    assert isinstance(note_id, str) and note_id != 7 and note_ctx is None, (
        f"pygls no longer gives a notification a fresh id outside any request: {proto.executed[1]}"
    )
    assert notes, "pygls' own _execute_handler did not run the notification's handler"
    assert {"jsonrpc": "2.0", "id": 7, "result": 42} in sink.answers()


async def test_generator_steps_run_through_execute_handler_under_the_request() -> None:
    """executeCommand is a generator around the command's handler: its step gets a fresh id
    while the context still holds the editor's request id."""
    server, proto, _sink = recording_server()

    @server.command("contract.command")
    async def command(ls: Any, *args: Any) -> str:
        return "done"

    params = {"command": "contract.command", "arguments": []}
    send(proto, types.WORKSPACE_EXECUTE_COMMAND, params, 3)
    await settle()
    assert proto.executed[0] == (3, 3), proto.executed
    assert len(proto.executed) == 2, (
        f"executeCommand no longer runs its command as a separate step: {proto.executed}"
    )
    step_id, step_ctx = proto.executed[1]
    assert step_id != 3 and step_ctx == 3, (
        f"a generator step no longer gets a fresh id under the request's id: {proto.executed}"
    )


async def test_request_futures_and_cancel_notification() -> None:
    server, proto, sink = recording_server()
    release = asyncio.Event()

    @server.feature("contract/slow")
    async def slow(ls: Any, params: Any) -> int:
        await release.wait()
        return 1

    send(proto, "contract/slow", {}, 5)
    await settle()
    future = compat.request_futures(proto).get(5)
    assert future is not None and not future.done(), (
        "pygls no longer keeps a running request's future in _request_futures under its id"
    )
    send(proto, types.CANCEL_REQUEST, {"id": 5})
    await settle()
    assert proto.cancelled == [5], (
        f"$/cancelRequest no longer reaches _handle_cancel_notification: {proto.cancelled}"
    )
    assert future.cancelled() and 5 not in compat.request_futures(proto), (
        "pygls' _handle_cancel_notification no longer pops and cancels the request's future"
    )
    await settle()
    assert any(a.get("id") == 5 and "error" in a for a in sink.answers())


async def test_shutdown_sets_the_flag_and_cancels_request_futures() -> None:
    server, proto, _sink = recording_server()
    pending: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    compat.request_futures(proto)["pending"] = pending
    assert compat.is_shut_down(proto) is False
    send(proto, types.SHUTDOWN, None, 9)
    await settle()
    assert compat.is_shut_down(proto) is True, "pygls' shutdown no longer sets _shutdown"
    assert pending.cancelled(), "pygls' shutdown no longer cancels the _request_futures"


def test_builtin_initialize_returns_the_result_and_calls_a_user_initialize() -> None:
    server, proto, _sink = recording_server()
    seen: list[Any] = []

    @server.feature(types.INITIALIZE)
    def initialize(ls: Any, params: Any) -> None:
        seen.append(params)

    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(
            general=types.GeneralClientCapabilities(
                position_encodings=[types.PositionEncodingKind.Utf16]
            )
        ),
        root_uri="file:///contract",
    )
    result = compat.builtin_initialize(proto, params)
    assert isinstance(result, types.InitializeResult), (
        f"pygls' lsp_initialize no longer returns an InitializeResult: {result!r}"
    )
    assert seen == [params], "pygls' lsp_initialize no longer yields to a user initialize"
    assert server.workspace.root_uri == "file:///contract"
    as_json = compat.unstructure(proto, result)
    assert as_json["capabilities"]["positionEncoding"] == "utf-16"
    assert as_json["serverInfo"] == {"name": "contract", "version": "0"}


def test_stop_event_is_the_one_shutdown_sets() -> None:
    server = LanguageServer("contract", "0")
    assert compat.stop_event(server) is None
    event = compat.replace_stop_event(server)
    assert isinstance(event, threading.Event) and compat.stop_event(server) is event
    server.shutdown()
    assert event.is_set(), "pygls' shutdown() no longer sets _stop_event"


# ---- lean-interact ----------------------------------------------------------------------------


def test_lean_interact_shapes() -> None:
    expect_params(LeanServer, "start", ["self"])
    expect_params(LeanServer, "kill", ["self"])
    expect_params(LeanServer, "is_alive", ["self"])
    expect_params(LeanServer, "get_stdout_stderr", ["self"])
    assert "_proc" in LeanServer.__annotations__, "lean-interact's LeanServer._proc is gone"
    assert isinstance(inspect.getattr_static(LeanREPLConfig, "cache_repl_dir"), property), (
        "lean-interact's LeanREPLConfig.cache_repl_dir is no longer a property"
    )


@pytest.fixture
def config(tmp_path: Path) -> LeanREPLConfig:
    """A real LeanREPLConfig of the stand-in toolchain (tests/standins/toolchain.py)."""
    facts = tmp_path / "facts.json"
    facts.write_text("{}")
    lake, repl = make_toolchain(tmp_path / "toolchain", facts)
    return LeanREPLConfig(local_repl_path=str(repl), build_repl=False, lake_path=str(lake))


def test_repl_command_is_what_lean_interact_starts(
    config: LeanREPLConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert compat.repl_dir(config) == Path(config._cache_repl_dir)
    started: list[tuple[Any, Any]] = []
    popen = subprocess.Popen

    def spy(argv: Any, *args: Any, **kwargs: Any) -> Any:
        started.append((argv, kwargs.get("cwd")))
        return popen(argv, *args, **kwargs)

    monkeypatch.setattr(lean_interact_server.subprocess, "Popen", spy)
    server = LeanServer(config)
    try:
        assert started == [(compat.repl_command(config), config.working_dir)], (
            "lean-interact's LeanServer.start() no longer runs what compat.repl_command says: "
            f"{started}"
        )
    finally:
        server.kill()


def test_a_start_override_owns_every_start(config: LeanREPLConfig) -> None:
    """The sandbox overrides ``start``: lean-interact must call it from ``__init__`` and
    ``restart()``, and talk to the process handed over with ``set_repl_process``."""

    class Started(LeanServer):  # type: ignore[misc]
        starts = 0

        def start(self) -> None:
            type(self).starts += 1
            proc = subprocess.Popen(
                compat.repl_command(self.config),
                cwd=self.config.working_dir,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                encoding="utf-8",
                text=True,
                bufsize=1,
            )
            compat.set_repl_process(self, proc)

    server = Started(config)
    try:
        assert Started.starts == 1, "lean-interact's LeanServer.__init__ no longer calls start()"
        assert server.is_alive(), "LeanServer.is_alive() no longer reads _proc"
        response = server.run(Command(cmd="example : True := trivial"))
        assert getattr(response, "env", None) == 0, f"no answer through _proc: {response!r}"
        server.restart()
        assert Started.starts == 2, "lean-interact's LeanServer.restart() no longer calls start()"
        assert server.is_alive()
        server.kill()
        assert not server.is_alive() and server._proc is None, (
            "LeanServer.kill() no longer ends and forgets _proc"
        )
    finally:
        server.kill()


# ---- nobody else names them --------------------------------------------------------------------

PRIVATE_NAMES = (
    "_execute_handler",
    "_handle_cancel_notification",
    "_request_futures",
    "_shutdown",
    "_converter",
    "_stop_event",
    "_ctx_msg_id",
    "lsp_initialize",
    "_proc",
    "_cache_repl_dir",
)
# Modules with an attribute of their own by one of those names (not the library's).
OWN_ATTRIBUTES = {"_proc": {"lean_bridge/upstream.py"}}  # LeanUpstream's asyncio process


def sources() -> Iterator[Path]:
    for top in ("server", "lean_bridge", "tests", "bench", "tools"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" not in path.parts and path not in (COMPAT, Path(__file__)):
                yield path


def test_no_other_module_names_the_privates() -> None:
    offenders = []
    for path in sources():
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        for name in PRIVATE_NAMES:
            if rel in OWN_ATTRIBUTES.get(name, ()):
                continue
            for match in re.finditer(rf"\b{name}\b", text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{rel}:{line}: {name}")
    assert not offenders, "use lean_bridge.compat instead of:\n" + "\n".join(offenders)


def test_own_attributes_are_not_the_librarys() -> None:
    """The exemptions above hold only for modules that do not use lean-interact at all."""
    for name, modules in OWN_ATTRIBUTES.items():
        for rel in modules:
            tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
            imported = {
                alias.name.split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.Import)
                for alias in node.names
            } | {
                (node.module or "").split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom)
            }
            assert "lean_interact" not in imported, f"{rel} uses lean-interact and names {name}"


def test_compat_imports_none_of_the_libraries() -> None:
    """So the import-linter contract (only lean_sidecar.lsp imports pygls/lsprotocol) holds
    for lean_bridge without an exception."""
    tree = ast.parse(COMPAT.read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    libraries = ("pygls", "lsprotocol", "lean_interact", "cattrs")
    assert not {m for m in imported if m.split(".")[0] in libraries}, imported


# ---- the pinned ranges are the ones installed -------------------------------------------------


def test_installed_versions_are_in_the_pinned_ranges() -> None:
    """An upgrade outside the range pyproject.toml pins fails here first."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    outside = []
    for line in config["project"]["dependencies"]:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        assert req.specifier, f"{req.name} has no pinned range in pyproject.toml"
        installed = metadata.version(req.name)
        if not req.specifier.contains(installed, prereleases=True):
            outside.append(f"{req.name} {installed} is outside {req.specifier}")
    assert not outside, (
        "installed outside the tested ranges (run tests/unit/test_compat_contract.py and the "
        "LSP/REPL tests, fix lean_bridge/compat.py, then move the range):\n" + "\n".join(outside)
    )
