"""GET /api/v1/statistics: the open statistics as JSON. Public, no personal
data; cells suppressed by the small-cell rule are "×" (docs/statistics.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Router, Schema

from sekispe.core import ratelimit
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


class StatisticsMessageOut(Schema):
    detail: str


def _rule() -> ratelimit.Limit:
    # Per address, as the search API: generous, since the answers are
    # aggregates, but a scraper looping over the tables is slowed down.
    count, seconds = settings.STATISTICS_API_PER_IP
    return ratelimit.Limit(count, dt.timedelta(seconds=seconds))


def _throttled(request: HttpRequest) -> HttpResponse | None:
    decision = ratelimit.hit(ratelimit.ip_key("statistics-api", request), _rule())
    if decision.allowed:
        return None
    response = HttpResponse(
        '{"detail": "Too many requests from this address; retry later."}',
        status=429,
        content_type="application/json",
    )
    response["Retry-After"] = str(max(1, int(decision.retry_after.total_seconds())))
    return response


@router.get(
    "",
    response={200: IndexOut, 429: StatisticsMessageOut},
    auth=None,
    url_name="statistics_index",
    summary="The published statistics tables",
    description="Too many requests from one address get a 429 with `Retry-After`.",
)
def index(request: HttpRequest) -> Any:
    if (refused := _throttled(request)) is not None:
        return refused
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
    response={200: TableOut, 404: StatisticsMessageOut, 429: StatisticsMessageOut},
    auth=None,
    url_name="statistics_table",
    summary="One statistics table",
    description="Small cells are suppressed (docs/statistics.md). An unknown or "
    "unpublished measure is a 404; too many requests from one address get a 429 "
    "with `Retry-After`.",
)
def table(request: HttpRequest, measure: str) -> Any:
    if (refused := _throttled(request)) is not None:
        return refused
    found = tables.BY_SLUG.get(measure)
    if found is None:
        raise Http404
    published = tables.published(found)
    return {
        **published.as_json(),
        "as_of": tables.last_refresh_date(),
        "licence": str(tables.LICENCE),
    }
