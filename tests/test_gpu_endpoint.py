"""The GPU side, tested by what it builds: `endpoint serve` never launches vLLM here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lean_sidecar.gpu.presets import PRESETS, resolve, sidecar_settings, vllm_argv
from lean_sidecar.prover.families import guess_family
from tests.conftest import CHECKOUT_PYTHONPATH, ROOT


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lean_sidecar", "endpoint", "serve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": CHECKOUT_PYTHONPATH, **(env or {"PATH": "/usr/bin:/bin"})},
    )


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_builds_a_vllm_command_and_matching_sidecar_settings(name: str) -> None:
    p = PRESETS[name]
    argv = vllm_argv(p)
    assert argv[:3] == ["vllm", "serve", p.hf_id]
    flags = dict(zip(argv[3::2], argv[4::2], strict=False))
    assert flags["--host"] == "127.0.0.1"  # never an open port by default
    assert flags["--max-model-len"] == str(p.max_model_len)
    assert flags["--tensor-parallel-size"] == str(p.tensor_parallel)
    assert "--enable-prefix-caching" in argv and "--generation-config" in argv
    assert not any("api-key" in a for a in argv)  # the key stays in the environment
    s = sidecar_settings(p, "http://127.0.0.1:8000")
    assert (
        guess_family(str(s["model"])) == p.family
    )  # the served name tells the sidecar the dialect


def test_resolve_by_short_name_or_hf_id() -> None:
    assert resolve("AI-MO/Kimina-Prover-Distill-8B").name == "kimina-distill-8b"
    assert resolve("goedel-v2-32b").tensor_parallel == 2
    with pytest.raises(KeyError, match="known"):
        resolve("gpt-2")


def test_dry_run_prints_the_command_and_the_settings() -> None:
    done = serve("--model", "deepseek-v2-7b", "--dry-run", "--", "--max-num-seqs", "64")
    assert done.returncode == 0, done.stderr
    assert (
        "vllm serve deepseek-ai/DeepSeek-Prover-V2-7B --host 127.0.0.1 --port 8000" in done.stdout
    )
    assert "--max-num-seqs 64" in done.stdout
    assert "export LEAN_SIDECAR_MODEL_FAMILY=deepseek-v2-cot" in done.stdout


def test_api_key_is_never_printed_nor_put_on_the_command_line() -> None:
    done = serve(
        "--model",
        "kimina-distill-8b",
        "--dry-run",
        env={"PATH": "/usr/bin:/bin", "VLLM_API_KEY": "sk-gpu-secret"},
    )
    assert done.returncode == 0 and "sk-gpu-secret" not in done.stdout + done.stderr
    assert "with VLLM_API_KEY from the environment" in done.stdout
    refused = serve("--model", "kimina-distill-8b", "--dry-run", "--", "--api-key", "sk-x")
    assert refused.returncode == 2 and "VLLM_API_KEY" in refused.stderr


def test_open_port_without_a_key_is_warned_and_missing_vllm_is_a_clear_error() -> None:
    done = serve("--model", "kimina-distill-1.7b", "--host", "0.0.0.0")
    assert "warning: listening beyond loopback without VLLM_API_KEY" in done.stderr
    # lean-sidecar is not on PyPI: the advice installs vLLM into this environment, never
    # `lean-sidecar[gpu]` from the registry (someone else's package under that name)
    assert done.returncode == 2 and f"{sys.executable} -m pip install 'vllm" in done.stderr
    assert ".venv/bin/pip install -e '.[gpu]'" in done.stderr
    assert "lean-sidecar[gpu]" not in done.stderr


def test_no_message_tells_to_install_lean_sidecar_from_pypi() -> None:
    """The package is not on PyPI: `pip install lean-sidecar…` installs a stranger's package.
    (The docs are checked by tests/test_readme.py.)"""
    import re

    pattern = re.compile(r"pip install\s+['\"]?lean-sidecar")
    files = [*(ROOT / "server").rglob("*.py"), *(ROOT / "vscode-extension" / "src").glob("*.ts")]
    offenders = [str(p) for p in files if pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_serve_prints_the_family_sampling_with_its_sources(name: str) -> None:
    from lean_sidecar.prover.presets import PRESETS as FAMILY

    p = PRESETS[name]
    done = serve("--model", name, "--dry-run")
    assert done.returncode == 0, done.stderr
    family = FAMILY[p.family]
    assert f"temperature={family.temperature}, top_p={family.top_p}" in done.stdout
    assert "LEAN_SIDECAR_TEMPERATURE" not in done.stdout  # the family preset is the default
    assert all(src in done.stdout for src in family.sources.values())


def test_a_smaller_served_context_is_passed_to_the_sidecar() -> None:
    done = serve("--model", "goedel-v2-8b", "--dry-run", "--max-model-len", "16384")
    assert done.returncode == 0, done.stderr
    assert "export LEAN_SIDECAR_CONTEXT_TOKENS=16384" in done.stdout
    assert '"contextTokens": 16384' in done.stdout
