"""Geometry for the monthly line chart (`insights/_line_chart.html`), inline SVG
without JavaScript, drawn narrow enough (WIDTH) to stay readable on a 390 px
phone without being scaled down. The table beside it is the accessible source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sekispe.insights.pages import Series

WIDTH = 340
HEIGHT = 220
LEFT = 52  # room for the y labels
RIGHT = 8
TOP = 10
BOTTOM = 26
FONT_SIZE = 12


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    points: str  # "x,y x,y …" for <polyline>
    dashed: bool


@dataclass(frozen=True)
class Tick:
    text: str
    x: int
    y: int


@dataclass(frozen=True)
class LineChart:
    id: str
    title: str
    width: int
    height: int
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    target_y: int | None
    target_label: str
    left: int
    right: int
    bottom: int
    font_size: int = FONT_SIZE


def _index(month: dt.date, first: dt.date) -> int:
    return (month.year - first.year) * 12 + month.month - first.month


def _nice(top: int) -> int:
    """A round upper bound for the y axis."""
    step = 1
    while step * 10 < top:
        step *= 10
    return -(-top // step) * step if top else 10


def line_chart(
    chart_id: str,
    title: str,
    series: Sequence[Series],
    target: int | None = None,
    target_label: str = "",
) -> LineChart | None:
    months = [m for s in series for m, _v in s.points]
    if not months:
        return None
    first, last = min(months), max(months)
    span = max(_index(last, first), 1)
    top = _nice(max([v for s in series for _m, v in s.points] + [target or 0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(month: dt.date) -> int:
        return LEFT + round(_index(month, first) / span * plot_w)

    def y(value: int) -> int:
        return TOP + plot_h - round(value / top * plot_h)

    lines = tuple(
        Line(s.key, s.label, " ".join(f"{x(m)},{y(v)}" for m, v in s.points), s.dashed)
        for s in series
        if s.points
    )
    y_ticks = tuple(Tick(f"{top * i // 4:,}", LEFT - 4, y(top * i // 4) + 4) for i in range(5))
    years = sorted({m.year for m in months})
    every = max(1, -(-len(years) // 5))
    x_ticks = tuple(
        Tick(str(year), x(max(dt.date(year, 1, 1), first)), HEIGHT - 8) for year in years[::every]
    )
    return LineChart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=HEIGHT,
        lines=lines,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        target_y=y(target) if target else None,
        target_label=target_label,
        left=LEFT,
        right=WIDTH - RIGHT,
        bottom=TOP + plot_h,
    )
