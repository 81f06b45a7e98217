"""The HTML report of a run, for the researchers who read it: the run's metadata, its figures
(the same text the command line prints: summary.figures), three charts drawn with matplotlib
and embedded as SVG (text kept as text, so it can be searched and copied), the known defective
statements, and one row per problem.

Charts: pass@k by model samples spent (log-scaled budget axis; k = 0, the symbolic cascade
alone, as a reference line), the time to the first verified proof (a histogram on bins of
equal width, logarithmic when the times span more than two decades), and what found the
first proof of each solved problem (stages only; the unsolved are counted in the title).

Needs matplotlib (the ``eval`` extra: ``pip install -e '.[eval]'`` in the checkout); eval_cli
checks before importing this.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)

from lean_sidecar.evaluation.defects import SOURCE as DEFECTS_SOURCE
from lean_sidecar.evaluation.rows import ResultRow, RunInfo, Summary
from lean_sidecar.evaluation.summary import CASCADE_TITLE, cascade_table, figures, seconds

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

BLUE, ORANGE, GREY = "#1f77b4", "#ff7f0e", "#7f7f7f"
# Pipeline order; a stage the report does not know goes after these.
STAGES = {
    "cache": ("proof cache", "#8c564b"),
    "tactic": ("symbolic cascade", "#2ca02c"),
    "model": ("model samples\n(and error fixes)", "#1f77b4"),
    "sketch": ("decomposition\n(sketches)", "#9467bd"),
}
STYLE: dict[RcKeyType, object] = {
    "svg.fonttype": "none",  # text stays <text>: searchable, and sharp at any zoom
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _num(v: float) -> str:
    """A tick label: as few digits as the value needs (0.005, 2.5, 120), never 0.0 for 0.004."""
    return f"{v:.6g}"


def _svg(fig: Figure, salt: str) -> str:
    """The figure as an inline <svg> element (no XML prolog); ``salt`` keeps element ids
    distinct between the charts of one page."""
    buf = io.StringIO()
    salted: dict[RcKeyType, object] = {**STYLE, "svg.hashsalt": salt}
    with matplotlib.rc_context(salted):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # matplotlib names groups xtick_1, … in every figure: prefix every id (and each reference
    # to one) so that the ids stay unique in a page of several charts.
    for before in ('id="', "url(#", 'href="#'):
        text = text.replace(before, f"{before}{salt}-")
    return text


def _figure() -> tuple[Figure, Axes]:
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.4, 3.8), layout="constrained")
        ax = fig.add_subplot()
    ax.grid(True, axis="y", alpha=0.3)
    return fig, ax


def _empty(ax: Axes, why: str) -> None:
    ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", color=GREY)


def _legend(fig: Figure, ax: Axes) -> None:
    """The legend below the chart, where it hides no line or bar."""
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)


def pass_at_chart(pass_at: dict[str, float]) -> str:
    """Problems solved (%) against model samples spent, on a log2 budget axis."""
    with matplotlib.rc_context(STYLE):
        fig, ax = _figure()
        points = sorted((int(k), 100.0 * v) for k, v in pass_at.items())
        cascade = next((v for k, v in points if k == 0), None)
        sampled = [(k, v) for k, v in points if k > 0]
        if sampled:
            ks = [k for k, _ in sampled]
            ax.plot(ks, [v for _, v in sampled], marker="o", color=BLUE, label="pass@k")
            for k, v in sampled:
                ax.annotate(
                    f"{v:.1f}%",
                    (k, v),
                    textcoords="offset points",
                    xytext=(0, 7),
                    ha="center",
                    fontsize=8,
                )
            ax.set_xscale("log", base=2)
            ax.set_xlim(ks[0] / 1.5, ks[-1] * 1.5)
            ax.xaxis.set_major_locator(FixedLocator(ks))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.grid(True, axis="x", alpha=0.3)
        else:
            ax.set_xticks([])
            _empty(ax, "no model samples in this run (budget 0)")
        if cascade is not None:
            ax.axhline(
                cascade,
                color=GREY,
                linestyle="--",
                label=f"k = 0, the symbolic cascade alone: {cascade:.1f}%",
            )
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_locator(FixedLocator([0, 20, 40, 60, 80, 100]))
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_xlabel("model samples spent, k (log scale)")
        ax.set_ylabel("problems solved")
        ax.set_title("Solved within k model samples (pass@k by samples spent)")
        _legend(fig, ax)
        return _svg(fig, "pass-at-k")


def bin_edges(values: Sequence[float]) -> tuple[list[float], bool]:
    """Histogram bins of equal width at round numbers that cover every value; of equal width
    on a log scale (four per decade) when the values span more than two decades, covering
    every value from a microsecond up (smaller ones belong in the first bin). The flag says
    which."""
    hi = max(values)
    positive = [v for v in values if v >= 1e-6]
    lo = min(positive) if positive else 0.0
    if positive and hi / lo > 100:
        start, stop = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        start -= 10**start > lo  # log10 may round a value just off a power of ten onto it
        stop += 10**stop < hi
        return [10 ** (start + i / 4) for i in range(4 * (stop - start) + 1)], True
    if hi <= 0:
        return [0.0, 1.0], False
    wanted = min(40, max(8, 2 * math.ceil(math.sqrt(len(values)))))  # at most, at round steps
    edges = [
        float(e) for e in MaxNLocator(nbins=wanted, steps=[1, 2, 2.5, 5, 10]).tick_values(0, hi)
    ]
    edges = [e for e in edges if e >= 0]
    while edges[-1] < hi:  # tick_values may stop short of the top value
        edges.append(edges[-1] + (edges[1] - edges[0]))
    return edges, False


def latency_chart(values: list[float], p50: float | None, p95: float | None) -> str:
    """How many solved problems got their first verified proof after how long."""
    with matplotlib.rc_context(STYLE):
        fig, ax = _figure()
        if values:
            edges, log = bin_edges(values)
            under = sum(1 for v in values if v < edges[0])
            shown = [max(v, edges[0]) for v in values]  # what a log axis cannot place: bin 1
            ax.hist(shown, bins=edges, color=ORANGE, edgecolor="white", linewidth=0.8)
            if log:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(base=10))
                ax.xaxis.set_minor_locator(NullLocator())
            else:
                ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _num(v)))
            ax.set_xlim(edges[0], edges[-1])
            for q, v, style in (("p50", p50, "-"), ("p95", p95, ":")):
                if v is not None:
                    ax.axvline(v, color="#333333", linestyle=style, label=f"{q} {seconds(v)}")
            _legend(fig, ax)
            scale = (
                "log scale, 4 bins per decade" if log else f"bins of {_num(edges[1] - edges[0])} s"
            )
            if under:
                scale += f"; {under} under {_num(edges[0])} s in the first"
            ax.set_xlabel(f"seconds to the first verified proof ({scale})")
        else:
            ax.set_xticks([])
            _empty(ax, "no problem solved")
            ax.set_xlabel("seconds to the first verified proof")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        ax.set_ylabel("problems")
        ax.set_title(f"Time to the first verified proof ({len(values)} solved)")
        return _svg(fig, "latency")


def stages_chart(by_stage: dict[str, int], problems: int) -> str:
    """Solved problems by the stage that found their first proof."""
    with matplotlib.rc_context(STYLE):
        fig, ax = _figure()
        names = [s for s in STAGES if s in by_stage] + sorted(set(by_stage) - set(STAGES))
        solved = sum(by_stage.values())
        if names:
            labels = [f"{n}\n{STAGES[n][0]}" if n in STAGES else n for n in names]
            counts = [by_stage[n] for n in names]
            bars = ax.bar(
                labels, counts, color=[STAGES.get(n, ("", GREY))[1] for n in names], width=0.6
            )
            ax.bar_label(
                bars,
                labels=[
                    f"{c} ({100.0 * c / problems:.1f}%)" if problems else str(c) for c in counts
                ],
                padding=2,
                fontsize=8,
            )
            ax.set_ylim(0, max(counts) * 1.18)
            ax.tick_params(axis="x", labelsize=8)
        else:
            ax.set_xticks([])
            ax.set_ylim(0, 1)
            _empty(ax, "no problem solved")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("problems solved")
        ax.set_title(
            f"What found the first proof ({solved} of {problems} solved, {problems - solved} not)"
        )
        return _svg(fig, "stages")


_RUN_LABELS = {
    "benchmark": "benchmark",
    "split": "split",
    "limit": "limit",
    "model": "model",
    "served_model": "model served by the endpoint",
    "model_family": "prompt family",
    "endpoints": "endpoints",
    "stages": "stages",
    "budget_samples": "budget: model samples per problem",
    "budget_seconds": "budget: seconds per problem",
    "concurrency": "problems searched at once",
    "tactics": "cascade tactics",
    "toolchain": "Lean toolchain",
    "lean_version": "Lean version",
    "started": "started (UTC)",
    "finished": "finished (UTC)",
    "resumed": "rows from earlier runs (resumed)",
    "sidecar_version": "lean-sidecar version",
    "sidecar_commit": "lean-sidecar commit",
    "python": "Python",
    "matplotlib": "matplotlib",
}


def _value(v: object) -> str:
    if v is None or v == []:
        return "-"
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return str(v)


def run_table(info: RunInfo) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(_value(info.get(key)))}</td></tr>"
        for key, label in _RUN_LABELS.items()
        if key in info
    )
    return f'<table class="meta" id="run">{rows}</table>'


def _cell(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def write_report(
    path: Path,
    summary: Summary,
    rows: list[ResultRow],
    title: str,
    info: RunInfo | None = None,
    notes: Sequence[str] = (),
) -> None:
    firsts = [
        float(t)
        for r in rows
        if r["status"] == "solved" and (t := r.get("time_to_first")) is not None
    ]
    s = summary
    (_, headline), *rest = figures(s)
    numbers = "".join(f"<tr><th>{_cell(k)}</th><td>{_cell(v)}</td></tr>" for k, v in rest)
    defective = s.get("defective", {})
    solved_defective = set(s.get("solved_defective", []))
    defects = ""
    if defective:
        items = "".join(
            f"<li><code>{html.escape(name)}</code> "
            f"({'solved' if name in solved_defective else 'not solved'}): {html.escape(why)}</li>"
            for name, why in defective.items()
        )
        defects = (
            '<h2 id="defective">Known defective statements</h2>'
            "<p>Searched and counted like the others; a proof of one says little about the "
            f'prover. Source: <a href="{DEFECTS_SOURCE}">{html.escape(DEFECTS_SOURCE)}</a>.</p>'
            f"<ul>{items}</ul>"
        )
    table = "".join(
        f"<tr{' class=defective' if r['name'] in defective else ''}>"
        f"<td>{html.escape(r['name'])}"
        + (
            f' <span class="flag" title="{html.escape(defective[r["name"]])}">defective</span>'
            if r["name"] in defective
            else ""
        )
        + f"</td><td>{html.escape(r['status'])}</td>"
        f"<td>{html.escape(str(r.get('how') or '-'))}</td><td>{r.get('samples', 0)}</td>"
        f"<td>{float(r.get('seconds', 0)):.2f}</td>"
        f"<td><code>{html.escape((r.get('proof') or '').splitlines()[0] if r.get('proof') else '')}</code></td></tr>"
        for r in rows
    )
    charts = (
        pass_at_chart(s["pass_at_samples"]),
        latency_chart(firsts, s["time_to_first_p50"], s["time_to_first_p95"]),
        stages_chart(s["by_stage"], s["problems"]),
    )
    cascade = cascade_table(s)
    cascade_html = (
        f"<h2>Cascade</h2><p>{html.escape(CASCADE_TITLE.capitalize().rstrip(':'))}</p>"
        f'<pre id="cascade">{html.escape(chr(10).join(cascade))}</pre>'
        if cascade
        else ""
    )
    notes_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}}
td,th{{padding:2px 8px;text-align:left;vertical-align:top}} table.meta th,table.numbers th{{font-weight:normal;color:#555}}
.charts{{display:flex;flex-wrap:wrap;gap:12px}} .chart{{margin:0;border:1px solid #ddd;flex:1 1 560px;max-width:640px}}
.chart svg{{width:100%;height:auto;display:block}} .headline{{font-size:1.3em}}
.flag{{background:#fdd;color:#900;border-radius:3px;padding:0 4px;font-size:.85em}} .note{{color:#900}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="headline"><b>Solved {html.escape(headline)}</b></p>
{notes_html}
<div class="columns"><table class="numbers" id="figures">{numbers}</table></div>
<h2>Charts</h2>
<div class="charts">{"".join(f'<figure class="chart" id="chart-{n}">{c}</figure>' for n, c in zip(("pass-at-k", "latency", "stages"), charts, strict=True))}</div>
{cascade_html}
<h2>Run</h2>
{run_table(info) if info is not None else "<p>no metadata recorded</p>"}
{defects}
<h2>Problems</h2><table><tr><th>name</th><th>status</th><th>found by</th><th>samples</th><th>seconds</th><th>proof</th></tr>
{table}</table></body></html>
"""
    path.write_text(doc, encoding="utf-8")
