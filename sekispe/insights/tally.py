"""Counting units into `Fact` cells, margins included.

A measure's cells form a cube over its dims, and "" in the prefecture, theme
or key column means "all" (the margin), written as its own cell. Margins are
counted, never summed from the cells below them: one specialist listed in
three prefectures is one person nationally, and a search naming no
prefecture counts nationally but in no prefecture. `month` has no margin:
a monthly measure is always broken down by month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import product
from typing import NamedTuple

from sekispe.insights.measures import BY_SLUG
from sekispe.reference import data as reference_data

ALL = ""
PREFECTURE_CODES: tuple[str, ...] = tuple(p.code for p in reference_data.PREFECTURES)
THEME_CODES: tuple[str, ...] = tuple(str(t.code) for t in reference_data.GUIDANCE_THEMES)


class Cell(NamedTuple):
    measure: str
    month: dt.date | None
    prefecture: str
    theme: str
    key: str
    value: int


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return next_month(day) - dt.timedelta(days=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every first-of-month from first's month to last's month, inclusive."""
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _with_all(values: Iterable[str]) -> tuple[str, ...]:
    # The common single value first: the refresh calls this a million times.
    if isinstance(values, tuple) and len(values) <= 1:
        return (ALL, *values) if values and values[0] else (ALL,)
    return (ALL, *sorted({v for v in values if v}))


class Tally:
    """Counts for one measure: `add` puts a unit into every cell it belongs to."""

    def __init__(self, measure: str) -> None:
        self.measure = BY_SLUG[measure]
        self.counts: Counter[tuple[dt.date | None, str, str, str]] = Counter()
        dims = self.measure.dims
        self._by_prefecture = "prefecture" in dims
        self._by_theme = "theme" in dims
        self._by_key = "key" in dims
        self._by_month = "month" in dims

    def add(
        self,
        *,
        month: dt.date | None = None,
        prefectures: Iterable[str] = (),
        themes: Iterable[str] = (),
        keys: Iterable[str] = (),
        n: int = 1,
    ) -> None:
        """One unit (or `n` alike) counted once in each cell it falls in.

        A unit with several prefectures (themes, keys) is counted in each and
        once in the margin. Dims the measure lacks are ignored."""
        if not n:
            return
        if self._by_month and month is None:
            raise ValueError(f"{self.measure.slug} needs a month")
        cell_month = month_of(month) if self._by_month and month else None
        pref = _with_all(prefectures) if self._by_prefecture else (ALL,)
        theme = _with_all(themes) if self._by_theme else (ALL,)
        key = _with_all(keys) if self._by_key else (ALL,)
        for p, t, k in product(pref, theme, key):
            self.counts[(cell_month, p, t, k)] += n

    def set(self, value: int, *, month: dt.date | None = None, prefecture: str = ALL,
            theme: str = ALL, key: str = ALL) -> None:  # fmt: skip
        """A value that is not a count of units (a median, a stock read off a series)."""
        self.counts[(month, prefecture, theme, key)] = value

    def zero_fill(
        self, months: Iterable[dt.date | None] = (None,), keys: Iterable[str] = ()
    ) -> None:
        """Write a 0 cell for every prefecture (and theme, key) without one, so a
        map or a table never finds a prefecture missing."""
        prefs = (ALL, *PREFECTURE_CODES) if self._by_prefecture else (ALL,)
        themes = (ALL, *THEME_CODES) if self._by_theme else (ALL,)
        key_values = (ALL, *keys) if self._by_key else (ALL,)
        for m, p, t, k in product(months, prefs, themes, key_values):
            self.counts.setdefault((m, p, t, k), 0)

    def cells(self) -> Iterator[Cell]:
        slug = self.measure.slug
        for (month, p, t, k), value in self.counts.items():
            yield Cell(slug, month, p, t, k, value)
