"""The benchmarks still run (tiny sizes; figures are printed, never asserted: speed targets live
in bench/, not in timed tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

CASES = [
    (["bench/proxy_overhead.py", "--requests", "200", "--rounds", "1"], "p50 overhead:"),
    (["bench/soak.py", "--scale", "0.005"], "RSS MB:"),
    (
        ["bench/fill_latency.py", "--holes", "1", "--latency", "0.1", "--repl-latency", "0"],
        "time to first verified proof",
    ),
    (["bench/search_budget.py", "--budget", "8"], "+ decomposition"),
    (
        ["bench/mcp_shared.py", "--rounds", "1", "--repl-latency", "0"],
        "holes answered from: editor",
    ),
    (
        ["bench/verifier_scaling.py", "--problems", "4", "--latency", "0.05", "--servers", "1"],
        "sidecar's own cost per remote check",
    ),
]


@pytest.mark.parametrize(("args", "expected"), CASES, ids=[c[0][0] for c in CASES])
def test_benchmark_runs_and_prints_its_table(args: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout
