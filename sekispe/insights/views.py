"""The policy pages: analysts and operators, GET only, aggregates only.

Every page reads `Fact` and the latest `Refresh` (two queries) through
`insights.pages`; the CSV is the same `Report` through `reports.exports`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sekispe.accounts.models import Role
from sekispe.core.permissions import role_required
from sekispe.insights import pages
from sekispe.insights.charts import line_chart
from sekispe.insights.facts import latest_refresh
from sekispe.reports import exports, presentation

# URL name → (builder key, URL path segment of its CSV).
AREAS: dict[str, str] = {
    "overview": "overview",
    "registrants": "registrants",
    "supply": "supply",
    "demand": "demand",
    "funnel": "funnel",
    "smes": "smes",
    "security_action": "security-action",
}
EXPORT_AREAS = {segment: name for name, segment in AREAS.items()}
# The page URL names in the "insights" namespace (the bench renders each).
PAGE_NAMES: tuple[str, ...] = tuple(AREAS)

insights_required = role_required(Role.ANALYST, Role.OPERATOR)


def _map_url() -> str | None:
    """The supply-and-demand map, once its URLs are mounted."""
    try:
        return reverse("insights_map:map")
    except NoReverseMatch:
        return None


def nav_context(current: str) -> dict[str, object]:
    """What `insights/base.html`'s sub-navigation needs; the map pages pass
    their own name as `current` to share it."""
    return {"nav": _nav(), "current": current, "map_url": _map_url()}


def _nav() -> list[tuple[str, str, str]]:
    titles = {
        "overview": _("概要"),
        "registrants": _("登録者"),
        "supply": _("供給"),
        "demand": _("需要"),
        "funnel": _("ファネル"),
        "smes": _("中小企業"),
        "security_action": _("SECURITY ACTION"),
    }
    return [(name, titles[name], reverse(f"insights:{name}")) for name in AREAS]


def _page_view(name: str) -> Callable[[HttpRequest], HttpResponse]:
    @insights_required
    @require_GET
    @never_cache
    def view(request: HttpRequest) -> HttpResponse:
        refresh = latest_refresh()
        page = pages.BUILDERS[name](refresh)
        chart = None
        if page.series:
            chart = line_chart(
                f"chart-{page.slug}-trend",
                _("登録者数の推移と2030年の見通し"),
                page.series,
                page.target,
                _("目標 %(n)s人") % {"n": f"{page.target:,}"} if page.target else "",
            )
        return render(
            request,
            "insights/page.html",
            {
                "page": page,
                "report": page.report,
                "sections": presentation.sections(page.report.tables),
                "refresh": refresh,
                "line_chart": chart,
                **nav_context(name),
                "csv_url": reverse(f"insights:{name}_csv"),
                "csv_name": f"{page.report.filename_stem}.csv",
            },
        )

    view.__name__ = view.__qualname__ = name
    return view


overview = _page_view("overview")
registrants = _page_view("registrants")
supply = _page_view("supply")
demand = _page_view("demand")
funnel = _page_view("funnel")
smes = _page_view("smes")
security_action = _page_view("security_action")


@insights_required
@require_GET
@never_cache
def export(request: HttpRequest, area: str) -> HttpResponse:
    """An area's tables as CSV (UTF-8 with BOM, Japanese headers)."""
    name = EXPORT_AREAS.get(area)
    if name is None:
        raise Http404
    report = pages.BUILDERS[name](latest_refresh()).report
    response = HttpResponse(exports.to_csv(report), content_type=exports.CSV_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, f"{report.filename_stem}.csv"
    )
    return response
