"""`lean-sidecar doctor`: a healthy stand-in setup exits 0; each broken piece exits non-zero with
the line that names it and says what to fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from lean_sidecar.doctor import Probes, can_search, run_checks
from lean_sidecar.settings import load_settings
from tests.conftest import CHECKOUT_PYTHONPATH, ROOT
from tests.standins.openai_endpoint import StandInEndpoint
from tests.standins.toolchain import make_toolchain

FACTS = ROOT / "tests" / "nvim" / "repl_facts.json"
MODEL = "AI-MO/Kimina-Prover-Distill-8B"


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    project = tmp_path / "proj"
    shutil.copytree(ROOT / "tests" / "nvim" / "project", project)
    lake, repl = make_toolchain(tmp_path / "tc", FACTS)
    return {"project": project, "lake": lake, "repl": repl, "cache": tmp_path / "c" / "p.sqlite"}


def doctor(s: dict[str, Path], *extra: str, endpoint: str | None = None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_SIDECAR_")}
    env["LEAN_SIDECAR_CACHE_PATH"] = str(s["cache"])
    env["PYTHONPATH"] = CHECKOUT_PYTHONPATH
    args = ["--project", str(s["project"]), "--lake-path", str(s["lake"])]
    args += ["--repl-path", str(s["repl"])]
    if endpoint:
        args += ["--endpoint", endpoint, "--model", MODEL]
    done = subprocess.run(
        [sys.executable, "-m", "lean_sidecar", "doctor", *args, *extra],
        cwd=s["project"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def line(out: str, name: str) -> str:
    found = [ln for ln in out.splitlines() if ln[6:].split(" ")[0] == name.split(" ")[0]]
    assert found, out
    return found[0]


def test_healthy_standin_setup_exits_0(setup: dict[str, Path]) -> None:
    url = StandInEndpoint(model=MODEL).start_in_thread()
    rc, out = doctor(setup, endpoint=url)
    assert rc == 0, out
    assert line(out, "lake").startswith("OK") and "stand-in" in line(out, "lake")
    assert line(out, "toolchain").startswith("OK") and "v4.24.0" in line(out, "toolchain")
    assert line(out, "repl").startswith("OK") and "answers" in line(out, "repl")
    ep = line(out, "endpoint")
    assert ep.startswith("OK") and MODEL in ep and "kimina (guessed)" in ep
    assert line(out, "generate").startswith("OK")
    assert line(out, "cache").startswith("OK")
    assert "proof search can work here" in out


def test_no_endpoint_is_a_warning_not_a_failure(setup: dict[str, Path]) -> None:
    rc, out = doctor(setup)
    assert rc == 0, out
    assert line(out, "endpoint").startswith("WARN") and "LEAN_SIDECAR_ENDPOINTS" in out


def test_missing_lake(setup: dict[str, Path], tmp_path: Path) -> None:
    rc, out = doctor(setup, "--lake-path", str(tmp_path / "nope" / "lake"))
    assert rc == 1
    assert line(out, "lake").startswith("FAIL") and "install elan" in line(out, "lake")


def test_no_lean_toolchain(setup: dict[str, Path]) -> None:
    (setup["project"] / "lean-toolchain").unlink()
    rc, out = doctor(setup)
    assert rc == 1
    assert line(out, "toolchain").startswith("FAIL") and "Lake project" in line(out, "toolchain")


def test_repl_not_built(setup: dict[str, Path]) -> None:
    shutil.rmtree(setup["repl"] / ".lake")
    rc, out = doctor(setup)
    assert rc == 1
    assert line(out, "repl").startswith("FAIL") and "lake build" in line(out, "repl")


def test_repl_for_another_toolchain(setup: dict[str, Path]) -> None:
    (setup["repl"] / "lean-toolchain").write_text("leanprover/lean4:v4.9.0\n")
    rc, out = doctor(setup)
    assert rc == 1
    repl = line(out, "repl")
    assert repl.startswith("FAIL") and "v4.9.0" in repl and "git checkout v4.24.0" in repl


def test_repl_that_does_not_answer(setup: dict[str, Path]) -> None:
    binary = setup["repl"] / ".lake" / "build" / "bin" / "repl"
    binary.write_text(
        "#!/bin/sh\necho 'libleanshared.so: cannot open shared object' >&2\nexit 127\n"
    )
    rc, out = doctor(setup)
    assert rc == 1
    assert line(out, "repl").startswith("FAIL") and "libleanshared" in line(out, "repl")


@pytest.mark.skipif(
    __import__("lean_bridge.sandbox").sandbox.detect() != "bwrap",
    reason="needs bubblewrap (the file-system sandbox); .ci/run installs it",
)
def test_repl_that_works_only_outside_the_sandbox(setup: dict[str, Path], tmp_path: Path) -> None:
    """A REPL whose binary reads a file the sandbox hides (here under /tmp, outside the REPL's
    folder) answers when run by hand and fails in every search: doctor runs it as searches do."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(ROOT / "tests" / "standins" / "repl.py", elsewhere / "repl.py")
    binary = setup["repl"] / ".lake" / "build" / "bin" / "repl"
    binary.write_text(f"#!/bin/sh\nexec {sys.executable} {elsewhere / 'repl.py'} --facts {FACTS}\n")
    rc, out = doctor(setup)
    assert rc == 1, out
    repl = line(out, "repl")
    assert repl.startswith("FAIL") and "did not answer" in repl and "repl.py" in repl, repl
    assert "sandbox" in repl  # what to try: the line says it ran in the sandbox


def test_endpoint_down(setup: dict[str, Path]) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rc, out = doctor(setup, endpoint=f"http://127.0.0.1:{port}")
    assert rc == 1
    assert line(out, "endpoint").startswith("FAIL") and "unreachable" in line(out, "endpoint")


def test_model_not_served(setup: dict[str, Path]) -> None:
    url = StandInEndpoint(model="some/other-model").start_in_thread()
    rc, out = doctor(setup, endpoint=url)
    assert rc == 1
    ep = line(out, "endpoint")
    assert ep.startswith("FAIL") and "some/other-model" in ep and "--model" in ep


def test_generation_fails(setup: dict[str, Path]) -> None:
    script = [{"match": "", "responses": [{"status": 500}]}]
    url = StandInEndpoint(script=script, model=MODEL).start_in_thread()
    rc, out = doctor(setup, endpoint=url)
    assert rc == 1
    assert line(out, "endpoint").startswith("OK")
    assert line(out, "generate").startswith("FAIL") and "500" in line(out, "generate")


def test_cache_not_writable(setup: dict[str, Path], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    setup["cache"] = blocker / "cache.sqlite"  # its folder is a file
    rc, out = doctor(setup)
    assert rc == 1
    assert line(out, "cache").startswith("FAIL") and "LEAN_SIDECAR_CACHE_PATH" in line(out, "cache")


# ---- pieces checked through injected probes ---------------------------------------------------
def _settings(setup: dict[str, Path], **kw: object) -> object:
    base = {"lake_path": str(setup["lake"]), "repl_path": str(setup["repl"])}
    return load_settings({**base, "cache_path": str(setup["cache"]), **kw}, env={})


def test_key_refused_is_a_failure_and_the_key_is_never_printed(setup: dict[str, Path]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "bad key"})

    probes = Probes(http=lambda: httpx.Client(transport=httpx.MockTransport(refuse)))
    settings = _settings(setup, endpoints=["http://gpu:8000"], model=MODEL, api_key="sk-secret-123")
    checks = run_checks(settings, setup["project"], probes)  # type: ignore[arg-type]
    text = "\n".join(c.line() for c in checks)
    assert not can_search(checks)
    assert "refused the API key (HTTP 401)" in text and "LEAN_SIDECAR_API_KEY" in text
    assert "sk-secret-123" not in text
    assert next(c for c in checks if c.name == "api key").message.startswith("set")


def test_sandbox_and_editor_route_are_reported_not_blocking(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    shim = tmp_path / "shim" / "lake"
    shim.parent.mkdir()
    shim.write_text("#!/usr/bin/python3\n# lean-sidecar's lake shim\n")

    def which(name: str) -> str | None:
        return str(shim) if name == "lake" else shutil.which(name)

    probes = Probes(which=which, sandbox=lambda enabled: ("none", "REPL sandbox: none available"))
    checks = run_checks(_settings(setup), setup["project"], probes)  # type: ignore[arg-type]
    by = {c.name: c for c in checks}
    # No sandbox: a FAIL (a model's candidates are not run), not essential (tactics still run).
    assert by["sandbox"].status == "fail" and not by["sandbox"].essential
    assert "bubblewrap" in by["sandbox"].message
    assert "LEAN_SIDECAR_ALLOW_UNSANDBOXED" in by["sandbox"].message
    assert can_search(checks)
    assert by["editor"].status == "ok" and "shim is first on PATH" in by["editor"].message
    # Someone who accepts the risk sees a warning instead.
    risky = _settings(setup).model_copy(update={"allow_unsandboxed": True})
    by = {c.name: c for c in run_checks(risky, setup["project"], probes)}  # type: ignore[arg-type]
    assert by["sandbox"].status == "warn" and "unconfined" in by["sandbox"].message


def test_a_toolchain_without_the_kernel_fixes_is_told(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    project = tmp_path / "old"
    project.mkdir()
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    (kernel,) = [c for c in run_checks(_settings(setup), project) if c.name == "kernel"]
    assert kernel.status == "warn" and "upgrade to ≥ 4.34.1" in kernel.message
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.34.1\n")
    (kernel,) = [c for c in run_checks(_settings(setup), project) if c.name == "kernel"]
    assert kernel.status == "ok"
