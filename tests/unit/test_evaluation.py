"""The pieces of `lean-sidecar eval` under its command line: known defective statements (by
name and by shape), the histogram's bins, how durations are written, benchmarks as folders of
.lean files, the sidecar's commit, and the `eval` extra that the install hint names."""

from __future__ import annotations

import subprocess
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_sidecar.eval_cli import MATPLOTLIB
from lean_sidecar.evaluation.defects import KNOWN_DEFECTS, defect_of, defects_in
from lean_sidecar.evaluation.problems import Problem, data_dir, lean_folder, load
from lean_sidecar.evaluation.report import bin_edges
from lean_sidecar.evaluation.rows import ResultRow
from lean_sidecar.evaluation.run_info import git_commit
from lean_sidecar.evaluation.summary import figures, format_summary, seconds, summarize

ROOT = Path(__file__).resolve().parents[2]
DATA = data_dir()


def problem(name: str, statement: str) -> Problem:
    return Problem(name, "import Mathlib\n", statement)


def test_a_defect_is_flagged_only_while_the_statement_still_has_it() -> None:
    escaped = "theorem amc12a_2021_p9 : (∏ k in Finset.range 7, 2 ^ 2 ^ k + 3 ^ 2 ^ k) = 3 ^ 128 - 2 ^ 128 := by\n"
    fixed = "theorem amc12a_2021_p9 :\n  ∏ k ∈ Finset.range 7, (2^(2^k) + 3^(2^k)) = 3^128 - 2^128 := by\n"
    assert defect_of(problem("amc12a_2021_p9", escaped)) is KNOWN_DEFECTS["amc12a_2021_p9"]
    assert defect_of(problem("amc12a_2021_p9", fixed)) is None
    over_n = "theorem mathd_algebra_314 (n : ℕ) (h₀ : n = 11) : (1 / 4) ^ (n + 1) * 2 ^ (2 * n) = 1 / 4 := by\n"
    over_q = "theorem mathd_algebra_314 (n : ℕ) (h₀ : n = 11) : (1 / 4 : ℚ) ^ (n + 1) * 2 ^ (2 * n) = 1 / 4 := by\n"
    assert defect_of(problem("mathd_algebra_314", over_n)) is not None
    assert defect_of(problem("mathd_algebra_314", over_q)) is None
    assert defect_of(problem("synthetic", escaped)) is None  # only the known names


@pytest.mark.skipif(DATA is None, reason="needs shared/data")
def test_the_shipped_copies_of_minif2f_have_the_defects_the_sources_report() -> None:
    ds = defects_in(load("minif2f-ds-test"))  # DeepSeek-Prover-V1.5's datasets/minif2f.jsonl
    assert set(ds) == set(KNOWN_DEFECTS)
    assert set(defects_in(load("minif2f-test"))) == {"mathd_algebra_314"}  # miniF2F-lean4
    assert defects_in(load("minif2f-valid")) == {} and defects_in(load("proofnet-test")) == {}


@pytest.mark.skipif(
    DATA is None or not (DATA / "minif2f-lean4-v4.24" / "Test").is_dir(), reason="needs shared/data"
)
def test_a_folder_of_lean_files_loads_as_its_derived_jsonl() -> None:
    assert DATA is not None
    folder = lean_folder(DATA / "minif2f-lean4-v4.24" / "Test")
    jsonl = sorted(load("minif2f-test"), key=lambda p: p.name)
    assert folder == jsonl and len(folder) == 244


def test_defective_statements_in_the_summary_and_its_figures() -> None:
    rows: list[ResultRow] = [
        {"name": "a", "status": "solved", "how": "tactic", "samples_at_first": 0, "samples": 0},
        {"name": "b", "status": "solved", "how": "model", "samples_at_first": 2, "samples": 2},
        {"name": "c", "status": "unsolved", "samples": 4},
        {"name": "d", "status": "unsolved", "samples": 4},
    ]
    s = summarize(rows, 4, {"a": "vacuous", "d": "trivial"})
    assert s["defective"] == {"a": "vacuous", "d": "trivial"} and s["solved_defective"] == ["a"]
    table = dict(figures(s))
    assert table["solved"] == "2/4 (50.0%), of which 1 defective statement"
    assert table["solved, without the defective statements"] == "1/2 (50.0%)"
    assert table["known defective statements"] == "a (solved): vacuous\nd (not solved): trivial"
    printed = format_summary(s)
    assert printed.startswith("solved 2/4 (50.0%), of which 1 defective statement\n")
    assert "known defective statements: a (solved): vacuous\n  d (not solved): trivial" in printed


def test_durations_are_written_one_way() -> None:
    assert [seconds(v) for v in (None, 0.0, 0.0098, 0.013, 2.5, 12.345, 99.4, 2487.2)] == [
        "-",
        "0 s",
        "0.0098 s",
        "0.013 s",
        "2.5 s",
        "12.3 s",
        "99.4 s",
        "2487 s",
    ]
    assert seconds(5126.0) == "5126 s (1.4 h)"


@given(
    st.lists(
        st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=300,
    )
)
def test_histogram_bins_cover_every_value_at_equal_widths(values: list[float]) -> None:
    edges, log = bin_edges(values)
    assert edges == sorted(edges) and len(edges) >= 2
    assert max(values) <= edges[-1]
    if log:  # from a microsecond up; below, in the first bin
        assert edges[0] <= min(v for v in values if v >= 1e-6)
        ratios = [b / a for a, b in pairwise(edges)]
        assert max(ratios) == pytest.approx(min(ratios))
    else:
        assert edges[0] == 0 <= min(values)
        widths = [b - a for a, b in pairwise(edges)]
        assert max(widths) == pytest.approx(min(widths))
        assert len(widths) <= 41


def test_the_commit_is_the_checkouts_own_and_none_elsewhere(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None  # not a checkout
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    inside = tmp_path / "venv" / "site-packages" / "lean_sidecar"
    inside.mkdir(parents=True)
    assert git_commit(inside) is None  # installed into a venv that sits in some checkout
    if (ROOT / ".git").exists():
        commit = git_commit(ROOT / "server" / "lean_sidecar")
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert commit is not None and commit.split("+")[0] == head


def test_the_install_hint_names_the_eval_extra_that_dev_installs() -> None:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = config["project"]["optional-dependencies"]
    assert extras["eval"] == [MATPLOTLIB]
    assert "lean-sidecar[eval]" in extras["dev"]
    assert not any("matplotlib" in d for d in config["project"]["dependencies"])
