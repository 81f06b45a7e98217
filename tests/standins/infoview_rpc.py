"""The RPC methods the Lean 4 infoview calls, answered by the stand-in Lean server.

The infoview of vscode-lean4 0.0.239 calls, over `$/lean/rpc/call`, for the cursor position:
`Lean.Widget.getInteractiveGoals`, `Lean.Widget.getInteractiveTermGoal`,
`Lean.Widget.getWidgets`, and for "All Messages" `Lean.Widget.getInteractiveDiagnostics`. Without
them it shows "Rpc error: MethodNotFound" instead of the goal. The shapes are Lean's
(Lean/Widget/InteractiveGoal.lean, Lean/Server/FileWorker/WidgetRequests.lean): goals as
`InteractiveGoal` (hypothesis bundles, `goalPrefix`, `mvarId`, types as TaggedText `{"text": …}`
with no sub-expression info), no term goal (`null`), no user widgets, diagnostics with their message
as TaggedText. The goals come from the same facts file as `$/lean/plainGoal`, never from the code
under test.

Used two ways: `install(StandInLean)` (the one-line hook lean_server.py can call), or run this file
instead of lean_server.py (same arguments): it installs itself and starts the stand-in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lean_server

METHODS = (
    "Lean.Widget.getInteractiveGoals",
    "Lean.Widget.getInteractiveTermGoal",
    "Lean.Widget.getWidgets",
    "Lean.Widget.getInteractiveDiagnostics",
)


def interactive_goal(plain: str, n: int) -> dict[str, Any]:
    """One goal as Lean prints it (`case tag`, `x y : T` lines, `⊢ T`) to an InteractiveGoal."""
    lines = plain.split("\n")
    user_name = None
    if lines and lines[0].startswith("case "):
        user_name = lines.pop(0)[5:].strip()
    hyps: list[dict[str, Any]] = []
    target: list[str] = []
    for line in lines:
        if line.startswith("⊢ ") or target:
            target.append(line[2:] if not target else line)
        elif line.startswith(" ") and hyps:
            hyps[-1]["type"]["text"] += "\n" + line
        else:
            names, _, typ = line.partition(" : ")
            hyps.append(
                {
                    "names": names.split(),
                    "fvarIds": [f"_uniq.{n}.{len(hyps)}.{i}" for i, _ in enumerate(names.split())],
                    "type": {"text": typ},
                }
            )
    goal: dict[str, Any] = {
        "hyps": hyps,
        "type": {"text": "\n".join(target)},
        "goalPrefix": "⊢ ",
        "mvarId": f"_uniq.{n}",
    }
    if user_name:
        goal["userName"] = user_name
    return goal


def answer(doc: dict[str, Any], method: str, params: dict[str, Any], position: Any) -> Any:
    """The result of one RPC `method` (its own `params`) at `position` of the document."""
    elab = doc["elab"]
    text = doc["text"]
    if method == "Lean.Widget.getInteractiveGoals":
        idx = lean_server.pos_to_index(text, position or {"line": 0, "character": 0})
        plain = elab.plain_goal(idx)
        if plain is None:
            return None
        return {"goals": [interactive_goal(g, k) for k, g in enumerate(plain["goals"])]}
    if method == "Lean.Widget.getInteractiveTermGoal":
        return None
    if method == "Lean.Widget.getWidgets":
        return {"widgets": []}
    # getInteractiveDiagnostics: {lineRange?: {start, end}} (end exclusive)
    rng = params.get("lineRange")
    out = []
    for d in elab.diagnostics:
        line = d["range"]["start"]["line"]
        if rng and not (rng["start"] <= line < rng["end"]):
            continue
        out.append({**d, "message": {"text": d["message"]}})
    return out


def install(cls: type[lean_server.StandInLean]) -> None:
    """Answer the infoview's RPC methods before the stand-in's own dispatch sees them."""
    original = cls.handle

    async def handle(self: lean_server.StandInLean, msg: dict[str, Any]) -> None:
        params = msg.get("params") or {}
        if msg.get("method") == "$/lean/rpc/call" and params.get("method") in METHODS:
            if self.log:
                self.log.write(json.dumps(msg) + "\n")
                self.log.flush()
            uri = (params.get("textDocument") or {}).get("uri")
            doc = self.docs.get(uri)
            if params.get("sessionId") not in self.sessions or doc is None:
                self.reply(msg["id"], error={"code": -32900, "message": "Outdated RPC session"})
                return
            await doc["done"].wait()
            inner = params.get("params") or {}
            position = inner.get("position") if isinstance(inner, dict) else None
            inner = inner if isinstance(inner, dict) else {}
            self.reply(
                msg["id"],
                answer(doc, params["method"], inner, position or params.get("position")),
            )
            return
        await original(self, msg)

    cls.handle = handle  # type: ignore[method-assign,unused-ignore]


if __name__ == "__main__":
    install(lean_server.StandInLean)
    lean_server.main()
