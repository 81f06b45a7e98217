"""The traces of an agent's recent searches, kept to be read as MCP resources: what the editor
shows with ``leanSidecar.trace`` and ``fill --trace`` prints. Bounded: the oldest go first."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

from lean_bridge.json_types import JsonObject
from lean_sidecar.search.trace import HoleResult

SCHEME = "lean-sidecar"
TEMPLATE = f"{SCHEME}://trace/{{id}}"
PREFIX = f"{SCHEME}://trace/"


@dataclass(frozen=True)
class Trace:
    uri: str
    title: str
    body: JsonObject


class TraceStore:
    def __init__(self, keep: int = 64) -> None:
        self._keep = keep
        self._traces: OrderedDict[str, Trace] = OrderedDict()

    def add(self, file: str, line: int, declaration: str, result: HoleResult) -> str:
        """Keep ``result``'s trace; its URI."""
        uri = PREFIX + secrets.token_hex(6)
        body: JsonObject = {
            "file": file,
            "line": line,
            "declaration": declaration,
            "status": str(result.status),
            "seconds": round(result.seconds, 3),
            "samples": result.samples,
            "error": result.error,
            "found": [
                {"script": f.script, "how": f.how, "seconds": round(f.seconds, 3)}
                for f in result.found
            ],
            "attempts": [a.to_json() for a in result.attempts],
        }
        title = f"{file}:{line} {declaration}: {result.status}"
        self._traces[uri] = Trace(uri, title, body)
        while len(self._traces) > self._keep:
            self._traces.popitem(last=False)
        return uri

    def get(self, uri: str) -> Trace | None:
        return self._traces.get(uri)

    def recent(self) -> list[Trace]:
        return list(reversed(self._traces.values()))
