"""The typed settings model: precedence, validation, secrets, documentation."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from lean_sidecar.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"


def test_precedence_env_then_cli_then_editor() -> None:
    env = {
        "LEAN_SIDECAR_MODEL": "env-model",
        "LEAN_SIDECAR_BUDGET_SAMPLES": "3",
        "LEAN_SIDECAR_TACTICS": "rfl, simp",
        "LEAN_SIDECAR_UPSTREAM": "lake serve -- -Dx=1",
    }
    s = load_settings({"model": "cli-model"}, env)
    assert (s.model, s.budget_samples, s.tactics) == ("cli-model", 3, ["rfl", "simp"])
    assert s.upstream == ["lake", "serve", "--", "-Dx=1"]
    s = s.merged({"budgetSamples": 7, "endpoints": "http://gpu:8000/"}, "initializationOptions")
    assert s.budget_samples == 7 and s.endpoints == ["http://gpu:8000"]


def test_the_editors_defaults_leave_the_environment_alone() -> None:
    """VS Code answers workspace/configuration (and our extension fills initializationOptions)
    with every contributed default, set by the user or not: those must not override a
    LEAN_SIDECAR_* variable (the docs' way to turn on DEBUG logs, for one)."""
    package = json.loads((ROOT / "vscode-extension" / "package.json").read_text())
    props = package["contributes"]["configuration"]["properties"]
    sent = {key.removeprefix("leanSidecar."): p.get("default") for key, p in props.items()}
    env = {
        "LEAN_SIDECAR_LOG_LEVEL": "DEBUG",
        "LEAN_SIDECAR_BUDGET_SAMPLES": "64",
        "LEAN_SIDECAR_LAKE_PATH": "/opt/elan/bin/lake",
        "LEAN_SIDECAR_FAMILY_SAMPLING": "false",
    }
    base = load_settings({}, env)
    s = base.merged(sent, "workspace/configuration", editor=True)
    assert (s.log_level, s.budget_samples, s.lake_path, s.family_sampling) == (
        "DEBUG",
        64,
        "/opt/elan/bin/lake",
        False,
    )
    chosen = s.merged({**sent, "budgetSamples": 8}, "workspace/configuration", editor=True)
    assert chosen.budget_samples == 8  # a value the user chose still wins


def test_invalid_and_unknown_values_are_reported_and_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        s = Settings().merged({"temperature": 9, "noSuchKey": 1, "topP": 0.5}, "lsp")
    assert s.temperature == 0.6 and s.top_p == 0.5
    assert "noSuchKey" in caplog.text and "temperature" in caplog.text


def test_api_key_never_printed(caplog: pytest.LogCaptureFixture) -> None:
    s = load_settings(None, {"LEAN_SIDECAR_API_KEY": "sk-very-secret"})
    assert s.api_key is not None and s.api_key.get_secret_value() == "sk-very-secret"
    assert "sk-very-secret" not in repr(s) and "sk-very-secret" not in str(s.redacted())


def test_every_setting_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"LEAN_SIDECAR_{name.upper()}" in doc, name


def test_every_setting_has_a_meaning_and_the_docs_table_is_generated_from_it() -> None:
    """The model's `description=` is the one text: VS Code's setting descriptions and the table
    of docs/configuration.md are generated from it (tools/gen_vscode_contrib.py --check)."""
    import importlib.util

    for name, field in Settings.model_fields.items():
        text = " ".join((field.description or "").split())
        assert len(text) >= 40 and text.endswith("."), (name, text)
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_vscode_contrib.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    doc = DOC.read_text(encoding="utf-8")
    assert gen.settings_table() in doc, "stale table: run tools/gen_vscode_contrib.py"
    for name in ("temperature", "top_p", "max_tokens", "max_retries", "tactics"):
        row = next(line for line in doc.splitlines() if f"`LEAN_SIDECAR_{name.upper()}`" in line)
        assert row.split("|")[4].strip(), row  # the meaning column is filled


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "gpu:8000",
            "'gpu:8000' is not a URL: write it with http:// or https://, e.g. http://gpu:8000",
        ),
        ("localhost:8000", "e.g. http://localhost:8000"),
        ("ftp://gpu:8000", "write it with http:// or https://"),
        ("http://", "has no host name"),
    ],
)
def test_an_endpoint_without_http_is_refused_up_front_by_the_cli(
    tmp_path: Path, url: str, says: str
) -> None:
    """`--endpoint gpu:8000` used to pass and then fail at every request as "cannot connect":
    the settings model refuses it, so the command line says what to write."""
    import subprocess
    import sys

    from tests.conftest import CHECKOUT_PYTHONPATH

    target = tmp_path / "T.lean"
    target.write_text("theorem t : True := by\n  sorry\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": CHECKOUT_PYTHONPATH}
    done = subprocess.run(
        [sys.executable, "-m", "lean_sidecar", "fill", str(target), "--endpoint", url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("lean-sidecar: error: invalid value for --endpoint: "), line
    assert says in line and "cannot connect" not in line
    # the same from the environment names the variable; an editor's value is logged and ignored
    env["LEAN_SIDECAR_ENDPOINTS"] = url
    done = subprocess.run(
        [sys.executable, "-m", "lean_sidecar", "fill", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2 and "for LEAN_SIDECAR_ENDPOINTS: " in done.stderr
    assert Settings().merged({"endpoints": [url]}, "initializationOptions").endpoints == []
