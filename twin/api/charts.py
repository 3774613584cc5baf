"""Inline SVG drawn on the server: score-over-time charts with thresholds; the risk colours and
the bundled Natural Earth land outline the map (twin.api.geometry, static/map.js) uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from html import escape
from importlib.resources import files

from markupsafe import Markup

PALETTE = ("#2563eb", "#7c3aed", "#0891b2", "#65a30d", "#db2777", "#ea580c")


def risk_colour(score: float, warn: float = 0.5, critical: float = 0.8) -> str:
    """Green below half the warn level, through amber at warn, to red at critical and above."""
    if score >= critical:
        return "#dc2626"
    if score >= warn:
        return "#f59e0b"
    if score >= warn / 2:
        return "#a3a635"
    return "#16a34a"


def _spread(wanted: list[float], gap: float, low: float, high: float) -> list[float]:
    """Positions as close to `wanted` as possible, at least `gap` apart, within [low, high]
    (labels down a margin that must not overlap). Order is kept."""
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    placed = [0.0] * len(wanted)
    last = low - gap
    for i in order:
        placed[i] = max(wanted[i], last + gap)
        last = placed[i]
    overflow = last - high
    if overflow > 0:  # pushed past the bottom: shift the run up, keeping the gaps
        for i in order:
            placed[i] = max(low, placed[i] - overflow)
    return placed


def score_chart(
    series: Mapping[str, Sequence[tuple[datetime, float]]],
    *,
    thresholds: Mapping[str, float],
    focus: str | None = None,
    marks: Sequence[tuple[datetime, str]] = (),
    width: int = 760,
    height: int = 260,
    title: str = "",
) -> Markup:
    """Lines of score (0-1) against time, one per dimension, with the threshold levels dashed
    across and vertical marks (alert opened, decisions) labelled. The time axis spans the
    scores (and marks shortly after them: a decision taken later does not stretch it); labels
    down the right margin and along the top are spread so that none overlaps another."""
    left, right, top, bottom = 44, 118, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    score_times = [t for points in series.values() for t, _ in points]
    out = [
        (
            f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        )
    ]
    out.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>'
    )
    times = score_times or [t for t, _ in marks]
    if not times:
        out.append(
            f'<text x="{left + 10}" y="{top + 24}" fill="#666">no scores stored for this target</text></svg>'
        )
        return Markup("".join(out))
    t0, t1 = min(times), max(times)
    reach = max((t1 - t0) * 0.5, timedelta(days=1))
    marks = [(t, label) for t, label in marks if t0 <= t <= t1 + reach]
    t1 = max([t1, *(t for t, _ in marks)])
    span = max((t1 - t0).total_seconds(), 3600.0)

    def x(t: datetime) -> float:
        return left + plot_w * (t - t0).total_seconds() / span

    def y(v: float) -> float:
        return top + plot_h * (1.0 - max(0.0, min(1.0, v)))

    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#666">{v:g}</text>'
        )
    margin: list[tuple[float, str, str]] = []  # (y wanted, text, colour) down the right margin
    for name, level in thresholds.items():
        colour = "#dc2626" if name == "critical" else "#f59e0b" if name == "warn" else "#16a34a"
        out.append(
            f'<line class="threshold" data-threshold="{escape(name)}" x1="{left}" x2="{left + plot_w}" '
            f'y1="{y(level):.1f}" y2="{y(level):.1f}" stroke="{colour}" stroke-dasharray="6 4"/>'
        )
        margin.append((y(level) + 4, f"{name} {level:g}", colour))
    rows: list[list[tuple[float, float]]] = []  # x extents of the mark labels in each row
    for t, label in sorted(marks):
        mx = x(t)
        w = 6.0 * len(label) + 4
        x0, anchor = (mx + 3, "start") if mx + 3 + w <= left + plot_w else (mx - 3, "end")
        extent = (x0, x0 + w) if anchor == "start" else (x0 - w, x0)
        row = next(
            (
                k
                for k, taken in enumerate(rows)
                if all(extent[1] < a or extent[0] > b for a, b in taken)
            ),
            len(rows),
        )
        if row == len(rows):
            rows.append([])
        rows[row].append(extent)
        out.append(
            f'<line class="mark" x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#444" stroke-width="1"/>'
            f'<text x="{x0:.1f}" y="{top + 11 + 13 * row}" font-size="10" fill="#444" '
            f'text-anchor="{anchor}">{escape(label)}</text>'
        )
    for i, (name, points) in enumerate(sorted(series.items(), key=lambda kv: kv[0] == focus)):
        if not points:
            continue
        colour = PALETTE[i % len(PALETTE)] if name != focus else "#111"
        width_px = 2.5 if name == focus else 1.2
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        out.append(
            f'<polyline class="series" data-dimension="{escape(name)}" fill="none" stroke="{colour}" '
            f'stroke-width="{width_px}" points="{path}"/>'
        )
        margin.append((y(points[-1][1]) + 4, name, colour))
    placed = _spread([m[0] for m in margin], 14.0, top + 8, top + plot_h + 4)
    for (_, text, colour), ty in zip(margin, placed, strict=True):
        out.append(
            f'<text x="{left + plot_w + 4}" y="{ty:.1f}" font-size="11" fill="{colour}">'
            f"{escape(text)}</text>"
        )
    out.append(
        f'<text x="{left}" y="{height - 10}" font-size="11" fill="#666">{t0:%Y-%m-%d %H:%M}Z</text>'
    )
    out.append(
        f'<text x="{left + plot_w}" y="{height - 10}" font-size="11" text-anchor="end" fill="#666">'
        f"{t1:%Y-%m-%d %H:%M}Z</text></svg>"
    )
    return Markup("".join(out))


@lru_cache(maxsize=1)
def land_path() -> str:
    """The land outline as one SVG path in (lon + 180, 90 - lat) degrees (see docs/console.md)."""
    return " ".join(files("twin.api").joinpath("static/land.path").read_text().split("\n"))
