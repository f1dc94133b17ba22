"""GET /api/v1/statistics: the open statistics as JSON. Public, no personal
data; cells suppressed by the small-cell rule are "×" (docs/statistics.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema

from sekispe.opendata import tables

router = Router(tags=["statistics"])


class TableSummary(Schema):
    measure: str
    title: str
    suppressed: bool = Field(description="Small-cell suppression applies (people or companies)")


class IndexOut(Schema):
    licence: str
    licence_url: str
    attribution: str
    as_of: dt.date | None = Field(description="The date the aggregates describe (Japan time)")
    tables: list[TableSummary]


class TableOut(Schema):
    measure: str
    title: str
    as_of: dt.date | None
    licence: str
    suppressed_marker: str = Field(description='A suppressed cell: "×"')
    header: list[str]
    rows: list[list[int | str]] = Field(
        description="First item the row label; then counts, or the marker where suppressed; "
        'a last row "計" holds the column totals when the table has them'
    )


class NotFoundOut(Schema):
    detail: str


@router.get(
    "",
    response=IndexOut,
    auth=None,
    url_name="statistics_index",
    summary="The published statistics tables",
)
def index(request: HttpRequest) -> dict[str, Any]:
    return {
        "licence": str(tables.LICENCE),
        "licence_url": tables.LICENCE_URL,
        "attribution": str(tables.ATTRIBUTION),
        "as_of": tables.last_refresh_date(),
        "tables": [
            {"measure": m.slug, "title": str(m.label), "suppressed": m.suppressed}
            for m in tables.PUBLIC
        ],
    }


@router.get(
    "/{measure}",
    response={200: TableOut, 404: NotFoundOut},
    auth=None,
    url_name="statistics_table",
    summary="One statistics table",
)
def table(request: HttpRequest, measure: str) -> Any:
    found = tables.BY_SLUG.get(measure)
    if found is None:
        raise Http404
    published = tables.build(found)
    return {
        **published.as_json(),
        "as_of": tables.last_refresh_date(),
        "licence": str(tables.LICENCE),
    }
