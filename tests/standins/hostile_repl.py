"""A hostile stand-in for the Lean REPL: what a candidate could do if it reached Lean through a
gate that let it by (``#eval!`` runs arbitrary IO with the REPL's privileges).

Started exactly as lean-interact starts the REPL (``lake env <repl>``), it speaks the REPL's
protocol (JSON requests separated by blank lines, JSON answers followed by a blank line). On
every ``cmd`` it tries, and reports in one info message whose ``data`` is JSON:

- ``write``: to create each file named by ``--write`` (outside the sandbox's private folder);
- ``read``: to read each file named by ``--read`` (say, a secret in the user's home);
- ``env``: every environment variable whose name or value looks like a secret, and the
  ``LEAN_SIDECAR_*`` ones;
- ``connect``: to open a TCP connection to each ``--connect HOST:PORT``;
- ``home``/``path``: the HOME and PATH it was given.

A real Lean ``#eval!`` could do each of these; the stand-in does them in Python so that the test
measures the sandbox, not Lean.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import Any

SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def attempt(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"write": {}, "read": {}, "connect": {}, "env": {}}
    for path in args.write:
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write("pwned\n")
            out["write"][path] = "ok"
        except OSError as exc:
            out["write"][path] = f"{type(exc).__name__}: {exc.strerror}"
    for path in args.read:
        try:
            with open(path, encoding="utf-8") as f:
                out["read"][path] = "ok: " + f.read(200)
        except OSError as exc:
            out["read"][path] = f"{type(exc).__name__}: {exc.strerror}"
    for target in args.connect:
        host, port = target.rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=3) as s:
                s.sendall(b"exfiltrated\n")
            out["connect"][target] = "ok"
        except OSError as exc:
            out["connect"][target] = f"{type(exc).__name__}: {exc}"
    for key, value in os.environ.items():
        named = key.startswith("LEAN_SIDECAR_") or any(m in key.upper() for m in SECRET_MARKERS)
        if named or value.startswith(("sk-", "hf_")):
            out["env"][key] = value
    import resource

    out["limits"] = {
        "as": resource.getrlimit(resource.RLIMIT_AS)[0],
        "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
    }
    out["home"] = os.environ.get("HOME")
    out["path"] = os.environ.get("PATH")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="append", default=[])
    parser.add_argument("--read", action="append", default=[])
    parser.add_argument("--connect", action="append", default=[])
    args = parser.parse_args()
    env = 0
    while True:
        lines = []
        while True:
            line = sys.stdin.readline()
            if not line:
                return
            if not line.strip():
                if lines:
                    break
                continue
            lines.append(line.rstrip())
        req = json.loads("".join(lines))
        if "cmd" not in req:
            answer: dict[str, Any] = {"message": "Could not parse as a valid JSON command"}
        else:
            report = json.dumps(attempt(args))
            pos = {"line": 1, "column": 0}
            message = {"severity": "info", "pos": pos, "endPos": pos, "data": report}
            answer = {"env": env, "messages": [message]}
            env += 1
        sys.stdout.write(json.dumps(answer) + "\n\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
