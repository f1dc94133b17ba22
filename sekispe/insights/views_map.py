"""The supply-and-demand map and the prefecture pages: analysts and operators,
GET only, read from `Fact` (one query each) through `insights.map`."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sekispe.insights import labels
from sekispe.insights import map as choropleth
from sekispe.insights.facts import latest_refresh
from sekispe.insights.views import insights_required, nav_context


@insights_required
@require_GET
@never_cache
def map_page(request: HttpRequest) -> HttpResponse:
    # An unknown measure falls back to the default rather than a 404: the
    # form's only input, so a stale bookmark still shows a map.
    choice = choropleth.BY_CHOICE.get(
        request.GET.get("measure", ""), choropleth.BY_CHOICE[choropleth.DEFAULT_CHOICE]
    )
    drawn = choropleth.build(choropleth.load_facts(), choice)
    return render(
        request,
        "insights/map.html",
        {
            "map": drawn,
            "choices": choropleth.CHOICES,
            "refresh": latest_refresh(),
            "first_month": labels.month_label(drawn.months[0]) if drawn.months else None,
            "last_month": labels.month_label(drawn.months[-1]) if drawn.months else None,
            **nav_context("map"),
        },
    )


@insights_required
@require_GET
@never_cache
def prefecture_page(request: HttpRequest, code: str) -> HttpResponse:
    if code not in labels.PREFECTURE_NAMES:
        raise Http404
    figures = choropleth.profile(choropleth.profile_facts(code), code)
    return render(
        request,
        "insights/prefecture.html",
        {
            "profile": figures,
            "by_month": [(labels.month_label(m), *rest) for m, *rest in figures.by_month],
            "refresh": latest_refresh(),
            **nav_context("map"),
        },
    )
