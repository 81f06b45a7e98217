"""``lean-sidecar endpoint serve --model NAME``: start vLLM's OpenAI-compatible server for a
known prover with the right settings, and print what the sidecar needs to use it."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import shutil
import sys

from lean_sidecar.gpu.local_serve import run_local
from lean_sidecar.gpu.presets import PRESETS, describe, resolve, vllm_argv


def add_endpoint_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("endpoint", help="the GPU side: serve a prover with vLLM")
    esub = p.add_subparsers(dest="endpoint_command", required=True)
    serve = esub.add_parser("serve", help="start vLLM for a known prover")
    serve.add_argument(
        "--model", required=True, help="one of: " + ", ".join(PRESETS) + " (or its HF id)"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="default loopback; never expose an open port"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=None,
        help="default 8000 (vLLM), 11434 (Ollama), 8080 (llama.cpp)",
    )
    serve.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    serve.add_argument("--tensor-parallel-size", type=int, default=None)
    serve.add_argument("--max-model-len", type=int, default=None)
    serve.add_argument("--dry-run", action="store_true", help="print the command and settings only")
    local = serve.add_argument_group(
        "a laptop: --backend ollama or llama.cpp (docs/local-models.md)"
    )
    local.add_argument("--backend", choices=["vllm", "ollama", "llama.cpp"], default="vllm")
    local.add_argument(
        "--context", type=int, default=None, help="tokens per request; default: the family's"
    )
    local.add_argument("--parallel", type=int, default=1, help="answers generated at once")
    local.add_argument("--gguf", default=None, help="the model as a GGUF file already converted")
    serve.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more vllm serve flags")
    serve.set_defaults(func=run_serve)
    presets = esub.add_parser("presets", help="list the known provers")
    presets.set_defaults(func=run_presets)


def run_presets(args: argparse.Namespace) -> int:
    for p in PRESETS.values():
        print(
            f"{p.name:20} {p.hf_id:40} family={p.family:16} ctx={p.max_model_len:6} "
            f"tp={p.tensor_parallel}  T={p.temperature} top_p={p.top_p} "
            f"max_tokens<={p.max_tokens}  {p.gpus_note}"
        )
    return 0


def run_serve(args: argparse.Namespace) -> int:
    if args.backend != "vllm":
        return run_local(args)
    if args.port is None:
        args.port = 8000
    try:
        preset = resolve(args.model)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    extra = [a for a in (args.extra or []) if a != "--"]
    if any(a.startswith("--api-key") for a in extra):
        print(
            "error: pass the API key as VLLM_API_KEY in the environment, not on the command line",
            file=sys.stderr,
        )
        return 2
    argv = vllm_argv(
        preset,
        args.host,
        args.port,
        args.gpu_memory_utilization,
        args.tensor_parallel_size,
        args.max_model_len,
        extra,
    )
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{host}:{args.port}"
    api_key_set = bool(os.environ.get("VLLM_API_KEY"))
    print(describe(preset, argv, url, api_key_set, args.max_model_len), flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not api_key_set:
        print(
            "warning: listening beyond loopback without VLLM_API_KEY; anyone who can reach the "
            "port can use the GPU",
            file=sys.stderr,
        )
    if args.dry_run:
        return 0
    vllm = _vllm_command()
    if vllm is None:
        print(
            f"error: {NO_VLLM.format(python=sys.executable, vllm=_vllm_requirement())}",
            file=sys.stderr,
        )
        return 2
    os.execv(vllm, [vllm, *argv[1:]])  # replaces this process: signals and exit code are vLLM's
    return 0  # pragma: no cover


# lean-sidecar is not on PyPI: installing "lean-sidecar[gpu]" from there would install whatever
# someone else publishes under that name. vLLM goes into the environment lean-sidecar runs in.
NO_VLLM = (
    "vLLM is not installed in the Python environment lean-sidecar runs in ({python}). Install "
    "it there: {python} -m pip install '{vllm}' (or, in the lean-sidecar checkout: "
    ".venv/bin/pip install -e '.[gpu]')"
)


def _vllm_command() -> str | None:
    """The `vllm` of this environment (beside its Python, whether or not its `bin` is on PATH),
    else the one on PATH; None when vLLM cannot be imported here."""
    if importlib.util.find_spec("vllm") is None:
        return None
    beside = os.path.join(os.path.dirname(sys.executable), "vllm")
    return beside if os.access(beside, os.X_OK) else shutil.which("vllm")


def _vllm_requirement() -> str:
    """The vLLM that the `gpu` extra asks for (``vllm>=0.10``), from the installed metadata."""
    try:
        requires = importlib.metadata.requires("lean-sidecar") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    for req in requires:
        spec, _, marker = req.partition(";")
        if spec.strip().startswith("vllm") and "gpu" in marker:
            return spec.strip()
    return "vllm"
