"""Reading `Fact` for a page: one query, then lookups in memory.

A page asks for the measures it shows (optionally only the national or
whole-month rows of the big cubes) and reads cells with `get`, which gives 0
for a cell the refresh did not write.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q

from sekispe.insights.models import Fact, Refresh

Key = tuple[str, dt.date | None, str, str, str]


class Facts:
    def __init__(self, rows: Iterable[tuple[str, dt.date | None, str, str, str, int]]) -> None:
        self.cells: dict[Key, int] = {}
        self.months_of: dict[str, set[dt.date]] = defaultdict(set)
        for measure, month, prefecture, theme, key, value in rows:
            self.cells[(measure, month, prefecture, theme, key)] = value
            if month is not None:
                self.months_of[measure].add(month)

    @classmethod
    def load(cls, *conditions: Q) -> Facts:
        """Every cell matching any of `conditions` (Q objects over Fact's columns)."""
        query = Q()
        for condition in conditions:
            query |= condition
        return cls(
            Fact.objects.filter(query)
            .order_by()
            .values_list("measure", "month", "prefecture", "theme", "key", "value")
        )

    def get(
        self,
        measure: str,
        *,
        month: dt.date | None = None,
        prefecture: str = "",
        theme: str = "",
        key: str = "",
    ) -> int:
        return self.cells.get((measure, month, prefecture, theme, key), 0)

    def months(self, *measures: str) -> list[dt.date]:
        found: set[dt.date] = set()
        for measure in measures:
            found |= self.months_of[measure]
        return sorted(found)

    def total(self, measure: str, months: Iterable[dt.date], **where: str) -> int:
        """A flow summed over months (a month has no margin cell)."""
        return sum(self.get(measure, month=m, **where) for m in months)

    def keys(self, measure: str, **where: str) -> list[str]:
        """The non-margin keys written for `measure` (with the other columns as given)."""
        prefecture, theme = where.get("prefecture", ""), where.get("theme", "")
        return sorted(
            {
                k
                for (m, _month, p, t, k) in self.cells
                if m == measure and k and p == prefecture and t == theme
            }
        )

    def keys_any_month(self, measure: str) -> list[str]:
        """The non-margin keys of a monthly measure, over every month."""
        return sorted(
            {k for (m, _month, p, t, k) in self.cells if m == measure and k and not p and not t}
        )


def measure(slug: str, **columns: str) -> Q:
    return Q(measure=slug, **columns)


def latest_refresh() -> Refresh | None:
    return Refresh.objects.order_by("-started_at").first()
