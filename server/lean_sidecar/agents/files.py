"""The project's files as agents may touch them: a path is confined to the project root (no
``..``, no symlink that leads out, only ``.lean`` files), a file is read only up to the size
the editor would search, and a write replaces exactly the text that was read, or nothing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lean_sidecar.agents.errors import AgentError


@dataclass(frozen=True)
class LeanFile:
    path: Path  # resolved: inside the root, symlinks followed
    shown: str  # as the agent should name it: relative to the root
    text: str


class ProjectFiles:
    """``root`` gives the project folder (None while there is none: an editor that has not
    opened a folder); ``max_bytes`` the largest file read."""

    def __init__(self, root: Callable[[], Path | None], max_bytes: Callable[[], int]) -> None:
        self._root = root
        self._max_bytes = max_bytes

    def root(self) -> Path:
        root = self._root()
        if root is None:
            raise AgentError("path", "no project folder is open, so no file can be named")
        return root.resolve()

    def resolve(self, raw: str) -> tuple[Path, str]:
        """The file ``raw`` names, resolved, and its name relative to the root."""
        root = self.root()
        if "\x00" in raw:
            raise AgentError("path", "the path holds a NUL character")
        given = Path(raw)
        if ".." in given.parts:
            raise AgentError("path", f"`..` is not allowed in a path: {raw!r}")
        candidate = given if given.is_absolute() else root / given
        try:
            real = candidate.resolve(strict=True)
        except FileNotFoundError:
            raise AgentError("path", f"no such file in the project: {raw!r}") from None
        except (OSError, RuntimeError) as exc:  # a symlink loop, a permission
            raise AgentError("path", f"cannot resolve {raw!r}: {exc}") from None
        if not real.is_relative_to(root):
            # an absolute path elsewhere, or a symlink inside the project that leads out of it
            raise AgentError("path", f"{raw!r} is outside the project ({root})")
        if real.suffix != ".lean":
            raise AgentError("path", f"{raw!r} is not a Lean file (expected a .lean file)")
        if not real.is_file():
            raise AgentError("path", f"{raw!r} is not a regular file")
        return real, real.relative_to(root).as_posix()

    def read(self, raw: str) -> LeanFile:
        path, shown = self.resolve(raw)
        limit = self._max_bytes()
        size = path.stat().st_size
        if size > limit:
            raise AgentError(
                "size",
                f"{shown} is {size} bytes, over the {limit} searched (raise max_document_mb)",
            )
        try:
            text = path.read_bytes()[: limit + 1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AgentError(
                "path", f"{shown} is not UTF-8 text (byte {exc.start}); Lean files are UTF-8"
            ) from None
        return LeanFile(path, shown, text)

    def write(self, file: LeanFile, text: str) -> None:
        """Replace ``file``'s text with ``text`` when the file still holds what was read (an
        editor or the agent may have changed it meanwhile: then nothing is written). The new
        text goes to a temporary file beside it, then takes its place: a reader never sees
        half a file."""
        try:
            current = file.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AgentError("changed", f"cannot re-read {file.shown}: {exc}") from None
        if current != file.text:
            raise AgentError(
                "changed",
                f"{file.shown} changed while the proofs were searched; nothing was written "
                "(call again on the new text)",
            )
        mode = file.path.stat().st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(prefix=".lean-sidecar-", suffix=".lean", dir=file.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, file.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
