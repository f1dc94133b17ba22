"""The deemed-attendance report (/ops/reports/deemed-attendance/): what is
counted in which fiscal year, by syllabus area and sub-item, and the page,
CSV and xlsx like the other reports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from sekispe.deemed import services
from sekispe.deemed.models import DeemedStatus
from sekispe.reference.models import SyllabusItem
from sekispe.reports import exports
from sekispe.reports.deemed import DeemedRow, deemed_attendance, deemed_rows
from sekispe.reports.forms import DeemedYearForm
from tests.deemed_support import make_application, make_registrant
from tests.factories import make_user, text

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
# The registrants' period runs to 2028-03-31 wherever the clock is set below
# (the renewal-application deadline is 2028-01-31).
PERIOD_ENDS = dt.date(2028, 3, 31)


def at(*args: int) -> time_machine.travel:
    return time_machine.travel(dt.datetime(*args, tzinfo=TOKYO), tick=False)


def registrant():
    return make_registrant((PERIOD_ENDS - timezone.localdate()).days)


def row(rows: list[DeemedRow], code: str) -> tuple:
    return next(r for r in rows if r.code == code).cells()[1:]


@pytest.fixture
def history(operator) -> dict[str, object]:
    """Applications across FY2025 and FY2026 (1 April, Tokyo time, is the boundary)."""
    with at(2026, 3, 31, 23, 30):  # FY2025
        boundary = make_application(registrant(), syllabus_item="2-1")
    with at(2026, 4, 1, 0, 30):  # FY2026: its approval
        services.approve(boundary, operator)
    with at(2026, 5, 10, 10):
        approved = make_application(registrant(), status=DeemedStatus.APPROVED, syllabus_item="1-1")
        confirmed = make_application(
            registrant(), status=DeemedStatus.APPROVED, syllabus_item="1-2"
        )
        rejected = make_application(registrant(), status=DeemedStatus.REJECTED, syllabus_item="3-1")
        false = make_application(registrant(), status=DeemedStatus.APPROVED, syllabus_item="4-1")
        awaiting = make_application(
            registrant(), status=DeemedStatus.AWAITING_CERTIFICATION, syllabus_item="4-2"
        )
    with at(2026, 10, 1, 10):
        draw = services.draw_audit("1", seed=5, actor_label="test")
    with at(2026, 10, 20, 10):
        services.record_audit_outcome(confirmed, operator, false_claim=False, note="確認した。")
        services.record_audit_outcome(false, operator, false_claim=True, note="虚偽だった。")
    with at(2027, 4, 2, 10):  # FY2027: another application and its rejection
        later = make_application(registrant(), status=DeemedStatus.REJECTED, syllabus_item="1-1")
    return {
        "boundary": boundary,
        "approved": approved,
        "confirmed": confirmed,
        "rejected": rejected,
        "false": false,
        "awaiting": awaiting,
        "draw": draw,
        "later": later,
    }


def test_each_column_counts_what_happened_in_the_year(history):
    assert sorted(history["draw"].drawn) == sorted(
        history[k].pk for k in ("boundary", "approved", "confirmed", "false")
    )
    areas, items = deemed_rows(2026)
    # applications, approved, rejected, audited, confirmed, false claims
    assert row(areas, "1") == (2, 2, 0, 2, 1, 0)
    # Applied on 31 March (FY2025), approved on 1 April: the approval is FY2026's.
    assert row(areas, "2") == (0, 1, 0, 1, 0, 0)
    assert row(areas, "3") == (1, 0, 1, 0, 0, 0)
    # A false claim is still an approval of its year; awaiting certification is an application.
    assert row(areas, "4") == (2, 1, 0, 1, 0, 1)
    assert row(items, "1-1") == (1, 1, 0, 1, 0, 0)
    assert row(items, "1-2") == (1, 1, 0, 1, 1, 0)
    assert row(items, "4-2") == (1, 0, 0, 0, 0, 0)
    assert len(items) == SyllabusItem.objects.count()
    assert [r.code for r in areas] == ["1", "2", "3", "4"]

    earlier, _items = deemed_rows(2025)
    assert row(earlier, "2") == (1, 0, 0, 0, 0, 0)
    assert sum(r.applications for r in earlier) == 1
    later, _items = deemed_rows(2027)
    assert row(later, "1") == (1, 0, 1, 0, 0, 0)


def test_the_report_has_an_area_table_with_a_total_and_a_sub_item_table(history):
    report = deemed_attendance(2026)
    assert report.slug == "deemed-attendance"
    assert report.filename_stem == "deemed-attendance-FY2026"
    assert report.period == "2026年度（2026年4月1日〜2027年3月31日）"
    areas, sub_items = report.tables
    assert areas.headers == (
        "分野（大項目）",
        "申請件数",
        "承認",
        "却下",
        "サンプル調査（抽出）",
        "調査で事実と確認",
        "虚偽と判明",
    )
    assert areas.total == ("合計", 5, 4, 1, 4, 1, 1)
    assert sub_items.total == areas.total
    assert [n for _label, n in areas.chart] == [2, 0, 1, 2]
    assert areas.rows[0][0].startswith("1 ")


def test_the_counts_take_a_fixed_number_of_queries(history, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        deemed_rows(2026)


def test_csv_and_xlsx_carry_the_same_numbers(history):
    report = deemed_attendance(2026)
    parsed = list(csv.reader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"), newline="")))
    assert parsed[0] == ["シラバスの分野別"]
    assert parsed[1][0] == "分野（大項目）"
    assert parsed[6] == ["合計", "5", "4", "1", "4", "1", "1"]
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    assert book.sheetnames == ["分野別", "小項目別"]
    rows = list(book["分野別"].iter_rows(values_only=True))
    assert rows[-1] == ("合計", 5, 4, 1, 4, 1, 1)
    assert len(list(book["小項目別"].iter_rows())) == SyllabusItem.objects.count() + 2


# ------------------------------------------------------------------ the page


@pytest.fixture
def ops(client_for, operator):
    return client_for(operator)


def test_the_page_defaults_to_the_current_fiscal_year(ops, history):
    with at(2026, 11, 22, 12):
        response = ops.get("/ops/reports/deemed-attendance/")
    assert response.status_code == 200
    body = text(response)
    assert "みなし受講の実施状況" in body
    assert '<option value="2026" selected>' in body
    assert "2026年度（2026年4月1日〜2027年3月31日）" in body
    assert "シラバスの分野別" in body and "シラバスの小項目別" in body
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart"' in body
    assert "deemed-attendance-FY2026.csv" in body


def test_the_index_lists_the_report(ops):
    body = text(ops.get("/ops/reports/"))
    assert "みなし受講の実施状況" in body
    assert 'action="/ops/reports/deemed-attendance/"' in body


def test_downloads_like_the_other_reports(ops, history):
    csv_response = ops.get("/ops/reports/deemed-attendance/", {"fy": "2026", "format": "csv"})
    assert csv_response.status_code == 200
    assert (
        csv_response["Content-Disposition"] == 'attachment; filename="deemed-attendance-FY2026.csv"'
    )
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    xlsx = ops.get("/ops/reports/deemed-attendance/", {"fy": "2026", "format": "xlsx"})
    assert xlsx["Content-Disposition"] == 'attachment; filename="deemed-attendance-FY2026.xlsx"'
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["分野別", "小項目別"]


def test_a_bad_year_is_a_form_error(ops):
    response = ops.get("/ops/reports/deemed-attendance/", {"fy": "1999"})
    assert response.status_code == 400
    # The scheme starts in FY2026 (003), so earlier years are not offered.
    assert ops.get("/ops/reports/deemed-attendance/", {"fy": "2025"}).status_code == 400
    years = DeemedYearForm(today=dt.date(2028, 5, 1)).fields["fy"].choices
    assert [year for year, _label in years] == [2028, 2027, 2026]


def test_only_operators(client_for):
    sme = make_user("sme")
    assert client_for(sme).get("/ops/reports/deemed-attendance/").status_code == 403
