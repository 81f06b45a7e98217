"""The small provers on a laptop: Ollama or llama.cpp's llama-server instead of vLLM.

Per prover: where a build for the local server comes from, the context its family needs, and
the commands that give the server that context. The context is the one thing a local server
gets wrong by default: Ollama gives a model 4,096 tokens on a machine with less than 24 GiB of
VRAM unless told otherwise (ollama/ollama@fb30760: docs/context-length.mdx, docs/faq.mdx "How
can I specify the context window size?"), llama-server 4,096 unless ``-c`` says otherwise, split
among its ``--parallel`` slots (ggml-org/llama.cpp@25d5b0c: tools/server/README.md, ``-c``,
``-np``), and a chain-of-thought prover's answer does not fit: it is cut before its proof.

Sources of each value:

- contexts: the family's published context (lean_sidecar.prover.presets, where each one names
  its source): Kimina 32,768 (project-numina/verl@4615975:
  recipe/kimina_prover_rl/kimina_prover_1.7B.sh, ``model_max_len``), DeepSeek-Prover-V2 32,768
  (arXiv 2504.21801), Goedel-Prover-V2 40,960 (sean-lamont/Goedel-Prover-V2@12afbba:
  scripts/pipeline.sh, ``MAX_MODEL_LEN``);
- Ollama builds of Kimina-Prover-Distill 1.7B and 8B: ``ollama pull
  BoltonBailey/Kimina-Prover-Distill-1.7B`` / ``-8B``, as LLMLean documents them
  (cmu-l3/llmlean@a1459e8:docs/ollama-models.md);
- DeepSeek-Prover-V2-7B and Goedel-Prover-V2-8B have no build documented by their publishers
  or by LLMLean: they are converted from the published weights with llama.cpp's
  ``convert_hf_to_gguf.py`` (``--outtype q8_0``, ``--outfile``), the way Ollama's import guide
  says to make a GGUF (ollama/ollama@fb30760: docs/import.mdx, "Importing a GGUF based model"),
  and imported with a Modelfile ``FROM ./file.gguf``;
- the Modelfile's ``PARAMETER num_ctx N`` and ``ollama create NAME -f FILE`` (docs/modelfile.mdx;
  docs/api/openai-compatibility.mdx, "Setting the context size": the OpenAI API cannot set it);
- llama-server's ``-m``, ``--alias``, ``--host``, ``--port``, ``-c``, ``--parallel``,
  ``--jinja`` and ``LLAMA_API_KEY`` (tools/server/README.md, "Usage").
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from lean_sidecar.prover.presets import PRESETS as FAMILY_PRESETS

OLLAMA_PORT = 11434  # Ollama's default (OLLAMA_HOST)
LLAMA_CPP_PORT = 8080  # llama-server's default (--port)
LLAMA_CPP_CHECKOUT = "llama.cpp"  # where the converter is run from: a clone of ggml-org/llama.cpp


@dataclass(frozen=True)
class LocalPreset:
    name: str  # the same short name as the vLLM preset
    hf_id: str
    family: str
    ollama_build: str | None  # a published Ollama build; None: convert the weights
    ollama_build_source: str = ""

    @property
    def context(self) -> int:
        return FAMILY_PRESETS[self.family].context

    @property
    def slug(self) -> str:
        return self.hf_id.split("/")[-1].lower()

    def served_name(self, context: int) -> str:
        """The local name of the copy that holds ``context`` (its family stays guessable)."""
        return f"{self.slug}-{context // 1024}k"

    @property
    def weights_dir(self) -> str:
        return self.hf_id.split("/")[-1]

    @property
    def gguf(self) -> str:
        return f"{self.weights_dir}-Q8_0.gguf"


LOCAL_PRESETS: dict[str, LocalPreset] = {
    p.name: p
    for p in [
        LocalPreset(
            "kimina-distill-1.7b",
            "AI-MO/Kimina-Prover-Distill-1.7B",
            "kimina",
            "BoltonBailey/Kimina-Prover-Distill-1.7B",
            "cmu-l3/llmlean@a1459e8:docs/ollama-models.md",
        ),
        LocalPreset(
            "kimina-distill-8b",
            "AI-MO/Kimina-Prover-Distill-8B",
            "kimina",
            "BoltonBailey/Kimina-Prover-Distill-8B",
            "cmu-l3/llmlean@a1459e8:docs/ollama-models.md",
        ),
        LocalPreset("deepseek-v2-7b", "deepseek-ai/DeepSeek-Prover-V2-7B", "deepseek-v2-cot", None),
        LocalPreset("goedel-v2-8b", "Goedel-LM/Goedel-Prover-V2-8B", "goedel-v2", None),
    ]
}


def resolve_local(model: str) -> LocalPreset:
    key = model.lower()
    for p in LOCAL_PRESETS.values():
        if key in (p.name, p.hf_id.lower(), p.slug):
            return p
    raise KeyError(
        f"no local preset for {model!r}; known: {', '.join(LOCAL_PRESETS)}"
        " (the larger provers need a GPU server: --backend vllm)"
    )


def convert_steps(p: LocalPreset) -> list[list[str]]:
    """The published weights as one Q8_0 GGUF file (llama.cpp's converter)."""
    return [
        ["hf", "download", p.hf_id, "--local-dir", p.weights_dir],
        [
            "python",
            f"{LLAMA_CPP_CHECKOUT}/convert_hf_to_gguf.py",
            p.weights_dir,
            "--outtype",
            "q8_0",
            "--outfile",
            p.gguf,
        ],
    ]


def modelfile_lines(source: str, context: int) -> list[str]:
    return [f"FROM {source}", f"PARAMETER num_ctx {context}"]


@dataclass(frozen=True)
class Step:
    """One command. ``writes``: the file its output goes to (``printf … > FILE``); ``env``:
    variables set for it; ``runs``: whether ``endpoint serve`` runs it itself (it does not
    download weights, convert them or start a server that may already run)."""

    what: str
    argv: list[str]
    writes: str | None = None
    env: tuple[str, ...] = ()
    runs: bool = False

    def shell(self) -> str:
        line = shlex.join([*self.env, *self.argv]) if self.env else shlex.join(self.argv)
        return f"{line} > {shlex.quote(self.writes)}" if self.writes else line


@dataclass(frozen=True)
class Plan:
    """What to run, in order, and what the sidecar needs afterwards."""

    steps: list[Step]
    url: str
    model: str
    settings: dict[str, object]


def _convert(p: LocalPreset) -> list[Step]:
    download, convert = convert_steps(p)
    return [
        Step("the published weights (Hugging Face's `hf`: pip install huggingface_hub)", download),
        Step(
            "as one GGUF file (in a clone of ggml-org/llama.cpp, after pip install -r"
            " llama.cpp/requirements.txt)",
            convert,
        ),
    ]


def ollama_plan(
    p: LocalPreset, context: int, gguf: str | None, host: str, port: int, parallel: int
) -> Plan:
    name = p.served_name(context)
    steps: list[Step] = []
    if gguf is None and p.ollama_build is not None:
        source = p.ollama_build
        what = f"the model, as built for Ollama ({p.ollama_build_source})"
        steps.append(Step(what, ["ollama", "pull", source], runs=True))
    else:
        source = gguf or f"./{p.gguf}"
        if gguf is None:
            steps += _convert(p)
    file = f"{name}.Modelfile"
    lines = modelfile_lines(source, context)
    steps += [
        Step(
            f"a copy that holds {context:,} tokens (Ollama's default holds 4,096 on most"
            " laptops, and the answers are cut there)",
            ["printf", "%s\\n", *lines],
            writes=file,
            runs=True,
        ),
        Step("", ["ollama", "create", name, "-f", file], runs=True),
    ]
    env = [f"OLLAMA_NUM_PARALLEL={parallel}"]
    if (host, port) != ("127.0.0.1", OLLAMA_PORT):
        env.insert(0, f"OLLAMA_HOST={host}:{port}")
    steps.append(
        Step(
            f"the server, unless the Ollama app runs it already ({_at_once(parallel)})",
            ["ollama", "serve"],
            env=tuple(env),
        )
    )
    url = f"http://{_shown_host(host)}:{port}"
    return Plan(steps, url, name, _settings(p, url, name, context, parallel))


def llama_cpp_plan(
    p: LocalPreset,
    context: int,
    gguf: str | None,
    host: str,
    port: int,
    parallel: int,
    extra: list[str],
) -> Plan:
    steps = _convert(p) if gguf is None else []
    name = p.served_name(context)
    argv = [
        "llama-server",
        "-m",
        gguf or p.gguf,
        "--alias",
        name,
        "--host",
        host,
        "--port",
        str(port),
        "-c",
        str(context * parallel),
        "--parallel",
        str(parallel),
        "--jinja",
        *extra,
    ]
    slots = "its one slot" if parallel == 1 else f"each of its {parallel} slots (-c is shared)"
    what = f"the server ({_at_once(parallel)}): {context:,} tokens for {slots}"
    steps.append(Step(what, argv, runs=True))
    url = f"http://{_shown_host(host)}:{port}"
    return Plan(steps, url, name, _settings(p, url, name, context, parallel))


def _at_once(parallel: int) -> str:
    return "one answer at a time" if parallel == 1 else f"{parallel} answers at once"


def _shown_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def _settings(
    p: LocalPreset, url: str, model: str, context: int, parallel: int
) -> dict[str, object]:
    s: dict[str, object] = {
        "endpoints": [url],
        "model": model,
        "modelFamily": p.family,
        "endpointConcurrency": parallel,
        # A chain-of-thought answer takes minutes on a laptop, and a local server sends nothing
        # while it loads the model or reads a long prompt: give requests and holes time.
        "requestTimeout": 1800,
        "stallTimeout": 300,
        "budgetSeconds": 1800,
    }
    if context < p.context:
        s["contextTokens"] = context
    return s


ENV_NAMES = {
    "endpoints": "LEAN_SIDECAR_ENDPOINTS",
    "model": "LEAN_SIDECAR_MODEL",
    "modelFamily": "LEAN_SIDECAR_MODEL_FAMILY",
    "endpointConcurrency": "LEAN_SIDECAR_ENDPOINT_CONCURRENCY",
    "requestTimeout": "LEAN_SIDECAR_REQUEST_TIMEOUT",
    "stallTimeout": "LEAN_SIDECAR_STALL_TIMEOUT",
    "budgetSeconds": "LEAN_SIDECAR_BUDGET_SECONDS",
    "contextTokens": "LEAN_SIDECAR_CONTEXT_TOKENS",
}


def describe_local(p: LocalPreset, backend: str, plan: Plan, api_key_set: bool) -> str:
    lines = [f"# {p.hf_id} with {backend} (family {p.family}, needs {p.context:,} tokens)"]
    k = 0
    for step in plan.steps:
        if step.what:
            k += 1
            lines.append(f"# {k}. {step.what}")
        lines.append(step.shell())
    lines += ["", "# lean-sidecar settings (environment form):"]
    for key, value in plan.settings.items():
        shown = ",".join(map(str, value)) if isinstance(value, list) else value
        lines.append(f"export {ENV_NAMES[key]}={shown}")
    if api_key_set:
        lines.append("export LEAN_SIDECAR_API_KEY=…   # the same key as LLAMA_API_KEY")
    lines += ["", "# or as editor settings (leanSidecar section):", json.dumps(plan.settings)]
    return "\n".join(lines)
