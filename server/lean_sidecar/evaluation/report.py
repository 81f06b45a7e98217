"""An HTML report with inline SVG charts (no plotting library needed): the solved-vs-budget
curve, the latency histogram, and what each stage contributed."""

from __future__ import annotations

import html
from pathlib import Path

from lean_sidecar.evaluation.rows import ResultRow, Summary

W, H, PAD = 520, 260, 44


def _axes(title: str, xlabel: str, ylabel: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="{W / 2}" y="16" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" stroke="#333"/>',
        f'<line x1="{PAD}" y1="30" x2="{PAD}" y2="{H - PAD}" stroke="#333"/>',
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle" font-size="12">{html.escape(xlabel)}</text>',
        f'<text x="12" y="{H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 12 {H / 2})">'
        f"{html.escape(ylabel)}</text>",
    ]


def curve(pass_at: dict[str, float]) -> str:
    ks = list(pass_at)
    parts = _axes("Solved vs budget", "model samples spent (k)", "% solved")
    if not ks:
        return "".join(parts) + "</svg>"
    xs = [PAD + i * (W - PAD - 20) / max(1, len(ks) - 1) for i in range(len(ks))]
    ys = [H - PAD - pass_at[k] * (H - PAD - 40) for k in ks]
    parts.append(
        '<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        + '"/>'
    )
    for x, y, k in zip(xs, ys, ks, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{H - PAD + 14}" text-anchor="middle" font-size="10">{k}</text>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle" font-size="10">'
            f"{100 * pass_at[k]:.0f}%</text>"
        )
    return "".join(parts) + "</svg>"


def histogram(values: list[float], bins: int = 10) -> str:
    parts = _axes("Time to first verified proof", "seconds", "holes")
    if values:
        top = max(values) or 1.0
        counts = [0] * bins
        for v in values:
            counts[min(bins - 1, int(v / top * bins))] += 1
        peak = max(counts) or 1
        bw = (W - PAD - 20) / bins
        for i, c in enumerate(counts):
            h = c / peak * (H - PAD - 40)
            parts.append(
                f'<rect x="{PAD + i * bw + 1:.1f}" y="{H - PAD - h:.1f}" width="{bw - 2:.1f}" '
                f'height="{h:.1f}" fill="#ff7f0e"><title>{c}</title></rect>'
            )
            parts.append(
                f'<text x="{PAD + i * bw + bw / 2:.1f}" y="{H - PAD + 14}" text-anchor="middle" '
                f'font-size="9">{top * i / bins:.1f}</text>'
            )
    return "".join(parts) + "</svg>"


def stages(by_stage: dict[str, int], unsolved: int) -> str:
    items = [*sorted(by_stage.items()), ("unsolved", unsolved)]
    parts = _axes("What each stage contributed", "stage", "holes")
    peak = max([v for _, v in items] + [1])
    bw = (W - PAD - 20) / max(1, len(items))
    colors = {
        "tactic": "#2ca02c",
        "model": "#1f77b4",
        "sketch": "#9467bd",
        "cache": "#8c564b",
        "unsolved": "#d62728",
    }
    for i, (name, v) in enumerate(items):
        h = v / peak * (H - PAD - 40)
        parts.append(
            f'<rect x="{PAD + i * bw + 8:.1f}" y="{H - PAD - h:.1f}" width="{bw - 16:.1f}" '
            f'height="{h:.1f}" fill="{colors.get(name, "#7f7f7f")}"/>'
        )
        parts.append(
            f'<text x="{PAD + i * bw + bw / 2:.1f}" y="{H - PAD + 14}" text-anchor="middle" '
            f'font-size="11">{html.escape(name)} ({v})</text>'
        )
    return "".join(parts) + "</svg>"


def write_report(path: Path, summary: Summary, rows: list[ResultRow], title: str) -> None:
    firsts = [
        float(t)
        for r in rows
        if r["status"] == "solved" and (t := r.get("time_to_first")) is not None
    ]
    table = "".join(
        f"<tr><td>{html.escape(r['name'])}</td><td>{html.escape(r['status'])}</td>"
        f"<td>{html.escape(str(r.get('how') or '-'))}</td><td>{r.get('samples', 0)}</td>"
        f"<td>{float(r.get('seconds', 0)):.2f}</td><td><code>{html.escape((r.get('proof') or '').splitlines()[0] if r.get('proof') else '')}</code></td></tr>"
        for r in rows
    )
    s = summary
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}} td,th{{padding:2px 8px;text-align:left}}
.charts svg{{margin:8px;border:1px solid #ddd}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p><b>Solved {s["solved"]}/{s["problems"]} ({s["solved_pct"]:.1f}%)</b> — time to first verified proof p50
{s["time_to_first_p50"] if s["time_to_first_p50"] is not None else "-"} s, p95
{s["time_to_first_p95"] if s["time_to_first_p95"] is not None else "-"} s; samples {s["samples"]};
tokens {s["tokens"]}; Lean {s["lean_seconds"]} s; GPU {s["gpu_seconds"]} s.</p>
<div class="charts">{curve(s["pass_at_samples"])}{histogram(firsts)}{stages(s["by_stage"], s["problems"] - s["solved"])}</div>
<h2>Problems</h2><table><tr><th>name</th><th>status</th><th>found by</th><th>samples</th><th>seconds</th><th>proof</th></tr>
{table}</table></body></html>
"""
    path.write_text(doc, encoding="utf-8")
