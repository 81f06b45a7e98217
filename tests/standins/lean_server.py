#!/usr/bin/env python3
"""A stand-in for Lean's language server (`lake serve`), for machines without a Lean toolchain.

It speaks the messages lean-sidecar uses, in Lean's shapes (see shared/reference/lean-protocols.md):
initialize result, client/registerCapability after initialized, incremental sync with UTF-16
positions, cumulative (or incremental) publishDiagnostics with `fullRange`, `$/lean/fileProgress`
(the empty report is sent *before* the last diagnostics, as Lean >= 4.22 does),
`textDocument/waitForDiagnostics`, `$/lean/plainGoal`, `$/lean/plainTermGoal`, Try-this code
actions, hover, RPC connect/call/keepAlive, and Lean's error codes.

What it "elaborates" comes from a facts file (JSON), never from the code under test:

    {"sorryMessage": "declaration uses `sorry`",
     "declarations": {"name": {"sorries": [{"goal": "...", "term": false}, ...],
                               "errors": [{"match": "linarith", "message": "...", "goal": "..."}]}},
     "tryThis": {"exact?": "exact Nat.le_refl n"}}

Usage: python tests/standins/lean_server.py [--facts FILE] [--delay-ms N]
Environment: STANDIN_PIDFILE (append this process's pid), STANDIN_LOG (append every message).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
from typing import Any

DECL_RE = re.compile(
    r"^(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable)\s+)*"
    r"(theorem|lemma|def|example|instance|abbrev)\b[ \t]*([^\s:(\[{]*)",
    re.M,
)
SORRY_RE = re.compile(r"(?<![\w.'])sorry(?![\w'])")


# ---------------------------------------------------------------- text helpers (own code)
def utf16_col_to_index(line: str, col: int) -> int:
    units = 0
    for i, ch in enumerate(line):
        if units >= col:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def index_to_pos(text: str, idx: int) -> dict[str, int]:
    line = text.count("\n", 0, idx)
    start = text.rfind("\n", 0, idx) + 1
    seg = text[start:idx]
    return {"line": line, "character": sum(2 if ord(c) > 0xFFFF else 1 for c in seg)}


def pos_to_index(text: str, pos: dict[str, int]) -> int:
    lines = text.split("\n")
    line = max(0, min(pos["line"], len(lines)))
    if line >= len(lines):
        return len(text)
    base = sum(len(x) + 1 for x in lines[:line])
    return base + utf16_col_to_index(lines[line], pos["character"])


def apply_change(text: str, change: dict[str, Any]) -> str:
    if "range" not in change:
        return change["text"]
    a = pos_to_index(text, change["range"]["start"])
    b = pos_to_index(text, change["range"]["end"])
    return text[:a] + change["text"] + text[b:]


def blank_comments(text: str) -> str:
    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    text = re.sub(r"/-.*?-/", blank, text, flags=re.S)
    text = re.sub(r'"(?:[^"\\\n]|\\.)*"', blank, text)
    return re.sub(r"--[^\n]*", blank, text)


# ---------------------------------------------------------------- "elaboration"
ON_NAME = ("(kernel)", "fail to show termination", "structural recursion cannot be used")
PROOFS = ("theorem", "lemma", "example")


def rendered(goals: list[str]) -> dict[str, Any]:
    """plainGoal's answer: Lean renders each goal in a lean block, separated by `---`."""
    if not goals:
        return {"goals": [], "rendered": "no goals"}
    return {"goals": goals, "rendered": "\n---\n".join(f"```lean\n{g}\n```" for g in goals)}


def block_end(text: str, opener: int, limit: int) -> int:
    """The end of the tactic block opened at ``opener``: the lines indented deeper than the
    opener's line (or the rest of that line), trailing whitespace excluded."""
    line_start = text.rfind("\n", 0, opener) + 1
    line = text[line_start:]
    indent = len(line) - len(line.lstrip(" "))
    end = text.find("\n", opener)
    end = limit if end < 0 or end > limit else end
    pos = end
    while pos < limit:
        nxt = text.find("\n", pos + 1)
        nxt = limit if nxt < 0 or nxt > limit else nxt
        row = text[pos + 1 : nxt]
        if row.strip() and len(row) - len(row.lstrip(" ")) <= indent:
            break
        if row.strip():
            end = nxt
        pos = nxt
    return len(text[:end].rstrip())


def cut_range(text: str, a: int, b: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Lean's (range, fullRange) of a message on a multi-line syntax: ``range`` stops at the
    end of the first line (the start of the next), ``fullRange`` covers all of it."""
    full = {"start": index_to_pos(text, a), "end": index_to_pos(text, b)}
    first_end = text.find("\n", a)
    if first_end < 0 or first_end >= b:
        return full, full
    line = text.count("\n", 0, a) + 1
    return {"start": full["start"], "end": {"line": line, "character": 0}}, full


class Elaboration:
    def __init__(self, text: str, facts: dict[str, Any], silent: bool = False) -> None:
        self.text = text
        self.tactic_points: list[tuple[int, int, list[str], list[str]]] = []
        code = blank_comments(text)
        decls = list(DECL_RE.finditer(code))
        self.diagnostics: list[dict[str, Any]] = []
        self.goal_points: list[
            tuple[int, int, list[str] | None, str | None]
        ] = []  # start,end,goals,term
        self.decl_spans: list[tuple[int, int, str]] = []
        sorry_msg = facts.get("sorryMessage", "declaration uses `sorry`")
        for k, m in enumerate(decls):
            end = decls[k + 1].start() if k + 1 < len(decls) else len(text)
            name = m.group(2) or m.group(1)
            self.decl_spans.append((m.start(), end, name))
            info = facts.get("declarations", {}).get(name, {})
            body = code[m.end() : end]
            has_error = False
            decl_end = m.start() + len(code[m.start() : end].rstrip())  # comments excluded
            name_start = m.start(2) if m.group(2) else m.start(1)
            name_end = m.end(2) if m.group(2) else m.end(1)
            for err in info.get("errors", []):
                hit = re.search(r"(?<![\w.])" + re.escape(err["match"]) + r"(?![\w'])", body)
                if not hit:
                    continue
                has_error = True
                a = m.end() + hit.start()
                msg = err["message"]
                tags: list[int] = []
                if msg.startswith(ON_NAME):
                    # kernel and termination errors: on the declaration's name
                    a, b = name_start, name_end
                    rng = full = {"start": index_to_pos(text, a), "end": index_to_pos(text, b)}
                elif msg.startswith("unsolved goals"):
                    # at the `by` opening the block that ended with goals left: `range` is cut
                    # at the end of that line, `fullRange` runs to the end of the block
                    opener = [o for o in re.finditer(r"\bby\b", code[m.end() : a + 2])]
                    if opener:
                        a = m.end() + opener[-1].start()
                    b = block_end(text, a, decl_end)
                    tags = [1]
                    rng, full = cut_range(text, a, b)
                else:
                    # the failing tactic's syntax: here, to the end of its line
                    line_end = text.find("\n", a)
                    b = len(text.rstrip()) if line_end < 0 else len(text[:line_end].rstrip())
                    rng = full = {"start": index_to_pos(text, a), "end": index_to_pos(text, b)}
                diag: dict[str, Any] = {
                    "source": "Lean 4",
                    "severity": 1,
                    "range": rng,
                    "message": msg,
                }
                if tags:
                    diag["leanTags"] = tags
                diag["fullRange"] = full
                code_name = err.get("code") or (
                    "lean.unknownIdentifier" if msg.startswith("Unknown identifier `") else None
                )
                if code_name:
                    diag["code"] = code_name
                self.diagnostics.append(diag)
                if not tags:
                    self.goal_points.append(
                        (a, b, [err.get("goal", "")] if err.get("goal") else None, None)
                    )
            for tac in info.get("tactics", []):
                # plainGoal anywhere in a tactic block: before a tactic (at its first character)
                # the goals before it, inside or after it (to its line's end) the goals after it
                hit = re.search(r"(?<![\w.])" + re.escape(tac["match"]) + r"(?![\w'])", body)
                if hit:
                    a = m.end() + hit.start()
                    line_end = text.find("\n", a)
                    b = len(text) if line_end < 0 else line_end
                    self.tactic_points.append((a, b, tac.get("before", []), tac.get("after", [])))
            sorries = list(SORRY_RE.finditer(body))
            for i, s in enumerate(sorries):
                a, b = m.end() + s.start(), m.end() + s.end()
                spec = info.get("sorries") or []
                spec = spec[i] if i < len(spec) else {}
                goal = spec.get("goal")
                if spec.get("term"):
                    self.goal_points.append((a, b, None, goal))
                else:
                    self.goal_points.append((a, b, [goal] if goal else None, None))
            if not sorries and not has_error and silent and m.group(1) in PROOFS:
                rng, full = cut_range(text, m.start(), decl_end)
                self.diagnostics.append(
                    {
                        "source": "Lean 4",
                        "severity": 3,
                        "range": rng,
                        "message": "Goals accomplished!",
                        "leanTags": [2],
                        "isSilent": True,
                        "fullRange": full,
                    }
                )
            if sorries and not has_error:
                rng = {"start": index_to_pos(text, name_start), "end": index_to_pos(text, name_end)}
                self.diagnostics.append(
                    {
                        "source": "Lean 4",
                        "severity": 2,
                        "range": rng,
                        "message": sorry_msg,
                        "fullRange": rng,
                    }
                )

    def plain_goal(self, idx: int) -> dict[str, Any] | None:
        for a, b, before, after in self.tactic_points:
            if a <= idx <= b:
                return rendered(before if idx == a else after)
        for a, b, goals, _term in self.goal_points:
            if a <= idx <= b and goals is not None:
                if idx > a:  # strictly inside a tactic: the goals *after* it
                    return {"goals": [], "rendered": "no goals"}
                return {
                    "goals": goals,
                    "rendered": "\n---\n".join(f"```lean\n{g}\n```" for g in goals),
                }
        return None

    def term_goal(self, idx: int) -> dict[str, Any] | None:
        for a, b, _goals, term in self.goal_points:
            if a <= idx <= b and term is not None:
                return {
                    "goal": term,
                    "range": {
                        "start": index_to_pos(self.text, a),
                        "end": index_to_pos(self.text, b),
                    },
                }
        return None


# ---------------------------------------------------------------- the server
class StandInLean:
    def __init__(self, facts: dict[str, Any], delay: float) -> None:
        self.facts = facts
        self.delay = delay
        self.docs: dict[str, dict[str, Any]] = {}
        self.incremental = False
        self.silent = False
        self.sessions: set[str] = set()
        self.out = sys.stdout.buffer
        self.log = open(os.environ["STANDIN_LOG"], "a") if os.environ.get("STANDIN_LOG") else None
        self.shutdown = False

    def send(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode()
        self.out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.out.flush()

    def reply(self, msg_id: Any, result: Any = None, error: dict[str, Any] | None = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id}
        if error is not None:
            msg["error"] = error
        else:
            msg["result"] = result
        self.send(msg)

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    # ---- document processing
    async def process(self, uri: str) -> None:
        doc = self.docs[uri]
        version, text = doc["version"], doc["text"]
        eof = index_to_pos(text, len(text))
        self.notify(
            "$/lean/fileProgress",
            {
                "textDocument": {"uri": uri, "version": version},
                "processing": [
                    {"range": {"start": {"line": 0, "character": 0}, "end": eof}, "kind": 1}
                ],
            },
        )
        await asyncio.sleep(self.delay)
        elab = Elaboration(text, self.facts, self.silent)
        diags = elab.diagnostics
        half = len(diags) // 2
        if self.incremental and diags:
            self.notify(
                "textDocument/publishDiagnostics",
                {
                    "uri": uri,
                    "version": version,
                    "diagnostics": diags[:half],
                    "isIncremental": False,
                },
            )
        elif diags[:half]:
            self.notify(
                "textDocument/publishDiagnostics",
                {"uri": uri, "version": version, "diagnostics": diags[:half]},
            )
        # Lean >= 4.22: the empty progress report may come before the last diagnostics.
        self.notify(
            "$/lean/fileProgress",
            {"textDocument": {"uri": uri, "version": version}, "processing": []},
        )
        await asyncio.sleep(self.delay / 2)
        if self.incremental:
            self.notify(
                "textDocument/publishDiagnostics",
                {
                    "uri": uri,
                    "version": version,
                    "diagnostics": diags[half:],
                    "isIncremental": bool(diags),
                },
            )
        else:
            self.notify(
                "textDocument/publishDiagnostics",
                {"uri": uri, "version": version, "diagnostics": diags},
            )
        doc["elab"] = elab
        doc["done"].set()

    def schedule(self, uri: str) -> None:
        doc = self.docs[uri]
        if doc.get("task"):
            doc["task"].cancel()
        doc["done"] = asyncio.Event()
        doc["elab"] = None
        doc["task"] = asyncio.ensure_future(self.process(uri))

    # ---- dispatch
    async def handle(self, msg: dict[str, Any]) -> None:
        if self.log:
            self.log.write(json.dumps(msg) + "\n")
            self.log.flush()
        method = msg.get("method")
        params = msg.get("params") or {}
        msg_id = msg.get("id")
        if method is None:
            return  # an answer to our registerCapability
        if method == "initialize":
            caps = (params.get("capabilities") or {}).get("lean") or {}
            self.incremental = bool(caps.get("incrementalDiagnosticSupport"))
            self.silent = bool(caps.get("silentDiagnosticSupport"))
            self.reply(msg_id, INITIALIZE_RESULT)
        elif method == "initialized":
            self.send(
                {
                    "jsonrpc": "2.0",
                    "id": "register_lean_watcher",
                    "method": "client/registerCapability",
                    "params": {
                        "registrations": [
                            {
                                "id": "lean_watcher",
                                "method": "workspace/didChangeWatchedFiles",
                                "registerOptions": {
                                    "watchers": [
                                        {"globPattern": "**/*.lean"},
                                        {"globPattern": "**/*.ilean"},
                                    ]
                                },
                            }
                        ]
                    },
                }
            )
        elif method == "shutdown":
            self.shutdown = True
            self.reply(msg_id, None)
        elif method == "exit":
            self.out.flush()
            os._exit(0)
        elif method == "textDocument/didOpen":
            td = params["textDocument"]
            self.docs[td["uri"]] = {
                "text": td["text"].replace("\r\n", "\n"),
                "version": td.get("version", 0),
            }
            self.schedule(td["uri"])
        elif method == "textDocument/didChange":
            uri = params["textDocument"]["uri"]
            if uri not in self.docs or not params.get("contentChanges"):
                return
            doc = self.docs[uri]
            for change in params["contentChanges"]:
                doc["text"] = apply_change(doc["text"], change)
            doc["version"] = params["textDocument"].get("version", 0)
            self.schedule(uri)
        elif method == "textDocument/didClose":
            uri = params["textDocument"]["uri"]
            doc = self.docs.pop(uri, None)
            if doc and doc.get("task"):
                doc["task"].cancel()
            self.notify("textDocument/publishDiagnostics", {"uri": uri, "diagnostics": []})
        elif (
            method
            in (
                "textDocument/didSave",
                "$/cancelRequest",
                "$/lean/rpc/keepAlive",
                "$/lean/rpc/release",
                "workspace/didChangeWatchedFiles",
                "$/setTrace",
            )
            or msg_id is None
        ):
            return
        elif self.shutdown:
            self.reply(
                msg_id,
                error={"code": -32600, "message": "Request received after 'shutdown' request."},
            )
        else:
            try:
                await self.request(msg_id, method, params)
            except (KeyError, TypeError, ValueError):
                self.reply(
                    msg_id,
                    error={
                        "code": -32602,
                        "message": f"Cannot parse request params: {json.dumps(params)}",
                    },
                )

    async def request(self, msg_id: Any, method: str, params: dict[str, Any]) -> None:
        uri = (params.get("textDocument") or {}).get("uri") or params.get("uri")
        handlers = {
            "textDocument/waitForDiagnostics",
            "$/lean/plainGoal",
            "$/lean/plainTermGoal",
            "textDocument/codeAction",
            "textDocument/hover",
            "$/lean/rpc/connect",
            "$/lean/rpc/call",
        }
        if method in EMPTY_ANSWERS:
            # Advertised as Lean does, but not modelled: an empty (valid) answer, as Lean gives
            # for a file without those features.
            self.reply(msg_id, EMPTY_ANSWERS[method])
            return
        if method not in handlers:
            self.reply(
                msg_id,
                error={"code": -32601, "message": f"No request handler found for '{method}'"},
            )
            return
        doc = self.docs.get(uri)
        if doc is None:
            self.reply(
                msg_id,
                error={"code": -32801, "message": f"Cannot process request to closed file '{uri}'"},
            )
            return
        if method == "textDocument/waitForDiagnostics":
            while doc["version"] < params.get("version", 0):
                await asyncio.sleep(0.05)
            await doc["done"].wait()
            self.reply(msg_id, {})
            return
        await doc["done"].wait()
        elab: Elaboration = doc["elab"]
        text = doc["text"]
        if method in ("$/lean/plainGoal", "$/lean/plainTermGoal", "textDocument/hover"):
            pos = params.get("position") or {}
            if not isinstance(pos.get("line"), int) or not isinstance(pos.get("character"), int):
                self.reply(
                    msg_id,
                    error={
                        "code": -32602,
                        "message": f"Cannot parse request params: {json.dumps(params)}",
                    },
                )
                return
            idx = pos_to_index(text, pos)
            if method == "$/lean/plainGoal":
                self.reply(msg_id, elab.plain_goal(idx))
            elif method == "$/lean/plainTermGoal":
                self.reply(msg_id, elab.term_goal(idx))
            else:
                m = None
                for w in re.finditer(r"[\w.?!']+", text):
                    if w.start() <= idx < w.end():
                        m = w
                        break
                if m is None:
                    self.reply(msg_id, None)
                else:
                    self.reply(
                        msg_id,
                        {
                            "contents": {
                                "kind": "markdown",
                                "value": f"```lean\n{m.group(0)}\n```\n\nLean hover",
                            },
                            "range": {
                                "start": index_to_pos(text, m.start()),
                                "end": index_to_pos(text, m.end()),
                            },
                        },
                    )
        elif method == "textDocument/codeAction":
            rng = params["range"]
            lines = range(rng["start"]["line"], rng["end"]["line"] + 1)
            actions = []
            for trigger, suggestion in (self.facts.get("tryThis") or {}).items():
                for hit in re.finditer(re.escape(trigger), text):
                    start = index_to_pos(text, hit.start())
                    if start["line"] in lines:
                        edit_range = {"start": start, "end": index_to_pos(text, hit.end())}
                        actions.append(
                            {
                                "title": f"Try this: {suggestion}",
                                "kind": "quickfix",
                                "isPreferred": True,
                                "edit": {
                                    "documentChanges": [
                                        {
                                            "textDocument": {"uri": uri, "version": doc["version"]},
                                            "edits": [{"range": edit_range, "newText": suggestion}],
                                        }
                                    ]
                                },
                            }
                        )
            self.reply(msg_id, actions)
        elif method == "$/lean/rpc/connect":
            sid = str(random.getrandbits(63))
            self.sessions.add(sid)
            self.reply(msg_id, {"sessionId": sid})
        elif method == "$/lean/rpc/call":
            if params.get("sessionId") not in self.sessions:
                self.reply(msg_id, error={"code": -32900, "message": "Outdated RPC session"})
            elif params.get("method") == "Lean.Widget.getInteractiveGoals":
                idx = pos_to_index(text, params.get("position") or {"line": 0, "character": 0})
                goal = elab.plain_goal(idx)
                self.reply(
                    msg_id,
                    {
                        "goals": [
                            {"type": {"text": g}, "hyps": []} for g in (goal or {}).get("goals", [])
                        ]
                    },
                )
            else:
                self.reply(
                    msg_id,
                    error={
                        "code": -32601,
                        "message": f"No RPC method '{params.get('method')}' found",
                    },
                )


EMPTY_ANSWERS: dict[str, Any] = {
    "textDocument/semanticTokens/full": {"data": []},
    "textDocument/semanticTokens/range": {"data": []},
    "textDocument/inlayHint": [],
    "textDocument/documentHighlight": [],
    "textDocument/documentSymbol": [],
    "textDocument/foldingRange": [],
    "textDocument/completion": {"isIncomplete": False, "items": []},
    "textDocument/definition": None,
    "textDocument/declaration": None,
    "textDocument/typeDefinition": None,
    "textDocument/references": [],
    "textDocument/signatureHelp": None,
    "textDocument/documentColor": [],
    "workspace/symbol": [],
}

INITIALIZE_RESULT = {
    "serverInfo": {"name": "Lean 4 Server", "version": "0.3.0"},
    "capabilities": {
        "textDocumentSync": {
            "openClose": True,
            "change": 2,
            "willSave": False,
            "willSaveWaitUntil": False,
            "save": {"includeText": True},
        },
        "completionProvider": {"triggerCharacters": ["."], "resolveProvider": True},
        "hoverProvider": True,
        "declarationProvider": True,
        "definitionProvider": True,
        "typeDefinitionProvider": True,
        "referencesProvider": True,
        "callHierarchyProvider": True,
        "renameProvider": {"prepareProvider": True},
        "workspaceSymbolProvider": True,
        "documentHighlightProvider": True,
        "documentSymbolProvider": True,
        "foldingRangeProvider": True,
        "semanticTokensProvider": {
            "legend": {
                "tokenTypes": ["keyword", "variable", "leanSorryLike"],
                "tokenModifiers": ["declaration"],
            },
            "full": True,
            "range": True,
        },
        "codeActionProvider": {
            "resolveProvider": True,
            "codeActionKinds": ["quickfix", "refactor", "source.organizeImports"],
        },
        "inlayHintProvider": {"resolveProvider": False},
        "signatureHelpProvider": {},
        "colorProvider": {},
        "experimental": {
            "moduleHierarchyProvider": {},
            "rpcProvider": {"highlightMatchesProvider": {}, "rpcWireFormat": "v1"},
        },
    },
}


async def read_frames(server: StandInLean) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 28)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    while True:
        length = None
        while True:
            line = await reader.readline()
            if not line:
                return  # closed stdin is treated as exit, as Lean does
            if line.strip() == b"":
                if length is not None:
                    break
                continue
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length)
        msg = json.loads(body)
        task = asyncio.ensure_future(server.handle(msg))
        task.add_done_callback(
            lambda t: (
                t.cancelled()
                or t.exception() is None
                or sys.stderr.write(f"stand-in error: {t.exception()!r}\n")
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", default=os.environ.get("STANDIN_LEAN_FACTS"))
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("rest", nargs="*")  # vscode-lean4 appends the folder path
    args = parser.parse_args()
    if os.environ.get("STANDIN_PIDFILE"):
        with open(os.environ["STANDIN_PIDFILE"], "a") as f:
            f.write(f"{os.getpid()}\n")
    facts = json.load(open(args.facts, encoding="utf-8")) if args.facts else {}
    asyncio.run(read_frames(StandInLean(facts, args.delay_ms / 1000)))


if __name__ == "__main__":
    main()
