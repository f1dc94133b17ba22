"""The published tables of the open statistics: one per public `Measure`,
read from `Fact` and suppressed by `insights.disclosure` (docs/statistics.md).

Every format (the HTML page, CSV, JSON and the API) is built from the same
`PublishedTable`, so a hidden cell is hidden everywhere.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from sekispe.insights import labels
from sekispe.insights.disclosure import Grid, publish, suppress
from sekispe.insights.facts import latest_refresh
from sekispe.insights.measures import MEASURES, Measure
from sekispe.insights.models import Fact
from sekispe.reports.services import Report, Table

HIDDEN = "×"
LICENCE = gettext_lazy("政府標準利用規約（第2.0版）")
LICENCE_URL = "https://www.digital.go.jp/resources/open_data/"
ATTRIBUTION = gettext_lazy("出典：登録セキスペ アクティブリスト 公開統計（sekispe）")

PUBLIC: tuple[Measure, ...] = tuple(m for m in MEASURES if m.public)
BY_SLUG: dict[str, Measure] = {m.slug: m for m in PUBLIC}


@dataclass(frozen=True)
class PublishedTable:
    slug: str
    title: str
    row_label: str
    column_label: str
    rows: list[str]
    columns: list[str]
    cells: list[list[int | None]]
    # Per row (the all-columns margin), per column and the grand total; None
    # where the table has no such margin.
    row_totals: list[int | None] | None
    column_totals: list[int | None] | None
    total: int | None
    suppressed: bool
    hidden: int

    def header(self) -> list[str]:
        head = [self.row_label, *self.columns]
        if self.row_totals is not None:
            head.append(_("計"))
        return head

    def body(self) -> list[list[str | int]]:
        """Rows of cells, each a number or HIDDEN, with the total row last."""
        found: list[list[str | int]] = []
        for n, label in enumerate(self.rows):
            row: list[str | int] = [label, *(_shown(v) for v in self.cells[n])]
            if self.row_totals is not None:
                row.append(_shown(self.row_totals[n]))
            found.append(row)
        if self.column_totals is not None:
            total: list[str | int] = [_("計"), *(_shown(v) for v in self.column_totals)]
            if self.row_totals is not None:
                total.append(_shown(self.total))
            found.append(total)
        return found

    def display_body(self) -> list[list[str]]:
        """`body()` for the HTML page: numbers already formatted, because
        the template's localisation filters cost more than building the table."""
        return [
            [cell if isinstance(cell, str) else f"{cell:,}" for cell in row] for row in self.body()
        ]

    def as_report(self, as_of: dt.date | None) -> Report:
        table = Table(
            key=self.slug.replace(".", "-"),
            title=self.title,
            headers=tuple(self.header()),
            rows=tuple(tuple(r) for r in self.body()),
        )
        period = as_of.isoformat() if as_of else ""
        return Report(self.slug, self.title, period, (table,), f"{self.slug}-{period}")

    def as_json(self) -> dict:
        return {
            "measure": self.slug,
            "title": self.title,
            "suppressed_marker": HIDDEN,
            "header": self.header(),
            "rows": self.body(),
        }


def _shown(value: int | None) -> str | int:
    return HIDDEN if value is None else value


def _labeller(dim: str, measure: Measure):
    if dim == "prefecture":
        return labels.prefecture
    if dim == "theme":
        return labels.theme
    if dim == "month":
        return lambda m: m.isoformat()[:7]
    return str


def _dim_label(dim: str, measure: Measure) -> str:
    names = {"prefecture": _("都道府県"), "theme": _("テーマ"), "month": _("月")}
    return names.get(dim) or str(measure.key_label) or _("区分")


def build(measure: Measure) -> PublishedTable:
    """The table of `measure` as published: at most two dimensions (a 3-D
    measure is published over all themes), margins where the facts hold
    them (a month has none), small cells suppressed where units are people
    or companies."""
    dims = list(measure.dims)
    fixed: dict[str, str] = {}
    if len(dims) == 3:
        dims.remove("theme")
        fixed["theme"] = ""
    query = Fact.objects.filter(measure=measure.slug, **fixed).order_by()
    values: dict[tuple, int] = {}
    seen: dict[str, set] = {d: set() for d in dims}
    for *coordinates_list, value in query.values_list(*dims, "value"):
        coordinates = tuple(coordinates_list)
        values[coordinates] = value
        for d, c in zip(dims, coordinates, strict=True):
            if c not in ("", None):
                seen[d].add(c)
    axes = [sorted(seen[d]) for d in dims]
    for n, d in enumerate(dims):
        if d == "prefecture":
            axes[n] = sorted(labels.PREFECTURE_NAMES)
        elif d == "theme":
            axes[n] = list(labels.THEME_CODES)
    if not dims:
        cells = [[values.get((), 0)]]
        grid = Grid(((cells[0][0],),))
        rows, columns, row_dim, column_dim = [_("全国")], [_("件数")], "", ""
    elif len(dims) == 1:
        (dim,) = dims
        cells = [[values.get((v,), 0)] for v in axes[0]]
        margin = None if dim == "month" else (values.get(("",), 0),)
        grid = Grid(tuple(tuple(r) for r in cells), None, margin, None)
        rows = [_labeller(dim, measure)(v) for v in axes[0]]
        columns, row_dim, column_dim = [_("件数")], dim, ""
    else:
        row_dim, column_dim = dims
        cells = [[values.get((r, c), 0) for c in axes[1]] for r in axes[0]]
        row_totals = None if column_dim == "month" else [values.get((r, ""), 0) for r in axes[0]]
        column_totals = None if row_dim == "month" else [values.get(("", c), 0) for c in axes[1]]
        total = values.get(("", ""), 0) if row_totals and column_totals else None
        grid = Grid(
            tuple(tuple(r) for r in cells),
            None if row_totals is None else tuple(row_totals),
            None if column_totals is None else tuple(column_totals),
            total,
        )
        rows = [_labeller(row_dim, measure)(v) for v in axes[0]]
        columns = [_labeller(column_dim, measure)(v) for v in axes[1]]
    hidden = suppress(grid) if measure.suppressed else frozenset()
    shown = publish(grid, hidden)
    if len(dims) == 1:
        # A one-way table is one column; its total sits under it.
        return PublishedTable(
            measure.slug,
            str(measure.label),
            _dim_label(row_dim, measure),
            "",
            rows,
            columns,
            [list(r) for r in shown.cells],
            None,
            None if shown.column_totals is None else list(shown.column_totals),
            None,
            measure.suppressed,
            len(hidden),
        )
    return PublishedTable(
        measure.slug,
        str(measure.label),
        _dim_label(row_dim, measure) if row_dim else "",
        _dim_label(column_dim, measure) if column_dim else "",
        rows,
        columns,
        [list(r) for r in shown.cells],
        None if shown.row_totals is None else list(shown.row_totals),
        None if shown.column_totals is None else list(shown.column_totals),
        shown.total,
        measure.suppressed,
        len(hidden),
    )


# Built tables by (measure, refresh, language): the facts change only when a
# refresh commits, so the page, CSV, JSON and API of one table share one build
# and one suppression until the next refresh.
_built: dict[tuple[str, int, dt.datetime | None, str], PublishedTable] = {}
_built_lock = threading.Lock()


def published(measure: Measure) -> PublishedTable:
    """`build(measure)`, kept until the next refresh. Without a refresh row
    (facts written by hand) nothing is kept."""
    refresh = latest_refresh()
    if refresh is None:
        return build(measure)
    key = (measure.slug, refresh.pk, refresh.finished_at, get_language() or "")
    with _built_lock:
        found = _built.get(key)
    if found is not None:
        return found
    table = build(measure)
    with _built_lock:
        if any(k[1:3] != key[1:3] for k in _built):
            _built.clear()  # an older refresh's tables
        _built[key] = table
    return table


def last_refresh_date() -> dt.date | None:
    refresh = latest_refresh()
    return refresh.as_of if refresh else None
