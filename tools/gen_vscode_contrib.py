"""Generate the VS Code extension's settings, the settings table of the docs and the server's
command ids from the server itself.

One source of truth: ``lean_sidecar.settings.Settings`` (the typed model, each field's
``description=``) gives ``contributes.configuration`` of vscode-extension/package.json and the
table of docs/configuration.md, and the commands a freshly built server registers (what its
``initialize`` result advertises as ``executeCommandProvider``) give
vscode-extension/src/server-commands.json. Run after changing either:

    .venv/bin/python tools/gen_vscode_contrib.py          # rewrite the three files
    .venv/bin/python tools/gen_vscode_contrib.py --check  # exit 1 when they are stale (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This checkout's code (the package's source root is server/), not an installed copy's.
sys.path[:0] = [str(ROOT / "server"), str(ROOT)]

from lean_sidecar.settings import Settings, env_name  # noqa: E402

EXT = ROOT / "vscode-extension"
PACKAGE = EXT / "package.json"
COMMANDS = EXT / "src" / "server-commands.json"
DOC = ROOT / "docs" / "configuration.md"
TABLE_START = "<!-- settings table: generated from settings.py by tools/gen_vscode_contrib.py -->"
TABLE_END = "<!-- end of the generated settings table -->"
# Defaults computed on the machine that runs the generator, written as a user reads them.
DOC_DEFAULTS = {
    "cache_path": "~/.cache/lean-sidecar/proofs.sqlite",
    "mcp_token_file": "~/.config/lean-sidecar/mcp-token",
}

# Server settings the editor must not set: the API key lives in VS Code's SecretStorage; the
# verifier servers' key is read from LEAN_SIDECAR_VERIFIER_API_KEY only.
SERVER_ONLY = {"api_key", "verifier_api_key"}

# Settings of the extension itself (how to start the sidecar), not of the server.
EXTENSION_ONLY: dict[str, dict[str, Any]] = {
    "leanSidecar.route": {
        "type": "string",
        "enum": ["auto", "shim", "standalone"],
        "default": "auto",
        "description": "auto: route the Lean extension's server through the sidecar when "
        "leanprover.lean4 is installed (one Lean process per file), else run the sidecar as its "
        "own language server.",
    },
    "leanSidecar.pythonPath": {
        "type": ["string", "null"],
        "default": None,
        "description": "Python interpreter that has lean-sidecar installed. Unset: the interpreter "
        "of `lean-sidecar` on PATH, else a `.venv` of the workspace or pipx's venv.",
    },
    "leanSidecar.serverCommand": {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "default": None,
        "description": "Full command that starts the sidecar in the standalone route "
        "(overrides pythonPath).",
    },
}


# Settings that name something to execute or weaken a defence: `machine` scope, so a cloned
# workspace's .vscode/settings.json cannot set them (VS Code applies machine-scoped settings
# from the user's settings only), and restricted in an untrusted workspace.
MACHINE_SCOPED = frozenset(
    {
        "leanSidecar.pythonPath",
        "leanSidecar.serverCommand",
        "leanSidecar.upstream",
        "leanSidecar.lakePath",
        "leanSidecar.replPath",
        "leanSidecar.replSandbox",
        "leanSidecar.allowNativeDecide",
        "leanSidecar.allowUnsandboxed",
        "leanSidecar.logFile",
        "leanSidecar.cachePath",
        # agents over MCP: a workspace must not open a port, nor choose where its token lives
        "leanSidecar.mcpShare",
        "leanSidecar.mcpHost",
        "leanSidecar.mcpPort",
        "leanSidecar.mcpTokenFile",
        # remote verification: a workspace must not choose whose Lean decides what is proved
        "leanSidecar.verifierServers",
    }
)
UNTRUSTED_WORKSPACES = {
    "supported": "limited",
    "description": "In an untrusted workspace lean-sidecar ignores the workspace's settings that "
    "choose what runs or weaken a defence (interpreter, server command, Lean and REPL paths, "
    "sandbox, native evaluation, log and cache files, serving agents over MCP, verifier servers).",
    "restrictedConfigurations": sorted(MACHINE_SCOPED),
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def property_schema(name: str, schema: dict[str, Any], field_default: Any) -> dict[str, Any]:
    """One VS Code setting from one JSON-schema property. Settings without a static default (or
    whose default is computed, like the cache path) default to null: unset, the server decides."""
    out: dict[str, Any] = {}
    variants = schema.get("anyOf", [schema])
    types = []
    for v in variants:
        t = v.get("type")
        if t is None and "enum" in v:
            t = "string"
        if t is not None:
            types.append(t)
        if "items" in v:
            out["items"] = v["items"]
        if "enum" in v:
            out["enum"] = v["enum"]
        for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if bound in v:
                out[bound] = v[bound]
    if "enum" in schema:
        out["enum"] = schema["enum"]
        types = types or ["string"]
    if "format" in schema and schema.get("format") == "path":
        types = ["string"]
    default = schema.get("default")
    if "default" not in schema:
        types.append("null")
    if "null" not in types and default is None:
        types.append("null")
    out["type"] = types[0] if len(types) == 1 else types
    out["default"] = default
    desc = schema.get("description") or field_default
    if desc:
        out["markdownDescription"] = desc
    return dict(sorted(out.items()))


def configuration() -> dict[str, Any]:
    schema = Settings.model_json_schema()
    defs = schema.get("$defs", {})
    props: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if name in SERVER_ONLY:
            continue
        if "$ref" in prop:
            prop = {
                **defs[prop["$ref"].split("/")[-1]],
                **{k: v for k, v in prop.items() if k != "$ref"},
            }
        props[f"leanSidecar.{camel(name)}"] = property_schema(name, prop, None)
    props.update(EXTENSION_ONLY)
    for key in MACHINE_SCOPED:
        props[key] = dict(sorted({**props[key], "scope": "machine"}.items()))
    return {"title": "lean-sidecar", "properties": dict(sorted(props.items()))}


def _doc_default(name: str) -> str:
    """The default as the table shows it: code, or "unset"."""
    if name in DOC_DEFAULTS:
        return f"`{DOC_DEFAULTS[name]}`"
    value = Settings.model_fields[name].get_default(call_default_factory=True)
    if value is None:
        return "unset"
    return f"`{value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}`"


def settings_table() -> str:
    """The table of docs/configuration.md: every setting, its variable, default and meaning."""
    rows = [
        "| setting | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        meaning = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{camel(name)}` | `{env_name(name)}` | {_doc_default(name)} | {meaning} |")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def with_table(doc: str) -> str:
    """``doc`` with its generated table replaced by the current one."""
    head, start, rest = doc.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise SystemExit(f"{DOC.relative_to(ROOT)} has no {TABLE_START!r} … {TABLE_END!r} block")
    return head + settings_table() + tail


def server_commands() -> list[str]:
    """The ids the server registers, read from a server built in-process (no Lean started)."""
    from lean_sidecar.lsp.root import build_server

    server = build_server(Settings())
    return sorted(server.protocol.fm.commands)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the files are stale")
    args = parser.parse_args()
    pkg = json.loads(PACKAGE.read_text())
    pkg["contributes"]["configuration"] = configuration()
    pkg["capabilities"] = {"untrustedWorkspaces": UNTRUSTED_WORKSPACES}
    new_pkg = json.dumps(pkg, indent=2, ensure_ascii=False) + "\n"
    new_cmds = json.dumps({"commands": server_commands()}, indent=2) + "\n"
    new_doc = with_table(DOC.read_text(encoding="utf-8"))
    outputs = ((PACKAGE, new_pkg), (COMMANDS, new_cmds), (DOC, new_doc))
    stale = [p for p, text in outputs if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(
                f"stale: {p.relative_to(ROOT)} (run tools/gen_vscode_contrib.py)", file=sys.stderr
            )
        return 1 if stale else 0
    for p, text in outputs:
        p.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
