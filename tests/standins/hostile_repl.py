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

With ``--lean`` it answers the way Lean would for the hostile chain instead (``lean_answer``):
a command with ``#eval!`` runs the attempts above; if it reads a variable (``IO.getEnv "NAME"``)
and ``throw``s, the answer is Lean's error carrying that variable's value (what the REPL's
environment held); otherwise its output is an info message and the declaration checks. A file's
prefix elaborates, ``#print axioms X`` reports ``[propext]``, a declaration with ``sorry`` reports
its sorries, anything else fails with "unsolved goals". ``--pretend-env NAME=VALUE`` adds a
variable as if the REPL had inherited it (the control that shows the channel exists).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
from typing import Any

SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def attempt(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"write": {}, "read": {}, "connect": {}, "env": {}}
    for path in args.write:
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write("written by the hostile REPL\n")
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


GET_ENV = re.compile(r'IO\.getEnv\s+"([^"]+)"')
SORRY = re.compile(r"(?<![\w.'])sorry(?![\w'])")


def position(text: str, idx: int) -> dict[str, int]:
    return {"line": text.count("\n", 0, idx) + 1, "column": idx - (text.rfind("\n", 0, idx) + 1)}


def message(severity: str, data: str, pos: dict[str, int] | None = None) -> dict[str, Any]:
    p = pos or {"line": 1, "column": 0}
    return {"severity": severity, "pos": p, "endPos": p, "data": data}


def lean_answer(req: dict[str, Any], args: argparse.Namespace, env: int) -> dict[str, Any]:
    cmd: str = req["cmd"]
    if req.get("env") is None or cmd.startswith("axiom "):
        return {"env": env}
    if m := re.match(r"#print axioms (\S+)", cmd):
        return {"env": env, "messages": [message("info", f"'{m[1]}' depends on axioms: [propext]")]}
    if "#eval!" in cmd:
        report = attempt(args)
        if (m := GET_ENV.search(cmd)) and "throw" in cmd:
            pretend = dict(kv.split("=", 1) for kv in args.pretend_env)
            value = pretend.get(m[1], os.environ.get(m[1], ""))
            at = position(cmd, cmd.index("#eval!"))
            return {"env": env, "messages": [message("error", f"KEY={value}", at)]}
        return {"env": env, "messages": [message("info", json.dumps(report))]}
    holes = list(SORRY.finditer(cmd))
    if holes:
        sorries = [
            {
                "proofState": k,
                "pos": position(cmd, h.start()),
                "goal": "⊢ True",
                "endPos": position(cmd, h.end()),
            }
            for k, h in enumerate(holes)
        ]
        warn = message("warning", "declaration uses `sorry`")
        return {"env": env, "sorries": sorries, "messages": [warn]}
    return {"env": env, "messages": [message("error", "unsolved goals\n⊢ True")]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="append", default=[])
    parser.add_argument("--read", action="append", default=[])
    parser.add_argument("--connect", action="append", default=[])
    parser.add_argument("--lean", action="store_true")
    parser.add_argument("--pretend-env", action="append", default=[])
    parser.add_argument("--log")
    args = parser.parse_args()
    env = 0
    while True:
        lines: list[str] = []
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
        if args.log:
            with open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps(req) + "\n")
        answer: dict[str, Any]
        if args.lean and "cmd" in req:
            answer = lean_answer(req, args, env)
            env += 1
        elif "cmd" not in req:
            answer = {"message": "Could not parse as a valid JSON command"}
        else:
            report = json.dumps(attempt(args))
            answer = {"env": env, "messages": [message("info", report)]}
            env += 1
        sys.stdout.write(json.dumps(answer) + "\n\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
