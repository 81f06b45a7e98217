"""Remove a secret from this process's initial environment block.

``os.environ.pop`` removes a variable from what child processes inherit, but Linux keeps the
environment the process was started with in its own memory, and any process of the same user
can read it from ``/proc/<pid>/environ`` (a REPL run without a sandbox, for one). So the value
is overwritten in place, in the block that ``environ`` points into, before it is unset.
"""

from __future__ import annotations

import ctypes
import logging
import platform

log = logging.getLogger(__name__)


def scrub_process_environ(name: str) -> bool:
    """Overwrite the value of ``name`` in the C ``environ`` block with ``*``; True if done.
    Best effort, Linux only: elsewhere (or if the C library hides ``environ``) nothing is
    changed and the caller still removes the variable from ``os.environ``."""
    if platform.system() != "Linux":
        return False
    try:
        libc = ctypes.CDLL(None)
        environ = ctypes.POINTER(ctypes.c_void_p).in_dll(libc, "environ")
    except (OSError, ValueError):
        return False
    prefix = name.encode() + b"="
    i, done = 0, False
    while environ[i]:
        address = environ[i]
        entry = ctypes.string_at(address)
        if entry.startswith(prefix):
            start = address + len(prefix)
            ctypes.memset(start, ord("*"), len(entry) - len(prefix))
            done = True
        i += 1
    if not done:
        log.debug("%s was not in the process environment block", name)
    return done
