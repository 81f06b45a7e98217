"""The README and the user docs stay true: the demo runs, the first two commands exist as
written, a checkout installs as a wheel that works outside the checkout, the documented exit
codes are the real ones, and the docs contain only what a user can use."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

from tests.conftest import CHECKOUT_PYTHONPATH, ROOT
from tests.standins.toolchain import make_toolchain

README = ROOT / "README.md"
USER_DOCS = [
    README,
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "vscode-extension" / "README.md",
]
NVIM = ROOT / "tests" / "nvim"


def test_readme_demo_prints_every_hole() -> None:
    readme = README.read_text(encoding="utf-8")
    script = re.search(r"\.venv/bin/python - <<'PY'\n(.*?)\nPY\n", readme, re.S)
    assert script is not None
    out = subprocess.run(
        [sys.executable, "-c", script.group(1)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = out.stdout.splitlines()
    assert len(lines) == 9, out.stderr
    assert lines[-1].split()[:2] == ["failingTactic", "uses_linarith"]
    assert sum(line.startswith("sorry") for line in lines) == 8


def test_first_two_commands_exist_as_written() -> None:
    first = re.search(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert first is not None
    setup, tests = [ln.split("#")[0].strip() for ln in first.group(1).strip().splitlines()]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert setup.startswith('python3 -m venv .venv && .venv/bin/pip install -e ".[dev]" && ')
    assert "dev" in pyproject["project"]["optional-dependencies"]
    assert pyproject["project"]["scripts"]["lean-sidecar"] == "lean_sidecar.cli:main"
    assert setup.endswith(".venv/bin/lean-sidecar serve")
    from lean_sidecar.cli import build_parser

    assert build_parser().parse_args(["serve"]).command == "serve"
    # CI runs the README's test command as written.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert tests == ".venv/bin/python -m pytest -q -rs" == ci[-1].strip()


def test_a_checkout_builds_a_wheel_that_works_outside_it(tmp_path: Path) -> None:
    """What `pip install .` / `pipx install .` install: every module, the console script."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("server", "lean_bridge"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0 and re.search(r"(?i)network|connection|resolve", built.stderr):
        pytest.skip(f"the build backend could not be fetched: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("lean_sidecar-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(site)
        (entry,) = [n for n in names if n.endswith("entry_points.txt")]
        assert "lean-sidecar = lean_sidecar.cli:main" in z.read(entry).decode()
    assert {n.split("/")[0] for n in names} == {
        "lean_sidecar",
        "lean_bridge",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    # every module of the checkout is in the wheel
    for top, folder in (
        ("lean_sidecar", ROOT / "server" / "lean_sidecar"),
        ("lean_bridge", ROOT / "lean_bridge"),
    ):
        for py in folder.rglob("*.py"):
            rel = py.relative_to(folder).as_posix()
            assert f"{top}/{rel}" in names, f"{top}/{rel} missing from the wheel"
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", "import lean_sidecar, sys; print(lean_sidecar.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.startswith(str(site)), out
    helped = subprocess.run(
        [sys.executable, "-m", "lean_sidecar", "doctor", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helped.returncode == 0 and "Exit code 0 when proof search can work" in helped.stdout


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_contain_only_what_a_user_can_use(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    bad = [
        line
        for line in text.splitlines()
        if re.search(r"\bshared/|\bissue\s*#?\d+|(?<![\w&])#\d+\b", line, re.I)
        or re.search(r"\bpipx? install (-U |--upgrade )?['\"]?lean-sidecar\b", line)
    ]
    assert not bad, f"{doc.name}: lines a user cannot use: {bad}"
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{doc.name} links to a missing {target}"


def test_troubleshooting_lists_every_doctor_line() -> None:
    from lean_sidecar.doctor import Probes, run_checks
    from lean_sidecar.settings import load_settings

    text = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    settings = load_settings({"endpoints": ["http://127.0.0.1:9"]}, env={})
    checks = run_checks(settings, NVIM / "project", Probes(which=lambda name: None))
    for check in checks:
        assert f"`{check.name}`" in text, f"doctor's `{check.name}` line is not explained"
    assert "lean-sidecar doctor" in README.read_text(encoding="utf-8")


def _fill(tmp: Path, name: str) -> int:
    project = tmp / "proj"
    if not project.exists():
        shutil.copytree(NVIM / "project", project)
    lake, repl = make_toolchain(tmp / "tc", NVIM / "repl_facts.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_SIDECAR_")}
    env.update(
        {"LEAN_SIDECAR_CACHE_PATH": str(tmp / "cache.sqlite"), "PYTHONPATH": CHECKOUT_PYTHONPATH}
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "lean_sidecar", "fill", str(project / name)),
            *("--lake-path", str(lake), "--repl-path", str(repl)),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode


def test_documented_fill_exit_codes_are_the_real_ones(tmp_path: Path) -> None:
    for doc in (README, ROOT / "docs" / "troubleshooting.md"):
        text = doc.read_text(encoding="utf-8")
        assert re.search(r"0\b.{0,10}every hole", text, re.S), doc
        assert re.search(r"1\b.{0,10}some holes", text, re.S), doc
        assert re.search(r"2\b.{0,10}usage or setup\s+error", text, re.S), doc
    assert _fill(tmp_path, "Missing.lean") == 2  # no such file
    assert _fill(tmp_path, "Rest.lean") == 0  # both sorries filled
    assert _fill(tmp_path, "Wide.lean") == 1  # `stuck` stays unsolved
