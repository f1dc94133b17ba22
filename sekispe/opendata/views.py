"""/statistics/: the open statistics, public. Cacheable: the tables change
only when the daily refresh runs."""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from sekispe.opendata import tables
from sekispe.reports import exports

public_cache = cache_control(public=True, max_age=3600)


def _context() -> dict[str, object]:
    return {
        "licence": tables.LICENCE,
        "licence_url": tables.LICENCE_URL,
        "attribution": tables.ATTRIBUTION,
        "as_of": tables.last_refresh_date(),
        "hidden_marker": tables.HIDDEN,
    }


@require_GET
@public_cache
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "opendata/index.html", {"measures": tables.PUBLIC, **_context()})


def _table(slug: str) -> tables.PublishedTable:
    measure = tables.BY_SLUG.get(slug)
    if measure is None:
        raise Http404
    return tables.published(measure)


@require_GET
@public_cache
def table(request: HttpRequest, slug: str) -> HttpResponse:
    published = _table(slug)
    return render(request, "opendata/table.html", {"table": published, **_context()})


@require_GET
@public_cache
def table_csv(request: HttpRequest, slug: str) -> HttpResponse:
    published = _table(slug)
    report = published.as_report(tables.last_refresh_date())
    response = HttpResponse(exports.to_csv(report), content_type=exports.CSV_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, f"{report.filename_stem}.csv"
    )
    return response


@require_GET
@public_cache
def table_json(request: HttpRequest, slug: str) -> HttpResponse:
    published = _table(slug)
    as_of = tables.last_refresh_date()
    body = {
        **published.as_json(),
        "as_of": as_of.isoformat() if as_of else None,
        "licence": str(tables.LICENCE),
        "attribution": str(tables.ATTRIBUTION),
    }
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
