"""``lean-sidecar endpoint serve --backend ollama|llama.cpp --model NAME``: the small provers on
a laptop. Prints every command (model pull or conversion, the context, the server) and the
sidecar's settings; without ``--dry-run`` it runs what needs no download of weights or long
build: ``ollama pull`` and ``ollama create`` for Ollama, ``llama-server`` for llama.cpp (with a
GGUF file at hand)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lean_sidecar.gpu.local_presets import (
    LLAMA_CPP_PORT,
    OLLAMA_PORT,
    LocalPreset,
    Plan,
    describe_local,
    llama_cpp_plan,
    ollama_plan,
    resolve_local,
)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _fail(text: str) -> int:
    print(f"error: {text}", file=sys.stderr)
    return 2


def run_local(args: argparse.Namespace) -> int:
    backend: str = args.backend
    try:
        preset = resolve_local(args.model)
    except KeyError as exc:
        return _fail(exc.args[0])
    context = args.context or preset.context
    if context < 1024:
        return _fail(f"--context {context} is no context for a prover (tokens, e.g. 32768)")
    parallel = max(1, args.parallel)
    extra = [a for a in (args.extra or []) if a != "--"]
    gguf = str(args.gguf) if args.gguf else None
    if backend == "ollama":
        if extra:
            return _fail("nothing goes after -- with Ollama (set OLLAMA_* variables instead)")
        port = args.port if args.port is not None else OLLAMA_PORT
        plan = ollama_plan(preset, context, gguf, args.host, port, parallel)
        key_set = False
    else:
        if any(a.startswith("--api-key") for a in extra):
            return _fail(
                "pass the API key as LLAMA_API_KEY in the environment, not on the command line"
            )
        port = args.port if args.port is not None else LLAMA_CPP_PORT
        plan = llama_cpp_plan(preset, context, gguf, args.host, port, parallel, extra)
        key_set = bool(os.environ.get("LLAMA_API_KEY"))
    print(describe_local(preset, backend, plan, key_set), flush=True)
    if context < preset.context:
        print(
            f"warning: a {context:,}-token context cuts the answers of family {preset.family}"
            f" that are longer than about {context - 2048:,} tokens (it needs {preset.context:,})",
            file=sys.stderr,
        )
    if args.host not in LOOPBACK and not key_set:
        print(
            "warning: listening beyond loopback without an API key: anyone who can reach the"
            " port can use the model",
            file=sys.stderr,
        )
    if args.dry_run:
        return 0
    if backend == "ollama":
        return _run_ollama(preset, plan, gguf)
    return _run_llama_cpp(plan)


def _run_ollama(preset: LocalPreset, plan: Plan, gguf: str | None) -> int:
    if preset.ollama_build is None and gguf is None:
        return _fail(
            f"no Ollama build of {preset.hf_id} is published: convert it (steps 1-2 above), then"
            f" run again with --gguf {preset.gguf}"
        )
    if gguf is not None and not Path(gguf).is_file():
        return _fail(f"--gguf {gguf}: no such file")
    ollama = shutil.which("ollama")
    if ollama is None:
        return _fail("`ollama` is not on PATH: install it from https://ollama.com/download")
    with tempfile.TemporaryDirectory(prefix="lean-sidecar-") as tmp:
        for step in plan.steps:
            if not step.runs:
                continue
            if step.writes is not None:  # the Modelfile, as the printf line writes it
                text = "".join(f"{line}\n" for line in step.argv[2:])
                (Path(tmp) / step.writes).write_text(text, encoding="utf-8")
                continue
            argv = [ollama, *step.argv[1:]]
            if "-f" in argv:
                at = argv.index("-f") + 1
                argv[at] = str(Path(tmp) / argv[at])
            print(f"+ {step.shell()}", file=sys.stderr, flush=True)
            done = subprocess.run(argv, check=False)
            if done.returncode != 0:
                return _fail(
                    f"`{step.shell()}` failed ({done.returncode}); is the server up"
                    " (`ollama serve`, or the Ollama app)?"
                )
    print(f"ready: {plan.model} at {plan.url}; `lean-sidecar doctor` checks it", file=sys.stderr)
    return 0


def _run_llama_cpp(plan: Plan) -> int:
    server = plan.steps[-1].argv
    model_file = server[server.index("-m") + 1]
    if not Path(model_file).is_file():
        return _fail(
            f"{model_file} is not here: convert the weights (the steps above), or give --gguf FILE"
        )
    binary = shutil.which("llama-server")
    if binary is None:
        return _fail(
            "`llama-server` is not on PATH: build llama.cpp (cmake -B build && cmake --build"
            " build -t llama-server) or install it from your package manager"
        )
    os.execv(binary, [binary, *server[1:]])  # replaces this process, as vLLM does
    return 0  # pragma: no cover
