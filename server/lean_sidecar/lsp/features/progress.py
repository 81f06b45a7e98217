"""Long commands under work-done progress: a cancellable progress bar in the editor, whose
cancel button cancels the work, and a closing message that says what came of it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import cast

from lsprotocol import types

from lean_bridge.gate_preview import edit_title
from lean_bridge.json_types import Json, JsonObject
from lean_sidecar.lsp.features.base import WorkDoneProgress


def final_message(result: Json) -> str:
    """What the progress bar says when the work is done (``result`` as a command answers: a
    search's summary, lean_sidecar.lsp.features.search_summary, or fill-all's rows)."""
    found: list[JsonObject] = []
    if isinstance(result, dict):  # the fields below are as summary() and fill-all write them
        found = list(cast("list[JsonObject]", result.get("found") or []))
    if found:
        return f"verified proof: {edit_title(cast(str, found[0]['proof']))} (use the quick fix)"
    if isinstance(result, dict) and result.get("status") == "refuted":
        return str(result.get("error"))  # "this goal is false: …", the action shows why
    if isinstance(result, dict) and "filled" in result:
        holes = cast("list[Json]", result.get("holes") or [])
        text = f"filled {result['filled']} of {len(holes)} holes"
        errors = list(dict.fromkeys(cast("list[str]", result.get("errors") or [])))  # once each
        return f"{text}; {'; '.join(errors)}" if errors else text
    if isinstance(result, dict) and result.get("error"):
        return f"no proof: {result['error']}"  # the reason, never a bare "unsolved"
    if isinstance(result, dict):
        return f"no proof found ({result.get('status')})"
    return "done"


async def with_progress(
    progress: WorkDoneProgress,
    title: str,
    work: Callable[[str | None], Awaitable[JsonObject]],
) -> JsonObject:
    """Run ``work(token)`` under a progress bar (``token`` is None if the editor has none)."""
    token = str(uuid.uuid4())
    try:
        await asyncio.wait_for(progress.create_async(token), 5)
    except Exception:
        token_ok = False
    else:
        token_ok = True
    task = asyncio.ensure_future(work(token if token_ok else None))
    if token_ok:
        progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
        )
        cancel = progress.tokens.get(token)
        if cancel is not None:
            cancel.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
    message = "done"
    try:
        result = await task
        message = final_message(result)
        return result
    except asyncio.CancelledError:
        message = "cancelled"
        return {"status": "cancelled"}
    finally:
        if token_ok:
            progress.end(token, types.WorkDoneProgressEnd(message=message))
