"""VS Code end to end: our bundled .vsix in a real workbench (code-server, headless Chromium).

Two routes, each with default settings (nothing of ours configured):
- the shim route, beside the official Lean 4 extension (the vendored vscode-lean4 .vsix): Lean's
  `lake serve` goes through our `lake` shim to the sidecar; diagnostics, the infoview's goal, the
  "Fill sorry" quick fix from the light bulb, the file saved with the proof, and the API key set
  with the command reaching the sidecar's environment (never its command line);
- the standalone route without the Lean extension: the sidecar is VS Code's language server.

In both, a search that ends without a proof (the second sorry of Fill.lean: no tactic of the
cascade closes it, and no endpoint is configured) shows as a notification with a Cancel button,
then as one message naming the sorry and why; and "Run doctor" says proof search can work (in
the shim route: with the real lake behind the shim).

The toolchain is the stand-in (`lake`/`lean` scripts, tests/standins/toolchain.py) in front of the
stand-in Lean server and REPL; the user's environment supplies what a user's machine would: the
`lean-sidecar` script on PATH and a built REPL (LEAN_SIDECAR_REPL_PATH). Needs code-server under
.cache/code-server, Chromium and the built .vsix (`.ci/run` does all three); skipped with the reason
otherwise. Screenshots land in artifacts/."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import CHECKOUT_PYTHONPATH, PROJECT, ROOT, standin_lean_command
from tests.search_helpers import REPL_FACTS
from tests.standins.toolchain import make_editor_toolchain, make_toolchain

EXT = ROOT / "vscode-extension"
VSIX = EXT / "lean-sidecar.vsix"
LEAN4_VSIX = ROOT.parent / "shared" / "vendor" / "vscode-lean4-0.0.239.vsix"
LEAN4_VSIX = Path(os.environ.get("LEAN4_VSIX", LEAN4_VSIX))
CODE_SERVER = ROOT / ".cache" / "code-server" / "package" / "out" / "node" / "entry.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCRIPT = Path(sys.executable).parent / "lean-sidecar"
SHOTS = ROOT / "artifacts"
MISSING = [
    what
    for what, ok in [
        (
            "code-server (sh vscode-extension/test/e2e/install-code-server.sh .cache/code-server)",
            CODE_SERVER.exists(),
        ),
        ("chromium", CHROMIUM is not None),
        ("the built .vsix (cd vscode-extension && npm ci && npm run package)", VSIX.exists()),
        (
            "playwright-core (npm ci in vscode-extension)",
            (EXT / "node_modules" / "playwright-core").exists(),
        ),
        (f"the lean-sidecar script beside {sys.executable} (pip install .)", SCRIPT.exists()),
    ]
    if not ok
]
needs_workbench = pytest.mark.skipif(
    bool(MISSING), reason="VS Code end-to-end needs: " + "; ".join(MISSING)
)


def stub_vsix(dest: Path, publisher: str, name: str, version: str = "0.0.1") -> Path:
    """A minimal installable .vsix with no code: it stands in for an extension that another one
    declares in `extensionDependencies` and that code-server cannot fetch here (no marketplace).
    vscode-lean4 depends on tamasfe.even-better-toml (TOML highlighting of lakefile.toml)."""
    manifest = {
        "name": name,
        "publisher": publisher,
        "version": version,
        "engines": {"vscode": "^1.75.0"},
        "description": "stand-in (no code) for a dependency code-server cannot download in tests",
    }
    vsixmanifest = f"""<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011">
 <Metadata><Identity Language="en-US" Id="{name}" Version="{version}" Publisher="{publisher}" />
  <DisplayName>{name}</DisplayName><Description xml:space="preserve">stand-in</Description>
  <Properties><Property Id="Microsoft.VisualStudio.Code.Engine" Value="^1.75.0" /></Properties>
 </Metadata>
 <Installation><InstallationTarget Id="Microsoft.VisualStudio.Code"/></Installation>
 <Dependencies/>
 <Assets><Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true" /></Assets>
</PackageManifest>
"""
    types = (
        '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension=".json" ContentType="application/json"/>'
        '<Default Extension=".vsixmanifest" ContentType="text/xml"/></Types>'
    )
    with zipfile.ZipFile(dest, "w") as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("extension.vsixmanifest", vsixmanifest)
        z.writestr("extension/package.json", json.dumps(manifest))
    return dest


def lake_project(root: Path) -> Path:
    project = root / "proj"
    project.mkdir()
    for name in ("lean-toolchain", "Fill.lean"):
        shutil.copy(PROJECT / name, project / name)
    (project / "lakefile.toml").write_text('name = "proj"\n')
    return project


def repl_facts_without_field_simp(dest: Path) -> Path:
    """The stand-in REPL's facts less `field_simp` for the second sorry of Fill.lean: no tactic
    of the cascade closes it, and with no endpoint configured (default settings) its search ends
    without a proof, as a user's would. One of its tactics (`linarith`) takes 3 s there, as real
    ones do: the search lasts long enough for its notification to be seen."""
    facts = json.loads(REPL_FACTS.read_text(encoding="utf-8"))
    div = facts["proofs"]["(x : ℝ) (h : 0 < x) : x / x = 1"]
    div["accepted"] = [p for p in div["accepted"] if p != "by field_simp"]
    div["delays"] = {"by linarith": 3}
    dest.write_text(json.dumps(facts), encoding="utf-8")
    return dest


def run_scenario(tmp_path: Path, script: str, extra_env: dict[str, str]) -> str:
    project = lake_project(tmp_path)
    # The stand-in Lean server with the infoview's RPC methods (tests/standins/infoview_rpc.py).
    lean = standin_lean_command(PROJECT / "holes_facts.json")
    lean[1] = str(ROOT / "tests" / "standins" / "infoview_rpc.py")
    bin_dir = make_editor_toolchain(tmp_path / "tc", lean)
    facts = repl_facts_without_field_simp(tmp_path / "repl_facts.json")
    _lake, repl = make_toolchain(tmp_path / "repl-tc", facts)
    # A user's machine: Lean's tools and the lean-sidecar script on PATH, set in the login shell's
    # profile (VS Code's extension host takes PATH from the user's login shell, not from the
    # process that started it), and a built REPL.
    path = os.pathsep.join([str(bin_dir), str(SCRIPT.parent), os.environ.get("PATH", "")])
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bash_profile").write_text(f"export PATH={shlex.quote(path)}\n")
    env = {
        **os.environ,
        "HOME": str(home),
        "SHELL": "/bin/bash",
        "PATH": path,
        "PYTHONPATH": CHECKOUT_PYTHONPATH,  # this checkout's code, whatever the venv points to
        "LEAN_SIDECAR_REPL_PATH": str(repl),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "CODE_SERVER": str(CODE_SERVER),
        "VSIX": str(VSIX),
        "LEAN4_VSIX": str(LEAN4_VSIX),
        "TOML_VSIX": str(stub_vsix(tmp_path / "toml.vsix", "tamasfe", "even-better-toml")),
        "PROJECT": str(project),
        "WORK": str(tmp_path / "work"),
        "SHOTS": str(SHOTS),
        "CHROMIUM": CHROMIUM or "",
        "NODE_PATH": str(EXT / "node_modules"),
        **extra_env,
    }
    started = time.monotonic()
    done = subprocess.run(
        ["node", str(EXT / "test" / "e2e" / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = done.stdout + done.stderr
    print(f"{script}: {time.monotonic() - started:.1f} s\n{done.stdout[-3000:]}")
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / f"{Path(script).stem}.log").write_text(out)  # the whole run, beside its screenshots
    calls = tmp_path / "tc" / "calls.log"
    assert done.returncode == 0, (
        done.stdout[-3000:]
        + done.stderr[:3000]
        + done.stderr[-4000:]
        + (calls.read_text() if calls.exists() else "")
    )
    assert "E2E OK" in out
    return out


@needs_workbench
@pytest.mark.skipif(not LEAN4_VSIX.exists(), reason=f"needs the Lean 4 extension at {LEAN4_VSIX}")
def test_shim_route_beside_the_real_lean_extension(tmp_path: Path) -> None:
    out = run_scenario(tmp_path, "shim-route.js", {"API_KEY": "sk-e2e-not-a-real-key"})
    for name in (
        "vscode-infoview.png",
        "vscode-quickfix-menu.png",
        "vscode-shim-search-notification.png",
        "vscode-shim-no-proof.png",
        "vscode-shim-doctor.png",
    ):
        assert (SHOTS / name).stat().st_size > 10_000
    assert "the search shows as a notification with a Cancel button" in out


@needs_workbench
def test_standalone_route_without_the_lean_extension(tmp_path: Path) -> None:
    out = run_scenario(tmp_path, "standalone-route.js", {})
    for name in (
        "vscode-standalone.png",
        "vscode-standalone-search-notification.png",
        "vscode-standalone-no-proof.png",
        "vscode-standalone-doctor.png",
    ):
        assert (SHOTS / name).stat().st_size > 10_000
    assert "the search shows as a notification with a Cancel button" in out
