"""Geometry for the server-rendered SVG bar charts (`reports/_bar_chart.html`).

The pages carry no JavaScript, so the chart is drawn as inline SVG from
numbers computed here. The table next to it stays the accessible source; the
chart is one image with a title.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sekispe.lib.text import text_width

BAR_AREA = 360  # width of the longest bar
BAR_HEIGHT = 18
ROW_HEIGHT = 26
PAD = 8
FONT_SIZE = 13
VALUE_AREA = 72  # room after the longest bar for its number


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    display: str  # "1,234"
    y: int
    width: int
    text_y: int
    value_x: int


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    bars: tuple[Bar, ...]
    label_x: int  # labels end here (right-aligned)
    bar_x: int
    bar_height: int
    width: int
    height: int


def bar_chart(chart_id: str, title: str, series: Iterable[tuple[str, int]]) -> BarChart:
    """Bars scaled so the largest value spans BAR_AREA; a non-zero value is never invisible."""
    items = [(str(label), int(value)) for label, value in series]
    largest = max((value for _label, value in items), default=0)
    label_width = max((text_width(label) for label, _value in items), default=0)
    bar_x = PAD + label_width + PAD
    bars = []
    for n, (label, value) in enumerate(items):
        width = round(value / largest * BAR_AREA) if largest > 0 else 0
        if value > 0:
            width = max(width, 1)
        y = PAD + n * ROW_HEIGHT
        bars.append(
            Bar(
                label=label,
                value=value,
                display=f"{value:,}",
                y=y,
                width=width,
                text_y=y + BAR_HEIGHT - 4,
                value_x=bar_x + width + 6,
            )
        )
    return BarChart(
        id=chart_id,
        title=title,
        bars=tuple(bars),
        label_x=bar_x - PAD,
        bar_x=bar_x,
        bar_height=BAR_HEIGHT,
        width=bar_x + BAR_AREA + VALUE_AREA,
        height=PAD * 2 + len(items) * ROW_HEIGHT,
    )
