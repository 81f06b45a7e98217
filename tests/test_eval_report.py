"""The HTML report of `lean-sidecar eval`, made through the command line from results already on
disk (a resumed run with nothing left to search), then read as a researcher reads it: in headless
Chromium (playwright-core, as the VS Code end-to-end tests drive it). The charts must have value
axes with readable ticks (the budget axis log-scaled at k = 1, 2, 4, …; histogram ticks that are
not all "0.0"), no "unsolved" stage, the run's metadata without secrets, and the same figures as
the printed summary. Screenshots land in artifacts/ (eval-report*.png)."""

from __future__ import annotations

import html
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXT = ROOT / "vscode-extension"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE = shutil.which("node")
SHOTS = ROOT / "artifacts"
API_KEY = "sk-report-secret-123"
ENDPOINT = "http://user:pw-secret-456@127.0.0.1:9/v1?token=tok-secret-789"
SECRETS = (API_KEY, "pw-secret-456", "tok-secret-789")
MISSING = [
    what
    for what, ok in [
        ("chromium", CHROMIUM is not None),
        ("node", NODE is not None),
        (
            "playwright-core (npm ci in vscode-extension)",
            (EXT / "node_modules" / "playwright-core").exists(),
        ),
    ]
    if not ok
]
needs_browser = pytest.mark.skipif(
    bool(MISSING), reason="rendering the report needs: " + "; ".join(MISSING)
)


def synthetic_run(
    tmp: Path, n: int, budget: int, fastest: float, slowest: float, seed: int
) -> tuple[Path, Path]:
    """A benchmark of ``n`` problems (mathd_algebra_314 among them, as miniF2F states it) and a
    results file with a row for each, as the runner writes them: found by the cascade (k = 0)
    or after 1…budget samples, first proofs after ``fastest``…``slowest`` seconds (log-uniform),
    some unsolved, an error and a refuted statement."""
    rng = random.Random(seed)
    header = "import Mathlib\n\n"
    bench, rows = [], []
    for i in range(n):
        name = "mathd_algebra_314" if i == 3 else f"synthetic_{i:03d}"
        stmt = (
            "theorem mathd_algebra_314 (n : ℕ) (h₀ : n = 11) : (1 / 4) ^ (n + 1) * 2 ^ (2 * n) = 1 / 4 := by\n"
            if i == 3
            else f"theorem {name} (x : ℕ) (h : {i} < x) : {i} + 1 ≤ x := by\n"
        )
        bench.append({"name": name, "header": header, "formal_statement": stmt, "split": "test"})
        roll = rng.random()
        spent = rng.randint(1, budget) if budget else 0
        row: dict[str, object] = {
            "name": name,
            "samples": spent,
            "seconds": round(rng.uniform(1, 60), 3),
            "tokens": spent * rng.randint(200, 900),
            "gpu_seconds": round(spent * rng.uniform(0.5, 3.0), 3),
            "lean_seconds": round(rng.uniform(0.2, 20.0), 3),
            "attempts": spent + 3,
        }
        closes = i == 3 or roll < 0.25
        row["tactics"] = {
            "norm_num": {"closed": int(closes), "seconds": round(rng.uniform(0.1, 2), 3)},
            "omega": {"closed": 0, "seconds": round(rng.uniform(0.1, 1), 3)},
        }
        first = round(fastest * (slowest / fastest) ** rng.random(), 4)
        if i == 3 or roll < 0.25:
            row.update(status="solved", how="tactic", proof="norm_num", samples_at_first=0)
            row.update(time_to_first=first, samples=0, tokens=0, gpu_seconds=0.0)
        elif roll < 0.6 and budget:
            at = min(budget, max(1, round(2 ** rng.uniform(0, budget.bit_length() - 1))))
            how = "sketch" if roll > 0.55 else "model"
            row.update(status="solved", how=how, proof="nlinarith", samples_at_first=at)
            row.update(time_to_first=first)
        elif i == 5:
            row = {"name": name, "status": "error", "samples": 0, "error": "REPL crashed"}
        elif i == 7:
            row.update(status="refuted", refuted="¬ …")
        else:
            row.update(status="unsolved")
        rows.append(row)
    (tmp / "bench.jsonl").write_text("".join(json.dumps(r) + "\n" for r in bench))
    (tmp / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp / "bench.jsonl", tmp / "results.jsonl"


def report_through_the_cli(tmp: Path, bench: Path, out: Path, budget: int) -> tuple[str, str]:
    """`eval … --report` over results that cover every problem: it searches nothing and
    writes the summary and the report. Returns (stdout, the report's HTML)."""
    project = tmp / "proj"
    project.mkdir(exist_ok=True)
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    cmd = [
        sys.executable,
        "-m",
        "lean_sidecar",
        "eval",
        str(bench),
        "--out",
        str(out),
        "--budget",
        str(budget),
        "--project",
        str(project),
        "--endpoint",
        ENDPOINT,
        "--model",
        "Goedel-LM/Goedel-Prover-V2-8B",
        "--quiet",
        "--report",
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT)]),
        "LEAN_SIDECAR_API_KEY": API_KEY,
    }
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr
    return done.stdout, out.with_suffix(".html").read_text(encoding="utf-8")


def printed_figures(stdout: str) -> dict[str, str]:
    """The summary's `label: value` lines (a value's further lines are indented)."""
    figures: dict[str, str] = {}
    last = None
    for line in stdout.splitlines()[1:]:
        if line.startswith("cascade, per tactic") or line.startswith("report: "):
            break
        if line.startswith("  ") and last is not None:
            figures[last] += "\n" + line[2:]
            continue
        last, _, value = line.partition(": ")
        figures[last] = value
    return figures


def report_figures(doc: str) -> dict[str, str]:
    table = re.search(r'<table class="numbers" id="figures">(.*?)</table>', doc, re.S)
    assert table is not None
    return {
        html.unescape(k): html.unescape(v.replace("<br>", "\n"))
        for k, v in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", table.group(1), re.S)
    }


def test_the_report_and_the_printed_summary_show_the_same_figures_and_the_runs_metadata(
    tmp_path: Path,
) -> None:
    bench, out = synthetic_run(tmp_path, 60, 32, 0.05, 600.0, seed=7)
    stdout, doc = report_through_the_cli(tmp_path, bench, out, 32)
    printed, shown = printed_figures(stdout), report_figures(doc)
    assert printed == shown
    for label in ("Lean seconds", "GPU seconds", "tokens generated", "model samples"):
        assert label in printed
    lines = stdout.splitlines()
    cascade = lines[lines.index("cascade, per tactic (goals closed / tried, seconds):") + 1 :]
    cascade = [line[2:] for line in cascade if line.startswith("  ")]
    shown_cascade = re.search(r'<pre id="cascade">(.*?)</pre>', doc, re.S)
    assert shown_cascade is not None and len(cascade) == 2
    assert html.unescape(shown_cascade.group(1)).splitlines() == cascade
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    lean = summary["lean_seconds"]
    assert printed["Lean seconds"].startswith(f"{lean:.0f} s" if lean >= 100 else f"{lean:.3g} s")
    headline = stdout.splitlines()[0]
    assert headline.startswith("solved ") and headline.endswith(", of which 1 defective statement")
    assert f"<b>S{html.escape(headline[1:])}</b>" in doc
    # the run's metadata, never a secret
    for secret in SECRETS:
        assert secret not in doc and secret not in out.with_suffix(".summary.json").read_text()
    run = summary["run"]
    assert run["endpoints"] == ["http://127.0.0.1:9/v1"]
    assert run["model"] == "Goedel-LM/Goedel-Prover-V2-8B"
    assert run["stages"] == ["cascade", "samples", "fix", "decompose"]
    assert run["budget_samples"] == 32
    assert run["toolchain"] == "leanprover/lean4:v4.24.0" and run["lean_version"] == "4.24.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", run["started"])
    if (ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", run["sidecar_commit"] or "")
    for shown_value in ("Goedel-LM/Goedel-Prover-V2-8B", "http://127.0.0.1:9/v1", "4.24.0"):
        assert f"<td>{html.escape(shown_value)}</td>" in doc


def render(pages: list[tuple[Path, Path]]) -> list[dict]:
    """Each report as Chromium shows it (tests/browser/render_report.js), screenshotted."""
    out = []
    for report, shot in pages:
        env = {
            **os.environ,
            "REPORT": str(report),
            "SHOT": str(shot),
            "CHROMIUM": CHROMIUM or "",
            "NODE_PATH": str(EXT / "node_modules"),
        }
        done = subprocess.run(
            [NODE or "node", str(ROOT / "tests" / "browser" / "render_report.js")],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def ticks(chart: dict, axis: str) -> list[str]:
    return [t["text"] for t in chart[f"{axis}ticks"]]


@needs_browser
def test_the_report_in_chromium_has_value_axes_readable_ticks_and_a_log_budget_axis(
    tmp_path: Path,
) -> None:
    # a benchmark-sized run (first proofs from 0.05 s to 10 min: log bins), and a small fast
    # one (all under 0.03 s: the old hand-drawn histogram labelled every tick "0.0")
    big, small = tmp_path / "big", tmp_path / "small"
    big.mkdir()
    small.mkdir()
    bench, out = synthetic_run(big, 244, 32, 0.05, 600.0, seed=11)
    report_through_the_cli(big, bench, out, 32)
    bench_s, out_s = synthetic_run(small, 20, 4, 0.004, 0.03, seed=3)
    report_through_the_cli(small, bench_s, out_s, 4)
    SHOTS.mkdir(exist_ok=True)
    seen = render(
        [
            (out.with_suffix(".html"), SHOTS / "eval-report.png"),
            (out_s.with_suffix(".html"), SHOTS / "eval-report-small.png"),
        ]
    )
    for page, budget_ticks in zip(
        seen, (["1", "2", "4", "8", "16", "32"], ["1", "2", "4"]), strict=True
    ):
        assert page["errors"] == []
        assert page["headline"].startswith("Solved ")
        assert page["scrollWidth"] <= 1300, "the page scrolls sideways"
        charts = {c["id"]: c for c in page["charts"]}
        assert list(charts) == ["chart-pass-at-k", "chart-latency", "chart-stages"]
        assert all(c["svgs"] == 1 and c["box"]["width"] > 300 for c in charts.values())
        for c in charts.values():  # every tick label is drawn (has a width on the page)
            assert all(t["width"] > 0 for t in c["xticks"] + c["yticks"])
        passk = charts["chart-pass-at-k"]
        assert ticks(passk, "x") == budget_ticks  # log2-spaced k, not evenly spaced indices
        assert ticks(passk, "y") == ["0%", "20%", "40%", "60%", "80%", "100%"]
        assert any("log scale" in t for t in passk["texts"])
        assert any(t.startswith("k = 0, the symbolic cascade alone") for t in passk["texts"])
        latency = charts["chart-latency"]
        xs = ticks(latency, "x")
        assert len(xs) >= 3 and len(set(xs)) == len(xs), xs  # distinct: not all "0.0"
        assert all(float(x) >= 0 for x in xs)
        assert all(y.isdigit() for y in ticks(latency, "y")), ticks(latency, "y")
        assert any(t.startswith("p50 ") for t in latency["texts"])
        stages = charts["chart-stages"]
        assert [t.split("\n")[0] for t in ticks(stages, "x")] != []
        assert not any("unsolved" in t for t in stages["texts"])
        assert all(y.isdigit() for y in ticks(stages, "y"))
        assert page["run"]["model"] == "Goedel-LM/Goedel-Prover-V2-8B"
        assert page["run"]["endpoints"] == "http://127.0.0.1:9/v1"
    big_latency = {c["id"]: c for c in seen[0]["charts"]}["chart-latency"]
    assert {"0.1", "1", "10", "100"} <= set(ticks(big_latency, "x"))  # log bins, 4 per decade
    small_latency = {c["id"]: c for c in seen[1]["charts"]}["chart-latency"]
    assert max(float(x) for x in ticks(small_latency, "x")) <= 0.05
    big_stages = {c["id"]: c for c in seen[0]["charts"]}["chart-stages"]
    assert {"tactic", "model", "sketch"} <= {t.split()[0] for t in ticks(big_stages, "x")}
    for shot in ("eval-report.png", "eval-report-small.png"):
        assert (SHOTS / shot).stat().st_size > 20_000
