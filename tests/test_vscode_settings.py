"""The VS Code extension's settings are the server's (generated, one source), and what VS Code
sends for a setting nobody set (null, "") changes nothing on the server."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from lean_sidecar.settings import Settings, load_settings
from tests.conftest import ROOT

PACKAGE = ROOT / "vscode-extension" / "package.json"


def test_generated_files_are_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_vscode_contrib.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_every_server_setting_is_contributed_without_empty_defaults() -> None:
    props = json.loads(PACKAGE.read_text())["contributes"]["configuration"]["properties"]
    for name in Settings.model_fields:
        if name in ("api_key", "verifier_api_key"):
            assert "leanSidecar.apiKey" not in props  # SecretStorage only
            assert "leanSidecar.verifierApiKey" not in props  # the environment only
            continue
        head, *rest = name.split("_")
        key = "leanSidecar." + head + "".join(p.capitalize() for p in rest)
        assert key in props, key
    for key, prop in props.items():
        assert prop.get("default") != "", key


def test_what_vscode_sends_for_unset_settings_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"LEAN_SIDECAR_REPL_PATH": "/opt/repl", "LEAN_SIDECAR_CACHE_PATH": "/tmp/c.sqlite"}
    base = load_settings(env=env)
    props = json.loads(PACKAGE.read_text())["contributes"]["configuration"]["properties"]
    # workspace/configuration answers every contributed key with its default.
    section = {key.split(".", 1)[1]: prop["default"] for key, prop in props.items()}
    with caplog.at_level(logging.WARNING):
        merged = base.merged(section, "workspace/configuration")
    assert merged.repl_path == "/opt/repl"
    assert str(merged.cache_path) == "/tmp/c.sqlite"
    assert merged == base
    assert caplog.records == []  # the extension's own keys are not "unknown settings"
    assert base.merged({"replPath": "", "model": ""}, "editor") == base


def test_empty_environment_values_are_unset() -> None:
    assert load_settings(env={"LEAN_SIDECAR_REPL_PATH": "", "LEAN_SIDECAR_LAKE_PATH": ""}) == (
        load_settings(env={})
    )


def test_settings_that_choose_what_runs_cannot_come_from_a_workspace() -> None:
    """A cloned repository's .vscode/settings.json cannot name an interpreter, a server, Lean's
    or the REPL's path, turn the sandbox off, allow native evaluation or move the log and cache:
    those settings have machine scope, and are restricted in an untrusted workspace."""
    pkg = json.loads(PACKAGE.read_text())
    props = pkg["contributes"]["configuration"]["properties"]
    risky = {
        "pythonPath", "serverCommand", "upstream", "lakePath", "replPath", "replSandbox",
        "allowNativeDecide", "allowUnsandboxed", "logFile", "cachePath",
        "mcpShare", "mcpHost", "mcpPort", "mcpTokenFile",
        "verifierServers",  # whose Lean decides what is proved
    }  # fmt: skip
    for name in risky:
        assert props[f"leanSidecar.{name}"].get("scope") == "machine", name
    others = {k for k, v in props.items() if v.get("scope") == "machine"}
    assert others == {f"leanSidecar.{n}" for n in risky}
    trust = pkg["capabilities"]["untrustedWorkspaces"]
    assert trust["supported"] == "limited"
    assert set(trust["restrictedConfigurations"]) == {f"leanSidecar.{n}" for n in risky}


def test_what_the_lean_extension_sends_for_lean_is_no_unknown_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """In the shim route the Lean 4 extension's `initialize` carries Lean's own
    initializationOptions, flat (`editDelay`, `hasWidgets`): the sidecar passes them on to Lean
    and does not log them as unknown settings of its own; a real unknown setting still warns."""
    from lean_sidecar.lsp.app import sidecar_options

    sent = {"editDelay": 200, "hasWidgets": True, "budgetSamples": 3, "noSuchSetting": 1}
    with caplog.at_level(logging.DEBUG):
        section = sidecar_options(sent)
        merged = Settings().merged(section, "initializationOptions", editor=True)
    assert section == {"budgetSamples": 3, "noSuchSetting": 1}
    assert merged.budget_samples == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["initializationOptions: unknown setting 'noSuchSetting' ignored"]
    assert any("hasWidgets" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    # under our own key, the whole object is ours (Lean's keys stay beside it)
    assert sidecar_options({"leanSidecar": {"model": "m"}, "hasWidgets": True}) == {"model": "m"}
    assert sidecar_options({"leanSidecar": None}) == {}
