"""The projection of active registrants to 2030, from the last 24 month ends.

Two methods, both drawn against the 50,000 target:
- linear: the least-squares line through (month index, count), extended;
- compound: the geometric mean of the monthly growth factors over the
  window, (last / first) ** (1 / (n − 1)), applied from the last count.
Both need at least two months; compound also needs a positive first count.
Values are rounded to whole people and never negative.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sekispe.insights.tally import Tally, month_of, next_month
from sekispe.insights.targets import REGISTRANT_TARGET_DAY

WINDOW_MONTHS = 24
LINEAR = "linear"
COMPOUND = "compound"


def linear(series: Sequence[float], ahead: int) -> list[int]:
    """The next `ahead` values of the least-squares line through `series`."""
    n = len(series)
    if n < 2 or ahead <= 0:
        return []
    mean_x = (n - 1) / 2
    mean_y = sum(series) / n
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(series))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    return [max(round(intercept + slope * x), 0) for x in range(n, n + ahead)]


def compound(series: Sequence[float], ahead: int) -> list[int]:
    """The next `ahead` values growing at the geometric mean monthly rate of `series`."""
    n = len(series)
    if n < 2 or ahead <= 0 or series[0] <= 0 or series[-1] < 0:
        return []
    rate = (series[-1] / series[0]) ** (1 / (n - 1))
    return [max(round(series[-1] * rate**k), 0) for k in range(1, ahead + 1)]


def months_until(last: dt.date, end: dt.date) -> list[dt.date]:
    """The months after `last` up to and including `end`'s month."""
    months, month = [], next_month(last)
    while month <= month_of(end):
        months.append(month)
        month = next_month(month)
    return months


def projection_tally(tallies: Sequence[Tally], today: dt.date) -> Tally:
    """registrants.projection: both methods from the complete months of registrants.active."""
    out = Tally("registrants.projection")
    active = next(t for t in tallies if t.measure.slug == "registrants.active")
    current = month_of(today)
    history = sorted(
        (month, value)
        for (month, prefecture, _theme, _key), value in active.counts.items()
        if prefecture == "" and month is not None and month < current
    )[-WINDOW_MONTHS:]
    if len(history) < 2:
        return out
    series = [value for _month, value in history]
    future = months_until(history[-1][0], REGISTRANT_TARGET_DAY)
    for method, values in (
        (LINEAR, linear(series, len(future))),
        (COMPOUND, compound(series, len(future))),
    ):
        for month, value in zip(future, values, strict=False):
            out.set(value, month=month, key=method)
    return out
