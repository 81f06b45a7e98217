"""A laptop's prover: `endpoint serve --backend ollama|llama.cpp` prints (and runs) the commands
with the context each family needs; `doctor` recognises the server and says when its context
cuts the answers; docs/local-models.md shows what the tool prints, and its commands run as
written (against stand-ins of `ollama`, `hf`, `python` and `llama-server` that record what they
were asked), down to the first fill against the Ollama stand-in."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from lean_sidecar.doctor_endpoint import check_endpoint
from lean_sidecar.doctor_local import ServerInfo, context_check
from lean_sidecar.gpu.local_presets import LOCAL_PRESETS
from lean_sidecar.gpu.presets import PRESETS as VLLM_PRESETS
from lean_sidecar.prover.families import guess_family
from lean_sidecar.prover.presets import PRESETS as FAMILY
from lean_sidecar.settings import Settings
from tests.conftest import ROOT
from tests.search_helpers import lean_answer
from tests.standins.local_servers import LlamaCppStandIn, OllamaModel, OllamaStandIn
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain

DOC = ROOT / "docs" / "local-models.md"
NVIM = ROOT / "tests" / "nvim"
FACTS = ROOT / "tests" / "fixtures" / "project" / "repl_facts.json"


def clean_env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAN_SIDECAR_", "LLAMA_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "server"), str(ROOT)])
    env.update(more)
    return env


def sidecar(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lean_sidecar", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def serve(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return sidecar("endpoint", "serve", *args, env=env, cwd=cwd)


def recorder(bin_dir: Path, name: str, log: Path, body: str = "") -> None:
    """A stand-in command that appends its argv (and for `ollama create -f FILE` the file)
    to ``log`` as one JSON line, then runs ``body``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, os\n"
        "argv = sys.argv[1:]\n"
        "entry = {'cmd': os.path.basename(sys.argv[0]), 'argv': argv,"
        " 'env': {k: v for k, v in os.environ.items() if k.startswith('OLLAMA_')}}\n"
        "if '-f' in argv:\n"
        "    entry['file'] = open(argv[argv.index('-f') + 1]).read()\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps(entry) + '\\n')\n" + body
    )
    script.chmod(0o755)


def recorded(log: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def commands(printed: str) -> str:
    """The shell commands of `endpoint serve`'s output (its steps, before the settings)."""
    steps = printed.split("\n\n# lean-sidecar settings")[0]
    return "\n".join(ln for ln in steps.splitlines() if ln and not ln.startswith("#"))


# ---- endpoint serve --backend ollama | llama.cpp --------------------------------------------
@pytest.mark.parametrize("backend", ["ollama", "llama.cpp"])
@pytest.mark.parametrize("name", sorted(LOCAL_PRESETS))
def test_each_small_prover_gets_the_context_its_family_needs(name: str, backend: str) -> None:
    p = LOCAL_PRESETS[name]
    assert name in VLLM_PRESETS and VLLM_PRESETS[name].hf_id == p.hf_id  # one name on both sides
    done = serve("--backend", backend, "--model", name, "--dry-run")
    assert done.returncode == 0, done.stderr
    need = FAMILY[p.family].context
    out = done.stdout
    if backend == "ollama":
        assert f"'PARAMETER num_ctx {need}'" in out and "ollama create" in out
        assert "export LEAN_SIDECAR_ENDPOINTS=http://127.0.0.1:11434" in out
        if p.ollama_build:
            assert f"ollama pull {p.ollama_build}" in out
        else:
            assert "convert_hf_to_gguf.py" in out and f"'FROM ./{p.gguf}'" in out
    else:
        assert f" -c {need} --parallel 1 --jinja" in out and "convert_hf_to_gguf.py" in out
        assert "export LEAN_SIDECAR_ENDPOINTS=http://127.0.0.1:8080" in out
    model = re.search(r"export LEAN_SIDECAR_MODEL=(\S+)", out)
    assert model and guess_family(model.group(1)) == p.family  # the local name keeps the dialect
    assert f"export LEAN_SIDECAR_MODEL_FAMILY={p.family}" in out
    assert "export LEAN_SIDECAR_ENDPOINT_CONCURRENCY=1" in out
    assert "LEAN_SIDECAR_CONTEXT_TOKENS" not in out  # the full context: nothing to fit


def test_a_smaller_context_is_passed_on_and_warned_about() -> None:
    done = serve("--backend", "llama.cpp", "--model", "kimina-distill-1.7b", "--context", "16384",
                 "--parallel", "2", "--dry-run")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert " -c 32768 --parallel 2 " in done.stdout  # 16,384 for each of two slots
    assert "export LEAN_SIDECAR_CONTEXT_TOKENS=16384" in done.stdout
    assert "export LEAN_SIDECAR_ENDPOINT_CONCURRENCY=2" in done.stdout
    assert "warning: a 16,384-token context cuts the answers" in done.stderr


def test_unknown_or_large_models_are_refused_with_the_known_ones() -> None:
    done = serve("--backend", "ollama", "--model", "kimina-72b", "--dry-run")
    assert done.returncode == 2 and "kimina-distill-8b" in done.stderr and "vllm" in done.stderr
    done = serve(
        "--backend", "llama.cpp", "--model", "goedel-v2-8b", "--dry-run", "--", "--api-key", "k"
    )
    assert done.returncode == 2 and "LLAMA_API_KEY" in done.stderr


def test_serve_runs_the_ollama_steps(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    recorder(tmp_path / "bin", "ollama", log)
    env = clean_env(PATH=f"{tmp_path / 'bin'}:/usr/bin:/bin")
    done = serve("--backend", "ollama", "--model", "kimina-distill-1.7b", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pull, create = recorded(log)
    assert pull["argv"] == ["pull", "BoltonBailey/Kimina-Prover-Distill-1.7B"]
    argv = create["argv"]
    assert isinstance(argv, list) and argv[:2] == ["create", "kimina-prover-distill-1.7b-32k"]
    assert (
        create["file"] == "FROM BoltonBailey/Kimina-Prover-Distill-1.7B\nPARAMETER num_ctx 32768\n"
    )
    assert not list(tmp_path.glob("*.Modelfile"))  # written in a temporary folder, not here
    # No published build: the converted file is asked for, then imported from.
    done = serve("--backend", "ollama", "--model", "goedel-v2-8b", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "--gguf Goedel-Prover-V2-8B-Q8_0.gguf" in done.stderr
    (tmp_path / "g.gguf").write_bytes(b"GGUF")
    done = serve(
        "--backend", "ollama", "--model", "goedel-v2-8b", "--gguf", "g.gguf", env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert recorded(log)[-1]["file"] == "FROM g.gguf\nPARAMETER num_ctx 40960\n"
    # A failing step stops the rest, with its command and a hint.
    recorder(tmp_path / "bin", "ollama", log, "sys.exit(1)\n")
    done = serve("--backend", "ollama", "--model", "kimina-distill-8b", env=env, cwd=tmp_path)
    assert (
        done.returncode == 2
        and "`ollama pull BoltonBailey/Kimina-Prover-Distill-8B` failed" in done.stderr
    )


def test_serve_starts_llama_server(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    recorder(tmp_path / "bin", "llama-server", log)
    env = clean_env(PATH=f"{tmp_path / 'bin'}:/usr/bin:/bin")
    done = serve("--backend", "llama.cpp", "--model", "deepseek-v2-7b", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "DeepSeek-Prover-V2-7B-Q8_0.gguf is not here" in done.stderr
    (tmp_path / "DeepSeek-Prover-V2-7B-Q8_0.gguf").write_bytes(b"GGUF")
    done = serve("--backend", "llama.cpp", "--model", "deepseek-v2-7b", "--port", "8081",
                 env=env, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run,) = recorded(log)
    assert run["argv"] == [
        *("-m", "DeepSeek-Prover-V2-7B-Q8_0.gguf", "--alias", "deepseek-prover-v2-7b-32k"),
        *("--host", "127.0.0.1", "--port", "8081", "-c", "32768", "--parallel", "1", "--jinja"),
    ]


def test_the_vllm_side_is_unchanged() -> None:
    done = serve("--model", "kimina-distill-8b", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "vllm serve AI-MO/Kimina-Prover-Distill-8B --host 127.0.0.1 --port 8000" in done.stdout


# ---- doctor on a local server ----------------------------------------------------------------
def doctor_lines(ep: StandInEndpoint, model: str, **settings: object) -> dict[str, tuple[str, str]]:
    url = ep.start_in_thread()
    s = Settings.model_validate({"endpoints": [url], "model": model, **settings})
    return {
        c.name: (c.status, c.message) for c in check_endpoint(s, lambda: httpx.Client(timeout=15))
    }


def test_doctor_recognises_ollama_and_its_default_context_cuts_answers() -> None:
    lines = doctor_lines(OllamaStandIn(), "BoltonBailey/Kimina-Prover-Distill-8B")
    assert lines["endpoint"][0] == "ok"  # served as `…:latest`: the same model
    # The default endpointConcurrency (4) against Ollama's default OLLAMA_NUM_PARALLEL (1):
    status, text = lines["server"]
    assert status == "warn" and text.startswith("Ollama 0.12.6: one sample per request")
    assert "set LEAN_SIDECAR_ENDPOINT_CONCURRENCY to OLLAMA_NUM_PARALLEL" in text
    status, text = lines["context"]
    assert status == "fail" and "4,096 tokens (as /api/ps lists it, loaded)" in text
    assert "PARAMETER num_ctx 32768" in text and "OLLAMA_CONTEXT_LENGTH=32768" in text


@pytest.mark.parametrize(
    ("num_ctx", "status", "words"),
    [
        (40960, "ok", "its Modelfile's num_ctx"),
        (16384, "warn", "LEAN_SIDECAR_CONTEXT_TOKENS=16384"),
    ],
)
def test_doctor_reads_an_ollama_models_num_ctx(num_ctx: int, status: str, words: str) -> None:
    ep = OllamaStandIn(models={"goedel-prover-v2-8b-40k:latest": OllamaModel(num_ctx=num_ctx)})
    ep.script = [{"match": "", "responses": [{"status": 500}]}]  # not loaded: /api/show says it
    lines = doctor_lines(ep, "goedel-prover-v2-8b-40k")
    assert lines["generate"][0] == "fail"
    assert lines["context"][0] == status and words in lines["context"][1], lines["context"]


def test_doctor_names_the_ollama_pull_for_a_missing_model() -> None:
    lines = doctor_lines(OllamaStandIn(), "goedel-prover-v2-8b-40k")
    status, text = lines["endpoint"]
    assert status == "fail" and "`ollama pull goedel-prover-v2-8b-40k`" in text


def test_doctor_recognises_llama_cpp_its_slots_and_context() -> None:
    ep = LlamaCppStandIn(model="kimina-prover-distill-8b-32k", slot_context=8192, parallel=2)
    lines = doctor_lines(ep, "kimina-prover-distill-8b-32k", endpoint_concurrency=4)
    assert (
        lines["server"][0] == "warn" and "LEAN_SIDECAR_ENDPOINT_CONCURRENCY=2" in lines["server"][1]
    )
    status, text = lines["context"]
    assert status == "warn" and "8,192 tokens (n_ctx of one slot in /props)" in text
    assert "restart llama-server with -c 65536 (shared by its 2 slots)" in text
    ep = LlamaCppStandIn(model="kimina-prover-distill-8b-32k", slot_context=32768, require_key="k")
    lines = doctor_lines(ep, "kimina-prover-distill-8b-32k", endpoint_concurrency=1, api_key="k")
    assert lines["server"][0] == "ok" and lines["context"][0] == "ok"


def test_doctor_on_vllm_says_when_requests_would_not_fit() -> None:
    lines = doctor_lines(StandInEndpoint(max_model_len=16384), "AI-MO/Kimina-Prover-Distill-8B")
    assert lines["server"] == ("ok", "vLLM")
    assert (
        lines["context"][0] == "warn" and "LEAN_SIDECAR_CONTEXT_TOKENS=16384" in lines["context"][1]
    )
    lines = doctor_lines(StandInEndpoint(max_model_len=16384), "AI-MO/Kimina-Prover-Distill-8B",
                         context_tokens=16384)  # fmt: skip
    assert lines["context"][0] == "ok"


# ---- docs/local-models.md: what it shows is what runs ----------------------------------------
def doc_blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_doc_shows_exactly_what_endpoint_serve_prints() -> None:
    blocks = doc_blocks()
    shown = 0
    for k, (lang, text) in enumerate(blocks):
        if lang == "sh" and text.startswith("lean-sidecar endpoint serve"):
            args = text.split()[3:]
            done = serve(*args)
            assert done.returncode == 0, done.stderr
            assert blocks[k + 1][1] == done.stdout, (
                f"docs/local-models.md shows stale output of {text}"
            )
            shown += 1
    assert shown == 2  # Ollama and llama.cpp
    assert (
        "lean-sidecar doctor" in DOC.read_text()
        and "lean-sidecar fill Foo.lean --diff" in DOC.read_text()
    )


def test_the_docs_doctor_line_is_what_doctor_says() -> None:
    line = next(text for lang, text in doc_blocks() if text.startswith("FAIL  context"))
    status, message = context_check(
        ServerInfo("ollama", context=4096, context_from="as /api/ps lists it, loaded"),
        "BoltonBailey/Kimina-Prover-Distill-8B",
        "kimina",
        None,
    )
    assert line.strip() == f"{status.upper():4}  {'context':10} {message}"


@pytest.mark.parametrize("backend", ["ollama", "llama.cpp"])
def test_the_printed_commands_run_as_written(tmp_path: Path, backend: str) -> None:
    """Every command of the doc's blocks, in a shell, against recording stand-ins."""
    blocks = doc_blocks()
    text = next(
        blocks[k + 1][1]
        for k, (lang, t) in enumerate(blocks)
        if lang == "sh" and t.startswith(f"lean-sidecar endpoint serve --backend {backend} ")
    )
    log = tmp_path / "log.jsonl"
    bin_dir = tmp_path / "bin"
    for name in ("ollama", "hf", "python", "llama-server"):
        recorder(bin_dir, name, log)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        ["bash", "-euc", commands(text)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ran = recorded(log)
    if backend == "ollama":
        pull, create, served = ran
        assert pull["argv"] == ["pull", "BoltonBailey/Kimina-Prover-Distill-8B"]
        assert (
            create["file"]
            == "FROM BoltonBailey/Kimina-Prover-Distill-8B\nPARAMETER num_ctx 32768\n"
        )
        assert served["argv"] == ["serve"] and served["env"] == {"OLLAMA_NUM_PARALLEL": "1"}
    else:
        download, convert, server = ran
        assert download["argv"][:2] == ["download", "Goedel-LM/Goedel-Prover-V2-8B"]  # type: ignore[index]
        assert convert["argv"][-2:] == ["--outfile", "Goedel-Prover-V2-8B-Q8_0.gguf"]  # type: ignore[index]
        argv = server["argv"]
        assert isinstance(argv, list) and argv[argv.index("-c") + 1] == "40960"


def test_from_the_doc_to_the_first_fill(tmp_path: Path) -> None:
    """The doc's settings, its `doctor` and its `fill Foo.lean --diff`, against the Ollama
    stand-in serving the copy that step 2 makes (the stand-in REPL plays Lean)."""
    blocks = doc_blocks()
    printed = next(
        blocks[k + 1][1]
        for k, (lang, t) in enumerate(blocks)
        if t.startswith("lean-sidecar endpoint serve --backend ollama ")
    )
    exports = dict(re.findall(r"^export (LEAN_SIDECAR_\w+)=(\S+)$", printed, re.M))
    name = exports["LEAN_SIDECAR_MODEL"]
    ep = OllamaStandIn(models={f"{name}:latest": OllamaModel(num_ctx=32768)})
    statement = "theorem div_self' (x : ℝ) (h : 0 < x) : x / x = 1 := by"
    ep.script = [{"match": "div_self'", "responses": [
        {"texts": [lean_answer(statement, "  linarith")]},
        {"texts": [lean_answer(statement, "  field_simp")]},
    ]}]  # fmt: skip
    url = ep.start_in_thread()
    project = tmp_path / "proj"
    shutil.copytree(NVIM / "project", project)
    (project / "Foo.lean").write_text(f"import Mathlib\n\n{statement}\n  sorry\n")
    lake, repl = make_toolchain(tmp_path / "tc", FACTS)
    env = clean_env(**{**exports, "LEAN_SIDECAR_ENDPOINTS": url})
    env["LEAN_SIDECAR_CACHE_PATH"] = str(tmp_path / "cache.sqlite")
    toolchain = ("--lake-path", str(lake), "--repl-path", str(repl))
    done = sidecar("doctor", *toolchain, env=env, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^OK    context    32,768 tokens", done.stdout, re.M), done.stdout
    assert re.search(r"^OK    server     Ollama", done.stdout, re.M), done.stdout
    done = sidecar("fill", "Foo.lean", "--diff", *toolchain, env=env, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "+  field_simp" in done.stdout
    sent = [r.body or {} for r in ep.generation_requests()]
    assert sent and all(b["model"] == name for b in sent) and ep.max_active == 1


def test_gpu_endpoint_doc_sends_a_laptop_to_a_command_that_works(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "gpu-endpoint.md").read_text(encoding="utf-8")
    command = re.search(r"`(lean-sidecar endpoint serve --backend ollama [^`]+)`", text)
    assert command and "(local-models.md)" in text
    log = tmp_path / "log.jsonl"
    recorder(tmp_path / "bin", "ollama", log)
    env = clean_env(PATH=f"{tmp_path / 'bin'}:/usr/bin:/bin")
    done = serve(*command.group(1).split()[3:], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [e["argv"][0] for e in recorded(log)] == ["pull", "create"]  # type: ignore[index]
