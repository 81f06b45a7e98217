"""lean-sidecar's editor-facing language server."""

__version__ = "0.1.0"
