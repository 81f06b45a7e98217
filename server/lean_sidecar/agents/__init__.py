"""Agents: the verified engine over the Model Context Protocol (MCP).

A front end like the language server (``lean_sidecar.lsp``): it converts MCP values to the
domain's (``lean_sidecar.search``, ``lean_bridge``) and back, and holds no search logic. It is
the only package that imports the MCP SDK (``import-linter`` holds it to that).

- ``schema``: each tool's arguments (unknown fields refused, sizes bounded) and result;
- ``files``: paths confined to the project root, files read and written;
- ``sources``: where the engine comes from (``lean-sidecar mcp``'s own, or the editor's);
- ``tools``: the tools, MCP-free (domain calls and conversions);
- ``server``: the MCP server (tool table, errors, progress, cancellation, trace resources);
- ``transport``: stdio, streamable HTTP on loopback, the bearer token and its private file.
"""
