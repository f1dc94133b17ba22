"""The report pages under /ops/reports/: tables, the SVG chart, parameters, downloads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from sekispe.audit.models import AuditEvent
from sekispe.registry.models import CourseCompletion, RegistryRecord
from sekispe.reports import views
from tests.factories import PASSWORD, make_user, text

pytestmark = pytest.mark.django_db

# 2026-11-22 in Tokyo: the latest reporting day is 2026-10-01, the last complete
# half year 2026H1, the last completed fiscal year 2025, the current one 2026.
NOW = dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen(request):
    # Playwright's event loop needs a running clock; the browser test keeps real time.
    if "browser" in request.keywords:
        yield
        return
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ops(client_for, operator):
    return client_for(operator)


def make_record(number: str, **fields) -> RegistryRecord:
    values = {
        "registration_number": number,
        "name": "試験 花子",
        "name_kana": "シケン ハナコ",
        "registered_on": dt.date(2024, 4, 1),
        "expires_on": dt.date(2027, 3, 31),
        "home_prefecture_id": "13",
        "birth_year": 1985,
    }
    values.update(fields)
    return RegistryRecord.objects.create(**values)


PAGES = ["registration", "courses", "missing", "deregistrations", "requests"]


def test_index_lists_every_report_with_its_cadence_and_form(ops):
    response = ops.get(reverse("reports:index"))
    assert response.status_code == 200
    body = text(response)
    for title in ("登録状況報告", "講習実施結果報告", "講習未受講者報告", "消除理由別の消除件数"):
        assert title in body
    assert "半期ごと" in body
    assert "毎年（年度末時点、4月に報告）" in body
    for name in PAGES:
        assert f'action="{reverse(f"reports:{name}")}"' in body
    # Defaults are filled in; ids stay unique with five forms on one page.
    assert 'value="2026-10-01"' in body
    assert '<option value="2026H1" selected>' in body
    ids = re.findall(r'id="(id_[^"]+)"', body)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", PAGES)
def test_each_report_page_has_a_table_and_an_svg_chart(ops, name):
    make_record("600001")
    response = ops.get(reverse(f"reports:{name}"))
    assert response.status_code == 200
    body = text(response)
    assert "<svg" in body
    assert 'role="img"' in body
    assert re.search(r"<svg[^>]*aria-label=\"[^\"]+\"", body)
    assert "<title>" in body
    assert "<caption" in body
    assert '<th scope="col">' in body
    assert '<th scope="row">' in body
    assert "format=csv" in body
    assert "format=xlsx" in body
    assert response["Cache-Control"].startswith("max-age=0")


def test_registration_page_defaults_to_the_latest_reporting_day(ops):
    make_record("600001", home_prefecture_id="01")
    make_record("600002", registered_on=dt.date(2026, 10, 2))
    body = text(ops.get(reverse("reports:registration")))
    assert "2026年10月1日現在" in body
    assert 'value="2026-10-01"' in body
    # 北海道 has the one registrant registered by the reporting day.
    assert '<th scope="row">北海道</th><td class="num">1</td>' in body
    assert "registration-status-2026-10-01.csv" in body


def test_registration_page_with_a_date_and_the_chart_bars(ops):
    make_record("600001", home_prefecture_id="13")
    make_record("600002", home_prefecture_id="13")
    make_record("600003", home_prefecture_id="27")
    body = text(ops.get(reverse("reports:registration"), {"as_of": "2026-04-01"}))
    assert "2026年4月1日現在" in body
    assert '<th scope="row">東京都</th><td class="num">2</td>' in body
    # The longest bar is Tokyo's; Osaka's is half of it.
    widths = dict(
        re.findall(
            r'<text class="bar-label"[^>]*>([^<]+)</text> <rect class="bar" x="\d+" y="\d+" width="(\d+)"',
            body,
        )
    )
    assert int(widths["東京都"]) == 2 * int(widths["大阪府"])
    assert widths["北海道"] == "0"


def test_course_page_by_half_year_and_by_range(ops):
    record = make_record("600001")
    CourseCompletion.objects.create(
        record=record, kind="common", fiscal_year=2026, completed_on=dt.date(2026, 10, 1)
    )
    default = text(ops.get(reverse("reports:courses")))
    assert "2026年度上期" in default
    assert '<th scope="row">共通講習（オンライン）</th><td class="num">0</td>' in default
    second = text(ops.get(reverse("reports:courses"), {"half": "2026H2"}))
    assert '<th scope="row">共通講習（オンライン）</th><td class="num">1</td>' in second
    ranged = ops.get(reverse("reports:courses"), {"start": "2026-10-01", "end": "2026-10-31"})
    assert ranged.status_code == 200
    assert "course-results-2026-10-01-2026-10-31.xlsx" in text(ranged)


def test_missing_page_defaults_to_the_last_completed_year(ops):
    make_record("600001", name="未受講 一郎")
    body = text(ops.get(reverse("reports:missing")))
    assert "2025年度末（2026年3月31日）時点" in body
    assert "未受講 一郎" in body
    assert "2024年度の共通講習、2025年度の共通講習" in body


def test_missing_page_shows_the_first_rows_and_points_to_the_download(ops, monkeypatch):
    monkeypatch.setattr(views, "DISPLAY_ROWS", 2)
    for n in range(5):
        make_record(f"60000{n}")
    body = text(ops.get(reverse("reports:missing"), {"fy": "2025"}))
    assert "先頭の 2 行を表示しています。残りの 3 行" in body
    assert body.count("試験 花子") == 2


def test_deregistration_and_request_pages_default_to_the_current_year(ops):
    assert "2026年度（2026年4月1日〜2027年3月31日）" in text(
        ops.get(reverse("reports:deregistrations"))
    )
    body = text(ops.get(reverse("reports:requests")))
    assert "件数（2026年度）" in body
    assert "（参考）更新申請" in body


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("registration", {"as_of": "2026-13-01"}, "日付を正しく入力してください"),
        ("registration", {"as_of": "yesterday"}, "日付を正しく入力してください"),
        ("registration", {"as_of": "2026-11-23"}, "今日より後の日付は指定できません。"),
        ("registration", {"as_of": "2010-04-01"}, "より前の日付は指定できません。"),
        ("courses", {"half": "2026H3"}, "正しく選択してください"),
        ("courses", {"half": "2030H1"}, "正しく選択してください"),
        ("courses", {"half": "2026H1", "start": "2026-04-01"}, "どちらか一方"),
        ("courses", {"start": "2026-05-01"}, "期間の末日を入力してください。"),
        ("courses", {"start": "2026-05-01", "end": "2026-04-30"}, "末日は初日と同じ日か"),
        ("missing", {"fy": "abc"}, "正しく選択してください"),
        ("missing", {"fy": "2026"}, "正しく選択してください"),  # the year has not ended
        ("deregistrations", {"fy": "1999"}, "正しく選択してください"),
        ("requests", {"fy": "2026", "format": "pdf"}, "出力形式は csv または xlsx"),
        ("requests", {"fy": "99999999999999999999"}, "正しく選択してください"),
    ],
)
def test_invalid_parameters_show_the_form_with_an_error(ops, name, params, message):
    response = ops.get(reverse(f"reports:{name}"), params)
    assert response.status_code == 400
    body = text(response)
    assert 'class="error-summary"' in body
    assert message in body
    assert "<svg" not in body
    assert 'aria-invalid="true"' in body or "format" in params or "half" in params


def test_invalid_export_request_is_not_a_download(ops):
    response = ops.get(reverse("reports:missing"), {"fy": "abc", "format": "csv"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_csv_download(ops, operator):
    make_record("600001", home_prefecture_id="13")
    response = ops.get(reverse("reports:registration"), {"as_of": "2026-10-01", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="registration-status-2026-10-01.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert rows[:2] == [["登録の状態別"], ["登録の状態", "人数"]]
    assert ["東京都", "1"] in rows
    event = AuditEvent.objects.get(action="reports.export")
    assert event.actor == operator
    assert event.target_id == "registration-status"
    assert event.data["filename"] == "registration-status-2026-10-01.csv"


def test_csv_download_uses_the_defaults_without_parameters(ops):
    response = ops.get(reverse("reports:courses"), {"format": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="course-results-2026H1.csv"'


@pytest.mark.parametrize(
    ("name", "params", "filename", "sheets"),
    [
        ("registration", {}, "registration-status-2026-10-01.xlsx", 6),
        ("courses", {"half": "2025H2"}, "course-results-2025H2.xlsx", 2),
        ("missing", {"fy": "2024"}, "missing-courses-FY2024.xlsx", 2),
        ("deregistrations", {"fy": "2025"}, "deregistrations-FY2025.xlsx", 1),
        ("requests", {"fy": "2025"}, "request-counts-FY2025.xlsx", 1),
    ],
)
def test_xlsx_downloads(ops, name, params, filename, sheets):
    make_record("600001")
    response = ops.get(reverse(f"reports:{name}"), {**params, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == sheets
    assert all(len(name) <= 31 for name in book.sheetnames)


def test_pages_are_for_operators_only(client_for, specialist):
    response = client_for(specialist).get(reverse("reports:missing"), {"format": "csv"})
    assert response.status_code == 403


@pytest.fixture
def browser_data(transactional_db):
    for n, prefecture in enumerate(["13", "13", "13", "13", "27", "27", "01"]):
        make_record(f"61000{n}", home_prefecture_id=prefecture)
    return make_user("operator", "reports@ipa.example.jp")


@pytest.mark.browser
def test_chart_draws_under_the_csp_and_the_csv_downloads(browser_data, live_server, browser_page):
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="email"]', browser_data.email)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/ops/reports/")
    page.get_by_role("button", name="表示する").first.click()
    page.wait_for_load_state()
    assert "/ops/reports/registration/?as_of=" in page.url

    chart = page.get_by_role("img", name="自宅都道府県別（登録中）")
    bars = chart.locator("rect.bar")
    assert bars.count() == 47
    tokyo, osaka = bars.nth(12).bounding_box(), bars.nth(26).bounding_box()
    assert tokyo["width"] > 100
    assert tokyo["width"] == pytest.approx(2 * osaka["width"], rel=0.02)
    # The stylesheet, not an inline style the CSP would refuse, colours the bars.
    assert bars.nth(12).evaluate("e => getComputedStyle(e).fill") == "rgb(11, 79, 138)"

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("CSV でダウンロード")).click()
    assert re.fullmatch(
        r"registration-status-\d{4}-(04|10)-01\.csv", download.value.suggested_filename
    )
    assert Path(download.value.path()).read_bytes().startswith(b"\xef\xbb\xbf")
    assert not problems, problems
