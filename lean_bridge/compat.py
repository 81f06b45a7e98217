"""The one place that names what pygls and lean-interact keep private.

Everything the sidecar needs from these libraries beyond their documented API goes through the
named functions and the mixin below; no other module spells a private name (a unit test scans
the sources, ``tests/unit/test_compat_contract.py``, which also checks every entry against the
installed libraries, so an upgrade that changes one fails loudly and names it).

Why here, in ``lean_bridge``: the lean-interact entries serve ``lean_bridge`` (the REPL pool
and its sandbox), which must not import ``lean_sidecar``; the pygls entries serve
``lean_sidecar.lsp``, which may import ``lean_bridge``. The lowest layer is the only place both
can reach. This module imports neither pygls nor lsprotocol nor lean-interact: it only names
attributes of the objects it is handed, so the import-linter contract "only lean_sidecar.lsp
speaks LSP through pygls/lsprotocol" stays true without an exception.

pygls (2.1) — what we rely on, and what to check on an upgrade
--------------------------------------------------------------
``JsonRPCProtocol._execute_handler(msg_id, handler, callback, args, kwargs)``
    Every request, notification and generator step runs through it (pygls calls it with these
    keywords). The sidecar overrides it (:class:`ProtocolHooks`) to spawn coroutine handlers in
    its task registry under the editor's request id, so ``$/cancelRequest`` reaches work that
    has already started (pygls only cancels a future that has not). Check: the name, the
    parameter names, that ``_handle_request`` sets ``msg_id`` (the context's request id) before
    calling it, and that generator steps and notifications get fresh uuid ids.
``JsonRPCProtocol._handle_cancel_notification(msg_id)``
    Called for ``$/cancelRequest``; overridden (:class:`ProtocolHooks`) to cancel the
    sidecar's tasks for that request before pygls cancels its future. Check: the name, and that
    ``_handle_notification`` still routes ``$/cancelRequest`` to it.
``JsonRPCProtocol._request_futures`` (``dict[msg_id, Future]``)
    pygls' futures of in-flight work; the sidecar stores its own task there (so pygls'
    ``shutdown`` cancels it) and forgets the futures pygls never removes (one per notification
    and per generator step). Check: still one dict, keyed by message id, that ``shutdown``
    iterates over and ``_handle_cancel_notification`` pops.
``JsonRPCProtocol._shutdown`` (``bool``)
    Set by pygls' ``shutdown`` handler; after it only ``exit`` is served. Check: still set
    there, still a bool.
``JsonRPCProtocol._converter`` (a cattrs ``Converter``)
    The converter pygls serializes its own messages with; the sidecar turns the structured
    results it merges with Lean's raw JSON into JSON with it, so both read the same. Check:
    still the converter ``structure_message``/``_serialize_message`` use.
``LanguageServerProtocol.lsp_initialize(params)``
    Public by name, but a generator in pygls' internal handler protocol (it yields
    ``(handler, args, kwargs)`` for a user ``initialize`` feature and returns the
    ``InitializeResult``). The sidecar answers ``initialize`` itself and drives it to build the
    workspace and capabilities. Check: still a generator yielding 3-tuples.
``JsonRPCServer._stop_event`` (``threading.Event | None``)
    pygls' ``shutdown()`` sets it; the sidecar's own read loop (asyncio streams instead of
    pygls' reader) gives each connection a fresh one and stops when it is set. Check: still
    created as ``None`` in ``__init__`` and set by ``shutdown()``.

lean-interact (0.11) — what we rely on, and what to check on an upgrade
-----------------------------------------------------------------------
``LeanServer._proc`` (``subprocess.Popen | None``)
    The REPL process. The sandbox starts the process itself (``lake env <repl>`` inside the
    sandbox) and hands it to lean-interact, whose ``run``, ``is_alive``, ``kill`` and
    ``get_stdout_stderr`` use it. Check: still the one attribute those methods read.
``LeanServer.start()``
    Public, but we depend on how it is used: ``__init__`` and ``restart()`` call it to spawn
    the process, so overriding it is how the sandbox takes over every start. Check: still
    called from both, still spawning ``lake env <cache_repl_dir>/.lake/build/bin/repl`` in
    ``config.working_dir`` (:func:`repl_command` mirrors it).
``LeanREPLConfig.cache_repl_dir``
    Public (it reads the private ``_cache_repl_dir``, which ``start()`` uses): where the REPL
    is built. Check: still the directory ``start()`` runs the REPL from.

Dependency ranges
-----------------
``pyproject.toml`` pins each runtime dependency to the minor release line we test (for
lsprotocol, calendar-versioned, the year's line): the lower bound is the version the tests ran
against, the upper bound excludes the next minor. Moving a bound means: install the new
version, run ``tests/unit/test_compat_contract.py`` and the LSP/REPL tests, fix this module
(and only this module) if a contract test fails, then widen the range.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from lean_bridge.json_types import Json

# The private objects are read through the Protocols below: ``cast`` says which shape compat
# relies on (the contract tests check it against the installed libraries), and no ``Any``
# leaks out of the accessors.

#: pygls' message id (JSON-RPC's: a number or a string).
MsgId = int | str
#: What pygls keeps per message in flight: an asyncio future (coroutine handlers, and the
#: sidecar's own tasks) or a concurrent.futures one (thread, generator and plain handlers).
Pending = asyncio.Future[object] | concurrent.futures.Future[object]
#: pygls' completion callback, called with the handler's future (of either kind). Any, honestly:
#: pygls types it for concurrent futures but hands it asyncio ones too, and the mixin's hooks
#: must accept what pygls' own hooks accept.
DoneCallback = Callable[[Any], None]


class _PyglsHooks(Protocol):
    """pygls' own hooks, as the mixin calls them through ``super()``."""

    def _execute_handler(
        self,
        msg_id: MsgId,
        handler: Callable[..., object],
        callback: DoneCallback | None,
        args: Sequence[object] | None,
        kwargs: Mapping[str, object] | None,
    ) -> None: ...

    def _handle_cancel_notification(self, msg_id: MsgId) -> None: ...


class _Converter(Protocol):
    def unstructure(self, obj: object, /) -> Json: ...


class _JsonRpcProtocol(Protocol):
    """The private state of pygls' ``JsonRPCProtocol`` that compat reads."""

    _request_futures: dict[MsgId, Pending]
    _shutdown: bool
    _converter: _Converter

    # yields (handler, args, kwargs) for a user ``initialize``, returns the InitializeResult
    def lsp_initialize(
        self, params: object
    ) -> Generator[tuple[Callable[..., object], Sequence[object], object], object, object]: ...


class _JsonRpcServer(Protocol):
    _stop_event: threading.Event | None


class _LeanServer(Protocol):
    _proc: subprocess.Popen[str] | None


class ReplConfig(Protocol):
    """What compat reads of lean-interact's ``LeanREPLConfig`` (public attributes)."""

    @property
    def cache_repl_dir(self) -> str: ...

    @property
    def lake_path(self) -> str | os.PathLike[str]: ...


# ---- pygls: the protocol ---------------------------------------------------------------------


class ProtocolHooks:
    """Mixin for a pygls ``JsonRPCProtocol`` subclass, listed before the pygls base: pygls'
    private hooks call :meth:`execute_handler` and :meth:`handle_cancel_notification`, which
    the subclass overrides (calling ``super()`` for pygls' own behaviour)."""

    def _execute_handler(
        self,
        msg_id: MsgId,
        handler: Callable[..., object],
        callback: DoneCallback | None = None,
        args: Sequence[object] | None = None,
        kwargs: Mapping[str, object] | None = None,
    ) -> None:
        self.execute_handler(msg_id, handler, callback, args, kwargs)

    def execute_handler(
        self,
        msg_id: MsgId,
        handler: Callable[..., object],
        callback: DoneCallback | None,
        args: Sequence[object] | None,
        kwargs: Mapping[str, object] | None,
    ) -> None:
        """Run ``handler`` for message ``msg_id`` (pygls' own: a future per handler, stored in
        :func:`request_futures` except for plain functions; ``callback`` on completion)."""
        cast(_PyglsHooks, super())._execute_handler(msg_id, handler, callback, args, kwargs)

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        self.handle_cancel_notification(msg_id)

    def handle_cancel_notification(self, msg_id: MsgId) -> None:
        """``$/cancelRequest`` for ``msg_id`` (pygls' own: pop its future and cancel it)."""
        cast(_PyglsHooks, super())._handle_cancel_notification(msg_id)


def request_futures(protocol: object) -> dict[MsgId, Pending]:
    """pygls' futures of in-flight work, by message id (the dict itself: callers mutate it)."""
    return cast(_JsonRpcProtocol, protocol)._request_futures


def is_shut_down(protocol: object) -> bool:
    """Whether the editor's ``shutdown`` request has been handled."""
    return bool(cast(_JsonRpcProtocol, protocol)._shutdown)


def unstructurer(protocol: object) -> Callable[[object], Json]:
    """pygls' converter's ``unstructure``: lsprotocol objects to JSON-ready values."""
    return cast(_JsonRpcProtocol, protocol)._converter.unstructure


def unstructure(protocol: object, value: object) -> Json:
    """``value`` (an lsprotocol object) as JSON-ready values, as pygls would send it."""
    return cast(_JsonRpcProtocol, protocol)._converter.unstructure(value)


def builtin_initialize(protocol: object, params: object) -> object:
    """Run pygls' own ``initialize`` (workspace, client and server capabilities) for ``params``
    (an lsprotocol ``InitializeParams``) and return its ``InitializeResult``."""
    gen = cast(_JsonRpcProtocol, protocol).lsp_initialize(params)
    result: object = None
    try:
        while True:
            handler, args, _ = next(gen)
            gen.send(handler(*args))
    except StopIteration as stop:
        result = stop.value
    return result


# ---- pygls: the server -----------------------------------------------------------------------


def stop_event(server: object) -> threading.Event | None:
    """The event pygls' ``shutdown()`` sets (None before a connection is served)."""
    return cast(_JsonRpcServer, server)._stop_event


def replace_stop_event(server: object) -> threading.Event:
    """Give ``server`` a fresh stop event (one per served connection) and return it."""
    event = threading.Event()
    cast(_JsonRpcServer, server)._stop_event = event
    return event


# ---- lean-interact ---------------------------------------------------------------------------


def repl_dir(config: ReplConfig) -> Path:
    """The directory of the REPL a ``LeanREPLConfig`` runs (its ``lake`` project)."""
    return Path(config.cache_repl_dir)


def repl_command(config: ReplConfig) -> list[str]:
    """The command ``LeanServer.start()`` runs for ``config``: ``lake env <repl binary>``."""
    repl = os.path.join(config.cache_repl_dir, ".lake", "build", "bin", "repl")
    return [str(config.lake_path), "env", repl]


def set_repl_process(server: object, proc: subprocess.Popen[str]) -> None:
    """Hand a ``LeanServer`` the REPL process it talks to (``subprocess.Popen`` in text mode,
    with pipes for stdin, stdout and stderr), as its ``start()`` would have."""
    cast(_LeanServer, server)._proc = proc
