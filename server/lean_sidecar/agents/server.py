"""The MCP server: the tool table (name, description, the schemas generated from the typed
models, annotations), each call validated, run and answered, and every failure turned into an
MCP error with a message and a kind (``data.kind``) an agent can act on: never a traceback.

Progress: a tool's progress lines go out as ``notifications/progress`` when the caller gave a
progress token. Cancellation: a client's cancel reaches the running tool as the cancellation
of its task (the SDK cancels the request's scope), which is how the editor's cancel reaches a
search too: the endpoint's streams close and nothing found afterwards is kept.
Resources: each search's trace, at ``lean-sidecar://trace/{id}``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ValidationError

from lean_bridge.repl_pool import ReplUnavailable
from lean_sidecar import __version__
from lean_sidecar.agents import schema
from lean_sidecar.agents.errors import INVALID_INPUT, AgentError, ErrorKind, settings_named
from lean_sidecar.agents.tools import AgentTools, Report
from lean_sidecar.agents.traces import PREFIX, TEMPLATE
from lean_sidecar.prover.endpoint import EndpointError

log = logging.getLogger(__name__)

Run = Callable[[Any, Report], Awaitable[BaseModel]]

INSTRUCTIONS = (
    "lean-sidecar checks Lean 4 proofs with Lean itself (a text gate, the sandboxed REPL, "
    "Lean's parse of record and an axiom audit) and searches proofs for `sorry` holes. Paths "
    "are .lean files of the project (relative to its root); positions are 0-based lines and "
    "UTF-16 characters, as in the `holes` tool's ranges. Only what Lean verified is ever "
    "written, and only by `fill` with write=true."
)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    args: type[schema.Args]
    result: type[BaseModel]
    run: Run
    read_only: bool = True


def tool_specs(tools: AgentTools) -> list[ToolSpec]:
    def plain(call: Callable[[Any], Awaitable[BaseModel]]) -> Run:
        async def run(args: Any, _report: Report) -> BaseModel:
            return await call(args)

        return run

    return [
        ToolSpec(
            "holes",
            "Holes of a file",
            "Every proof hole of a Lean file: its kind (sorry, or failingTactic where the "
            "editor's Lean reported one), declaration, goal and range.",
            schema.FileArgs,
            schema.HolesOut,
            plain(tools.holes),
        ),
        ToolSpec(
            "goal",
            "Goal at a position",
            "The goal Lean reports at the hole covering a position.",
            schema.AtArgs,
            schema.GoalOut,
            plain(tools.goal),
        ),
        ToolSpec(
            "verify",
            "Verify with Lean",
            "Verify with the full trust chain (text gate, Lean in a sandbox, Lean's parse of "
            "record, axiom audit): a declaration of the file, a proof of one of its holes, or "
            "a snippet (one declaration) checked after the file. A refusal says its stage and "
            "exactly why; text refused by the gate never reaches Lean.",
            schema.VerifyArgs,
            schema.VerifyOut,
            plain(tools.verify),
        ),
        ToolSpec(
            "search",
            "Search a proof for a hole",
            "Search proofs for the sorry at a position (symbolic tactics, then the model, with "
            "error-fix rounds and decomposition), within a budget; every proof returned was "
            "verified by Lean. Reports progress; cancellable. The trace is a resource.",
            schema.SearchArgs,
            schema.SearchOut,
            tools.search,
        ),
        ToolSpec(
            "fill",
            "Fill holes",
            "Search one hole (position) or every hole of the file and return the unified diff "
            "of the verified text; with write=true, write it (only what Lean verified, and "
            "only if the file did not change meanwhile).",
            schema.FillArgs,
            schema.FillOut,
            tools.fill,
            read_only=False,
        ),
        ToolSpec(
            "tactic_replacements",
            "Replacements for a failing tactic",
            "Tactics that Lean verified close the goal of a failing tactic (checked on the "
            "whole declaration) or make progress on it.",
            schema.TacticArgs,
            schema.TacticOut,
            plain(tools.tactic_replacements),
        ),
        ToolSpec(
            "refute",
            "Is this goal false?",
            "Try to prove the negation of the goal at a sorry with the symbolic closers (no "
            "model sample); goal_is_false=true when Lean proved it.",
            schema.AtArgs,
            schema.RefuteOut,
            plain(tools.refute),
        ),
        ToolSpec(
            "doctor",
            "Check the setup",
            "lean-sidecar doctor: the toolchain, REPL, endpoint, cache and sandbox, one line "
            "each with what to fix.",
            schema.NoArgs,
            schema.DoctorOut,
            plain(tools.doctor),
        ),
    ]


def _listed(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=schema.inline_schema(spec.args),
        output_schema=schema.inline_schema(spec.result),
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=False,
            idempotent_hint=spec.read_only,
            open_world_hint=False,
        ),
    )


def _arguments_error(name: str, exc: ValidationError) -> MCPError:
    """Which argument is wrong and why, never the value (it is the caller's data)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(x) for x in err["loc"]) or "arguments"
        why = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {why.removeprefix('Value error, ')}")
    return _error("arguments", f"invalid arguments for {name}: " + "; ".join(parts))


def _error(kind: ErrorKind, message: str) -> MCPError:
    """An MCP error: invalid params for what the caller must change, internal otherwise; the
    settings it names spelt as the user sets them."""
    code = types.INVALID_PARAMS if kind in INVALID_INPUT else types.INTERNAL_ERROR
    return MCPError(code=code, message=settings_named(message), data={"kind": kind})


class ProgressPump:
    """Progress lines (reported synchronously, from inside the search) sent in order as MCP
    progress notifications by a task of their own, so the search never waits on the client."""

    def __init__(self, send: Callable[[float, str], Awaitable[None]]) -> None:
        self._send = send
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._run())

    def report(self, message: str) -> None:
        if message:
            self._queue.put_nowait(message)

    async def _run(self) -> None:
        count = 0
        while (message := await self._queue.get()) is not None:
            count += 1
            try:
                await self._send(count, message)
            except Exception as exc:  # a client gone away: the tool's answer still matters
                log.debug("progress not sent: %s", exc)

    async def drain(self) -> None:
        """Send what is queued, then stop (after the tool's work, before its answer)."""
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), 5)

    def stop(self) -> None:
        self._task.cancel()


def build_server(tools: AgentTools, *, name: str = "lean-sidecar") -> Server[Any]:
    """The MCP server over ``tools`` (serve it with ``transport``)."""
    specs = {spec.name: spec for spec in tool_specs(tools)}
    listed = [_listed(spec) for spec in specs.values()]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        spec = specs.get(params.name)
        if spec is None:
            raise _error(
                "arguments", f"unknown tool {params.name!r}; the tools: {', '.join(specs)}"
            )
        try:
            args = spec.args.model_validate(params.arguments or {})
        except ValidationError as exc:
            raise _arguments_error(spec.name, exc) from None

        async def send(progress: float, message: str) -> None:
            await ctx.session.report_progress(progress, None, message)

        pump = ProgressPump(send)
        try:
            result = await spec.run(args, pump.report)
            await pump.drain()
        except AgentError as exc:
            raise _error(exc.kind, str(exc)) from None
        except ReplUnavailable as exc:
            raise _error("lean", f"Lean cannot check anything here: {exc}") from None
        except EndpointError as exc:  # its message is redacted of the key already
            raise _error("endpoint", f"the model endpoint failed: {exc}") from None
        except (MCPError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("tool %s failed", spec.name)
            raise _error(
                "internal",
                f"{spec.name} failed: an internal error ({type(exc).__name__}); the sidecar's "
                "log has the details",
            ) from None
        finally:
            pump.stop()
        data = result.model_dump(mode="json")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(data, ensure_ascii=False))],
            structured_content=data,
        )

    async def list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(name=t.title, uri=t.uri, mime_type="application/json")
                for t in tools.traces.recent()
            ]
        )

    async def list_templates(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    name="search trace",
                    uri_template=TEMPLATE,
                    description="Every attempt of a search (tactics, samples, fixes, sketches, "
                    "lemmas) with its outcome and seconds.",
                    mime_type="application/json",
                )
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        trace = tools.traces.get(uri) if uri.startswith(PREFIX) else None
        if trace is None:
            raise _error("arguments", f"no such trace: {uri[:200]} (traces of recent searches)")
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=uri, mime_type="application/json", text=json.dumps(trace.body)
                )
            ]
        )

    return Server(
        name,
        version=__version__,
        title="lean-sidecar",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )
