"""Report pages for operators under /ops/reports/: tables, a chart, CSV and xlsx.

Every page is GET-only: the parameters are a GET form, and `?format=csv` or
`?format=xlsx` downloads the same report. Bad parameters show the form again
with the error (400), never a 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sekispe.audit.services import record_event
from sekispe.core.permissions import operator_required
from sekispe.lib.dates import fiscal_year
from sekispe.reports import deemed, exports, presentation, services
from sekispe.reports.forms import AsOfForm, DeemedYearForm, FiscalYearForm, PeriodForm, ReportForm

# The missing-course list can reach tens of thousands of rows: the page shows
# the first ones and the exports carry them all.
DISPLAY_ROWS = 500
FORMATS = ("html", "csv", "xlsx")


@dataclass(frozen=True)
class ReportPage:
    name: str  # URL name in the "reports" namespace
    title: Promise
    cadence: Promise
    description: Promise
    form_class: type[ReportForm]
    defaults: Callable[[dt.date], dict[str, str]]
    build: Callable[[dict[str, Any]], services.Report]
    form_kwargs: Callable[[], dict[str, Any]] = dict

    def form(self, data: QueryDict | dict[str, str] | None, today: dt.date) -> ReportForm:
        kwargs = {"today": today, "auto_id": f"id_{self.name}_%s", **self.form_kwargs()}
        if data is None:
            return self.form_class(initial=self.defaults(today), **kwargs)
        return self.form_class(data, **kwargs)


PAGES: tuple[ReportPage, ...] = (
    ReportPage(
        name="registration",
        title=gettext_lazy("登録状況報告"),
        cadence=gettext_lazy("半期ごと（4月1日・10月1日時点、4月と10月に報告）"),
        description=gettext_lazy(
            "登録者の数を、登録の状態、自宅都道府県、年齢層、更新回数ごとに集計します。"
        ),
        form_class=AsOfForm,
        defaults=lambda today: {"as_of": services.report_day_on_or_before(today).isoformat()},
        build=lambda data: services.registration_status(data["as_of"]),
    ),
    ReportPage(
        name="courses",
        title=gettext_lazy("講習実施結果報告"),
        cadence=gettext_lazy("半期ごと（上期：4月〜9月、下期：10月〜3月）"),
        description=gettext_lazy("講習の修了件数を、講習種別と実施機関ごとに集計します。"),
        form_class=PeriodForm,
        defaults=lambda today: {"half": services.last_complete_half(today).code},
        build=lambda data: services.course_results(data["start"], data["end"], label=data["label"]),
    ),
    ReportPage(
        name="missing",
        title=gettext_lazy("講習未受講者報告"),
        cadence=gettext_lazy("毎年（年度末時点、4月に報告）"),
        description=gettext_lazy(
            "年度末（3月31日）の時点で、期限の来た講習を修了していない登録者の一覧です。"
        ),
        form_class=FiscalYearForm,
        defaults=lambda today: {"fy": str(services.last_completed_fiscal_year(today))},
        build=lambda data: services.missing_courses(data["fy"]),
        # Only finished years: the list is of courses missed by the year end.
        form_kwargs=lambda: {"latest_offset": -1},
    ),
    ReportPage(
        name="deregistrations",
        title=gettext_lazy("消除理由別の消除件数"),
        cadence=gettext_lazy("随時（年度ごと）"),
        description=gettext_lazy("年度内に承認した消除届を、消除理由ごとに集計します。"),
        form_class=FiscalYearForm,
        defaults=lambda today: {"fy": str(fiscal_year(today))},
        build=lambda data: services.deregistrations_by_reason(data["fy"]),
    ),
    ReportPage(
        name="requests",
        title=gettext_lazy("登録後の各種申請の件数"),
        cadence=gettext_lazy("毎年（年度ごとの件数と累計）"),
        description=gettext_lazy(
            "登録事項変更届から ロゴ利用申請 までの8種類の申請・届出の件数を、年度と累計で示します。"
        ),
        form_class=FiscalYearForm,
        defaults=lambda today: {"fy": str(fiscal_year(today))},
        build=lambda data: services.request_counts(data["fy"]),
    ),
    ReportPage(
        name="deemed",
        title=gettext_lazy("みなし受講の実施状況"),
        cadence=gettext_lazy("毎年（年度ごと）"),
        description=gettext_lazy(
            "みなし受講の申請、承認、却下、サンプル調査の抽出と結果（虚偽の判明を含む）の件数を、"
            "シラバスの分野と小項目ごとに集計します。"
        ),
        form_class=DeemedYearForm,
        defaults=lambda today: {"fy": str(fiscal_year(today))},
        build=lambda data: deemed.deemed_attendance(data["fy"]),
    ),
)
PAGES_BY_NAME = {page.name: page for page in PAGES}


def _bound_form(page: ReportPage, request: HttpRequest, today: dt.date) -> ReportForm:
    """The form bound to the query, or to the defaults when no parameter is given."""
    fields = page.form_class.base_fields
    given = {name: request.GET.get(name, "") for name in fields if name in request.GET}
    if not any(given.values()):
        return page.form(page.defaults(today), today)
    return page.form(given, today)


def _download(
    request: HttpRequest, report: services.Report, output: str, page: ReportPage
) -> HttpResponse:
    if output == "csv":
        content, content_type = exports.to_csv(report), exports.CSV_CONTENT_TYPE
    else:
        content, content_type = exports.to_xlsx(report), exports.XLSX_CONTENT_TYPE
    filename = f"{report.filename_stem}.{output}"
    # The missing-course list names people: who took a copy is worth knowing.
    record_event(
        "reports.export",
        actor=request.user,
        target_type="report",
        target_id=report.slug,
        data={"format": output, "filename": filename, "page": page.name},
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _report_view(request: HttpRequest, page: ReportPage) -> HttpResponse:
    today = timezone.localdate()
    form = _bound_form(page, request, today)
    output = request.GET.get("format") or "html"
    valid = form.is_valid()
    if output not in FORMATS:
        form.add_error(None, _("出力形式は csv または xlsx を指定してください。"))
        valid = False
    context: dict[str, Any] = {"page": page, "form": form, "pages": PAGES}
    if not valid:
        return render(request, "reports/report.html", context, status=400)
    report = page.build(form.cleaned_data)
    if output != "html":
        return _download(request, report, output, page)
    params = form.params()
    base = reverse(f"reports:{page.name}")
    context.update(
        report=report,
        sections=presentation.sections(report.tables, max_rows=DISPLAY_ROWS),
        csv_url=f"{base}?{urlencode({**params, 'format': 'csv'})}",
        xlsx_url=f"{base}?{urlencode({**params, 'format': 'xlsx'})}",
        csv_name=f"{report.filename_stem}.csv",
        xlsx_name=f"{report.filename_stem}.xlsx",
    )
    return render(request, "reports/report.html", context)


@operator_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    entries = [(page, page.form(None, today)) for page in PAGES]
    return render(request, "reports/index.html", {"entries": entries})


def _page_view(name: str) -> Callable[[HttpRequest], HttpResponse]:
    page = PAGES_BY_NAME[name]

    @operator_required
    @require_GET
    @never_cache
    def view(request: HttpRequest) -> HttpResponse:
        return _report_view(request, page)

    view.__name__ = view.__qualname__ = name
    view.__doc__ = f"{page.title} ({page.name})"
    return view


registration = _page_view("registration")
courses = _page_view("courses")
missing = _page_view("missing")
deregistrations = _page_view("deregistrations")
requests = _page_view("requests")
deemed_attendance = _page_view("deemed")
