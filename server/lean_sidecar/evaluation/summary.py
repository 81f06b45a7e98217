"""The numbers of an evaluation run, from its results JSONL."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from lean_sidecar.evaluation.rows import ResultRow, Summary, TacticTotals


def read_results(path: Path) -> list[ResultRow]:
    """Completed results; a line cut short by a killed run is ignored (it is redone)."""
    if not path.exists():
        return []
    out: list[ResultRow] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "name" in row and "status" in row:
            out.append(cast(ResultRow, row))  # a row the runner wrote
    return out


def repair_tail(path: Path) -> None:
    """Drop a last line that a killed run left unfinished, so that appending starts clean."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


def budgets(max_samples: int) -> list[int]:
    out, k = [0], 1
    while k <= max_samples:
        out.append(k)
        k *= 2
    if out[-1] != max_samples and max_samples > 0:
        out.append(max_samples)
    return out


def summarize(
    rows: list[ResultRow], budget: int, defects: Mapping[str, str] | None = None
) -> Summary:
    """The run's numbers; ``defects`` (name → reason, evaluation.defects) flags statements
    known to be defective among the rows' problems."""
    defects = defects or {}
    n = len(rows)
    solved = [r for r in rows if r["status"] == "solved"]
    firsts = [float(t) for r in solved if (t := r.get("time_to_first")) is not None]
    by_how: dict[str, int] = {}
    for r in solved:
        by_how[r.get("how") or "?"] = by_how.get(r.get("how") or "?", 0) + 1
    pass_at = {
        str(k): (sum(1 for r in solved if _samples_at_first(r) <= k) / n if n else 0.0)
        for k in budgets(budget)
    }
    return {
        "problems": n,
        "solved": len(solved),
        "solved_pct": 100.0 * len(solved) / n if n else 0.0,
        "pass_at_samples": pass_at,
        "time_to_first_p50": _percentile(firsts, 0.5),
        "time_to_first_p95": _percentile(firsts, 0.95),
        "tokens": sum(int(r.get("tokens", 0)) for r in rows),
        "lean_seconds": round(sum(float(r.get("lean_seconds", 0.0)) for r in rows), 3),
        "gpu_seconds": round(sum(float(r.get("gpu_seconds", 0.0)) for r in rows), 3),
        "samples": sum(int(r.get("samples", 0)) for r in rows),
        "by_stage": by_how,
        "errors": sum(1 for r in rows if r["status"] == "error"),
        "refuted": sum(1 for r in rows if r["status"] == "refuted"),
        "by_tactic": by_tactic(rows),
        "defective": {r["name"]: defects[r["name"]] for r in rows if r["name"] in defects},
        "solved_defective": [r["name"] for r in solved if r["name"] in defects],
    }


def _samples_at_first(row: ResultRow) -> int:
    """A solved row's samples when its first proof was found (always set on a solved row;
    ``int()`` raises on a row that has None there, as it did)."""
    return int(cast(int, row.get("samples_at_first", 0)))


def by_tactic(rows: list[ResultRow]) -> dict[str, TacticTotals]:
    """Per cascade tactic over the run: goals it was tried on, goals it closed, its seconds
    (a tactic cancelled because another closed the goal first counts as tried, not closed).
    Ordered by goals closed, then by seconds: the order a user might give ``tactics``."""
    table: dict[str, TacticTotals] = {}
    for r in rows:
        for tactic, st in (r.get("tactics") or {}).items():
            row = table.setdefault(tactic, {"tried": 0, "closed": 0, "seconds": 0.0})
            row["tried"] += 1
            row["closed"] += int(st.get("closed", 0))
            row["seconds"] = round(row["seconds"] + float(st.get("seconds", 0.0)), 3)
    order = sorted(table, key=lambda t: (-table[t]["closed"], table[t]["seconds"]))
    return {t: table[t] for t in order}


def seconds(v: float | None) -> str:
    """A duration as every figure of a run shows it (the summary, the report, its charts):
    three significant digits below 100 s (0.013 s, 2.5 s, 12.3 s), whole seconds above, and
    hours beside from an hour up."""
    if v is None:
        return "-"
    text = f"{v:.3g} s" if v < 100 else f"{v:.0f} s"
    return f"{text} ({v / 3600:.1f} h)" if v >= 3600 else text


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100.0 * part / whole if whole else 0.0:.1f}%)"


def figures(s: Summary) -> list[tuple[str, str]]:
    """The run's figures as (label, text): the one place both the printed summary and the
    HTML report take them from, so that they say the same. The first is the headline; a text
    may have several lines."""
    solved_defective = len(s.get("solved_defective", []))
    defective = s.get("defective", {})
    headline = f"{s['solved']}/{s['problems']} ({s['solved_pct']:.1f}%)"
    if solved_defective:
        plural = "s" if solved_defective > 1 else ""
        headline += f", of which {solved_defective} defective statement{plural}"
    out = [("solved", headline)]
    if defective:
        out.append(
            (
                "solved, without the defective statements",
                _pct(s["solved"] - solved_defective, s["problems"] - len(defective)),
            )
        )
    out += [
        (
            "pass@k by samples spent",
            "  ".join(f"k={k}: {100 * v:.1f}%" for k, v in s["pass_at_samples"].items()),
        ),
        (
            "time to first verified proof",
            f"p50 {seconds(s['time_to_first_p50'])}, p95 {seconds(s['time_to_first_p95'])}",
        ),
        ("model samples", str(s["samples"])),
        ("tokens generated", str(s["tokens"])),
        ("Lean seconds", seconds(s["lean_seconds"])),
        ("GPU seconds", seconds(s["gpu_seconds"])),
        (
            "found by",
            ", ".join(f"{k} {v}" for k, v in sorted(s["by_stage"].items())) or "-",
        ),
    ]
    if s.get("refuted"):
        out.append(("refuted", f"{s['refuted']} statement(s) proved false by the cascade"))
    if s["errors"]:
        out.append(("errors", f"{s['errors']} problem(s) (see the results file)"))
    if defective:
        solved = set(s.get("solved_defective", []))
        out.append(
            (
                "known defective statements",
                "\n".join(
                    f"{name} ({'solved' if name in solved else 'not solved'}): {why}"
                    for name, why in defective.items()
                ),
            )
        )
    return out


CASCADE_TITLE = "cascade, per tactic (goals closed / tried, seconds):"


def cascade_table(s: Summary) -> list[str]:
    """Per cascade tactic, goals closed / tried and seconds, one line each (printed and
    reported alike)."""
    return [
        f"{t:<16} {v['closed']:4d} / {v['tried']:<4d} {v['seconds']:9.2f} s"
        for t, v in s.get("by_tactic", {}).items()
    ]


def format_summary(s: Summary) -> str:
    (_, headline), *rest = figures(s)
    lines = [f"solved {headline}"]
    lines += [f"{label}: {text}".replace("\n", "\n  ") for label, text in rest]
    if s.get("by_tactic"):
        lines.append(CASCADE_TITLE)
        lines += [f"  {line}" for line in cascade_table(s)]
    return "\n".join(lines)
