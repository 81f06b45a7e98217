"""``lean-sidecar mcp``: serve agents over MCP (stdio, or ``--http``); and the agents share of
``lean-sidecar serve`` (``mcpShare``). The composition of ``lean_sidecar.agents`` with the
doctor and the editor: this module is the only one that knows all three."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lean_sidecar.doctor import can_search, run_checks
from lean_sidecar.doctor_endpoint import Check
from lean_sidecar.settings import Settings

if TYPE_CHECKING:  # the MCP SDK is imported by the commands that use it, not by every command
    from lean_sidecar.agents.editor import EditorAgents


def doctor(settings: Settings, project: Path) -> tuple[Sequence[Check], bool]:
    checks = run_checks(settings, project)
    return checks, can_search(checks)


def editor_agents() -> EditorAgents:
    """The share ``serve`` hands to the language server (it does nothing unless mcpShare)."""
    from lean_sidecar.agents.editor import EditorAgents

    return EditorAgents(doctor)


def find_root(start: Path) -> Path:
    """The project folder: the nearest folder up from ``start`` with a lean-toolchain, else
    ``start`` itself (files outside it cannot be named)."""
    for folder in [start, *start.parents]:
        if (folder / "lean-toolchain").exists():
            return folder
    return start


def add_mcp_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
    settings_from: Callable[..., Settings],
    setup_logging: Callable[..., None],
) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve agents over the Model Context Protocol (stdio; --http for HTTP)",
        description="An MCP server in front of the verified engine, for agents (Claude Code, "
        "Codex CLI, Cursor, VS Code): holes, goals, verify, search, fill, tactic "
        "replacements, refute, doctor. See docs/agents.md.",
    )
    p.add_argument(
        "--project",
        type=Path,
        default=None,
        help="the Lean project; files outside it cannot be named (default: the nearest folder"
        " up from the current one with a lean-toolchain)",
    )
    p.add_argument(
        "--http",
        action="store_true",
        help="streamable HTTP on mcpHost:mcpPort (loopback by default; bearer token in "
        "mcpTokenFile) instead of stdio",
    )
    p.add_argument("--port", type=int, default=None, help="with --http: the port (0: any)")
    common(p)

    def run(args: argparse.Namespace) -> int:
        extra = {"mcp_port": args.port} if args.port is not None else None
        settings = settings_from(args, extra)
        # stdout is the protocol: the log goes to stderr (or logFile), quiet unless asked
        setup_logging(settings.log_level if args.log_level else "WARNING", settings.log_file)
        root = (args.project or find_root(Path.cwd())).resolve()
        with contextlib.suppress(KeyboardInterrupt):
            from lean_sidecar.agents.standalone import run_mcp

            return asyncio.run(run_mcp(settings, root, http=args.http, doctor=doctor))
        return 0

    p.set_defaults(func=run)
