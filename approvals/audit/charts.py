"""Inline SVG charts for the evidence report: decisions per day and time to decision. Pure.

Plain SVG with presentation attributes (no script, no style attributes) so the report stays
static, prints, converts to PDF, and passes a strict Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

COLOURS: Mapping[str, str] = {
    "approved": "#2b7a3d",
    "auto_approved": "#7fb77e",
    "denied": "#b3261e",
    "blocked": "#6b1f1a",
    "expired": "#a86b00",
    "cancelled": "#8a94a6",
    "pending": "#c9ced6",
}
_W, _H, _LEFT, _BOTTOM, _TOP = 640, 220, 36, 46, 12


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if value <= step * 4:
            return step * 4
    return value


def _frame(title: str, top: int, parts: list[str]) -> str:
    plot_h = _H - _BOTTOM - _TOP
    grid = []
    for i in range(5):
        y = _TOP + plot_h - plot_h * i / 4
        grid.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_W - 8}" y2="{y:.1f}" stroke="#e4e7ec"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#667085">{top * i // 4}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="100%" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(grid)
        + "".join(parts)
        + "</svg>"
    )


def decisions_per_day(days: Sequence[tuple[str, Mapping[str, int]]]) -> str:
    """Stacked bars, one per day, coloured by outcome, with a legend."""
    if not days:
        return _frame("No decisions in this period", 4, [])
    top = _nice_max(max(sum(counts.values()) for _, counts in days))
    plot_h, plot_w = _H - _BOTTOM - _TOP, _W - _LEFT - 8
    slot = plot_w / len(days)
    bar = max(2.0, min(40.0, slot * 0.7))
    parts: list[str] = []
    outcomes = [o for o in COLOURS if any(o in counts for _, counts in days)]
    label_every = max(1, len(days) // 12)
    for index, (day, counts) in enumerate(days):
        x = _LEFT + slot * index + (slot - bar) / 2
        y = float(_TOP + plot_h)
        for outcome in outcomes:
            n = counts.get(outcome, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[outcome]}"><title>{escape(day)}: {n} {escape(outcome)}</title>'
                "</rect>"
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{_TOP + plot_h + 14}" text-anchor="middle" '
                f'font-size="10" fill="#344054">{escape(day[5:])}</text>'
            )
    for index, outcome in enumerate(outcomes):
        lx = _LEFT + index * 100
        parts.append(
            f'<rect x="{lx}" y="{_H - 16}" width="10" height="10" fill="{COLOURS[outcome]}"/>'
            f'<text x="{lx + 14}" y="{_H - 7}" font-size="11" fill="#344054">'
            f"{escape(outcome.replace('_', ' '))}</text>"
        )
    return _frame("Decisions per day", top, parts)


def histogram(buckets: Sequence[tuple[str, int]]) -> str:
    """One bar per time-to-decision bucket, its count above it."""
    top = _nice_max(max((n for _, n in buckets), default=0) or 1)
    plot_h, plot_w = _H - _BOTTOM - _TOP, _W - _LEFT - 8
    slot = plot_w / max(1, len(buckets))
    parts: list[str] = []
    for index, (label, n) in enumerate(buckets):
        x = _LEFT + slot * index + slot * 0.15
        h = plot_h * n / top
        y = _TOP + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
            f'fill="#3056a8"><title>{escape(label)}: {n}</title></rect>'
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
            f'font-size="11" fill="#1d2330">{n}</text>'
            f'<text x="{x + slot * 0.35:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle" '
            f'font-size="11" fill="#344054">{escape(label)}</text>'
        )
    return _frame("Time to decision", top, parts)
