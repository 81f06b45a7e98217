"""What the editor's sidecar lends another front end running in its process (agents over MCP,
``lean_sidecar.agents``): its engine service (so both share one REPL pool, endpoint client and
cache, and Mathlib is imported once), its open documents' hole snapshots (Lean's server has
elaborated them already), the workspace root and the current settings.

The lender does not know the borrower: the composition (``lean-sidecar serve``) hands a
``ShareHook`` to ``build_server``, which starts it once the editor has said who it is and
what it wants (``initialized``) and stops it at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pygls.uris import to_fs_path

from lean_sidecar.lsp.documents import DocumentStore, HoleSnapshot
from lean_sidecar.lsp.engine_service import EngineService
from lean_sidecar.settings import Settings

log = logging.getLogger(__name__)

#: how long a borrower waits for Lean to finish the open version before it reads the file
#: itself (the editor is typing: its text is about to change anyway)
SNAPSHOT_WAIT = 10.0


class EditorShare:
    def __init__(
        self,
        engines: EngineService,
        documents: DocumentStore,
        root: Callable[[], Path | None],
        settings: Callable[[], Settings],
        source: Callable[[str], str],
        tell: Callable[[str], None],
    ) -> None:
        self.engines = engines
        self.documents = documents
        self.root = root
        self.settings = settings
        self._source = source
        self.tell = tell  # a warning the user sees in the editor

    async def open_holes(self, path: Path, text: str) -> HoleSnapshot | None:
        """The holes of ``path`` when the editor has exactly ``text`` open and Lean finished
        that version (waiting up to SNAPSHOT_WAIT for it); None otherwise."""
        for doc in self.documents:
            fs_path = to_fs_path(doc.uri)
            if fs_path is None or Path(fs_path).resolve() != path:
                continue
            try:
                if self._source(doc.uri) != text:
                    return None  # unsaved edits: the agent works on the file as it is on disk
                snapshot = await doc.current_holes(SNAPSHOT_WAIT)
            except (LookupError, asyncio.TimeoutError, KeyError) as exc:
                log.debug("no editor snapshot of %s: %s", path, exc)
                return None
            ok = snapshot.error is None and snapshot.model.text == text
            return snapshot if ok else None
        return None


class ShareHook(Protocol):
    """A front end that borrows the editor's state for the server's lifetime."""

    async def start(self, share: EditorShare) -> None: ...

    async def stop(self) -> None: ...
