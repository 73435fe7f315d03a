"""Bar charts as geometry for the page's inline SVG: made on the server, so the page needs no script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# the viewBox; the SVG scales to its container's width, so one geometry serves a phone and a desk
WIDTH, HEIGHT = 280, 140
LEFT, RIGHT, TOP, BOTTOM = 8, 8, 22, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the month's short name, under the bar
    title: str  # what a pointer or a screen reader names: "March 2026: 12"
    value: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    peak: int
    baseline: float
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(values: Sequence[int], labels: Sequence[str], titles: Sequence[str]) -> BarChart:
    """One bar a value, scaled to the largest; a value of zero draws no bar, the axis shows it."""
    if not len(values) == len(labels) == len(titles):
        raise ValueError("a bar needs a value, a label and a title")
    peak = max(values, default=0)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(values), 1)
    baseline = TOP + plot_height
    bars = []
    for n, (value, label, title) in enumerate(zip(values, labels, titles, strict=True)):
        height = plot_height * value / peak if peak else 0.0
        bars.append(
            Bar(
                x=round(LEFT + n * slot + slot * 0.15, 2),
                y=round(baseline - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                label=label,
                title=title,
                value=value,
            )
        )
    return BarChart(bars=bars, peak=peak, baseline=baseline)
