"""``lean-sidecar``: serve (the language server) and the command-line tools."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from lean_sidecar import __version__
from lean_sidecar.eval_cli import add_eval_parser
from lean_sidecar.fill_cli import add_fill_parser
from lean_sidecar.gpu.serve_cli import add_endpoint_parser
from lean_sidecar.mcp_cli import add_mcp_parser, editor_agents
from lean_sidecar.settings import CLI_FLAGS, Settings, SettingsError, load_settings


def _common_settings_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--endpoint",
        action="append",
        dest="endpoints",
        help="OpenAI-compatible base URL (repeatable)",
    )
    p.add_argument("--model", help="served model name")
    p.add_argument(
        "--model-family",
        dest="model_family",
        help="prompt dialect (kimina, deepseek-v2-cot, goedel-v2, …)",
    )
    p.add_argument("--lake-path", dest="lake_path")
    p.add_argument("--repl-path", dest="repl_path")
    p.add_argument("--log-level", dest="log_level")


def _settings_from(args: argparse.Namespace, extra: Mapping[str, object] | None = None) -> Settings:
    keys = [k for k in CLI_FLAGS if k != "upstream"]  # the flags _common_settings_flags adds
    cli = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    return load_settings({**cli, **(extra or {})}, strict=True, flags=CLI_FLAGS)


def _setup_logging(level: str, log_file: Path | None = None) -> None:
    """Logs go to stderr, or to ``log_file`` when one is set: an editor may read every byte on
    the server's stderr as an error (the Lean extension pops each one up)."""
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler])
    logging.getLogger("pygls").setLevel(logging.WARNING)


def cmd_serve(args: argparse.Namespace) -> int:
    # The language server's modules load with the command that runs it, not with every command.
    from lean_sidecar.lsp.root import build_server
    from lean_sidecar.lsp.transport import serve_stdio, serve_tcp

    try:
        extra = {"upstream": shlex.split(args.upstream)} if args.upstream else None
    except ValueError as exc:
        raise SettingsError(f"cannot parse --upstream: {exc}") from None
    settings = _settings_from(args, extra)
    _setup_logging(settings.log_level, log_file=settings.log_file)
    server = build_server(settings, share=editor_agents())  # agents: only with mcpShare
    if not args.tcp and sys.stdin.isatty():
        print(
            "lean-sidecar speaks the Language Server Protocol on stdin/stdout: start it from "
            "your editor (see the README), or use `lean-sidecar fill FILE.lean` here.",
            file=sys.stderr,
        )
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        serve_tcp(server, host or "127.0.0.1", int(port))
    elif serve_stdio(server) == 0:
        # stdin was empty (/dev/null under a service manager, nohup or CI): not an error, but
        # nothing was served, and the user should know why the server ended at once.
        print(
            "lean-sidecar serve: standard input ended before any LSP message arrived, so there "
            "is nothing to serve; an editor starts `serve` with its messages on stdin "
            "(use --tcp HOST:PORT for a server that waits for connections).",
            file=sys.stderr,
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lean-sidecar", description=__doc__)
    parser.add_argument("--version", action="version", version=f"lean-sidecar {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--upstream", metavar='"CMD ARGS..."', help="command of Lean's server")
    _common_settings_flags(serve)
    serve.set_defaults(func=cmd_serve)
    add_fill_parser(sub, _common_settings_flags, _settings_from, _setup_logging)
    add_eval_parser(sub, _common_settings_flags, _settings_from, _setup_logging)
    add_mcp_parser(sub, _common_settings_flags, _settings_from, _setup_logging)

    add_endpoint_parser(sub)
    from lean_sidecar.doctor_cli import add_doctor_parser

    add_doctor_parser(sub, _common_settings_flags, _settings_from)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: what the command returns; 2 for a usage or setup error (argparse's too)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"lean-sidecar: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
