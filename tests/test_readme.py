"""The README's demo keeps working as written."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_readme_demo_prints_every_hole() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
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
