"""Report tables prepared for a page: formatted cells, the chart beside each
table and how many rows were left for the download. Shared by the statutory
reports (`reports.views`) and the policy pages (`insights.views`), which both
render `templates/reports/_sections.html`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sekispe.core.templatetags.dates import day_text
from sekispe.reports import exports, services
from sekispe.reports.charts import BarChart, bar_chart


@dataclass(frozen=True)
class DisplayCell:
    text: str
    numeric: bool


@dataclass(frozen=True)
class Section:
    table: services.Table
    rows: list[list[DisplayCell]]
    total: list[DisplayCell] | None
    chart: BarChart | None
    hidden_rows: int = 0


def display_cell(value: services.Cell) -> DisplayCell:
    if isinstance(value, int):
        return DisplayCell(f"{value:,}", True)
    if isinstance(value, dt.date):
        return DisplayCell(day_text(value), False)
    if isinstance(value, exports.Percent):
        return DisplayCell(str(value), True)
    return DisplayCell(str(value), False)


def sections(tables: Iterable[services.Table], *, max_rows: int | None = None) -> list[Section]:
    """`max_rows`: a page shows at most that many rows of a table; the rest is
    in the download, and the page says so."""
    prepared = []
    for table in tables:
        shown = table.rows if max_rows is None else table.rows[:max_rows]
        prepared.append(
            Section(
                table=table,
                rows=[[display_cell(cell) for cell in row] for row in shown],
                total=[display_cell(cell) for cell in table.total] if table.total else None,
                chart=bar_chart(f"chart-{table.key}", table.title, table.chart)
                if table.chart
                else None,
                hidden_rows=len(table.rows) - len(shown),
            )
        )
    return prepared
