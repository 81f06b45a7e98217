"""The language server: the only package that speaks LSP (pygls, lsprotocol). Its composition
root (root.py) builds the object graph; docs/architecture.md describes the layers."""
