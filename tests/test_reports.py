"""The report services and their CSV / xlsx exports, on crafted registry data."""

from __future__ import annotations

import csv
import datetime as dt
import io
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from sekispe.lib.text import text_width
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registry.models import CourseCompletion, DisasterMeasure, RegistryRecord
from sekispe.reports import exports, services
from sekispe.reports.charts import BAR_AREA, bar_chart
from sekispe.reports.services import HalfYear

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")
_numbers = count(500001)


def record(**fields: Any) -> RegistryRecord:
    values: dict[str, Any] = {
        "registration_number": f"{next(_numbers):06d}",
        "name": "試験 太郎",
        "name_kana": "シケン タロウ",
        "registered_on": dt.date(2024, 4, 1),
        "expires_on": dt.date(2027, 3, 31),
        "home_prefecture_id": "13",
        "birth_year": 1980,
    }
    values.update(fields)
    return RegistryRecord.objects.create(**values)


def course(rec: RegistryRecord, kind: str, day: dt.date, provider: str = "") -> None:
    CourseCompletion.objects.create(
        record=rec,
        kind=kind,
        completed_on=day,
        fiscal_year=day.year if day.month >= 4 else day.year - 1,
        provider=provider,
    )


def request(
    kind: str,
    *,
    status: str = RequestStatus.APPROVED,
    fiscal_year: int = 2025,
    decided_at: dt.datetime | None = None,
    payload: dict[str, Any] | None = None,
    rec: RegistryRecord | None = None,
) -> RegistrantRequest:
    return RegistrantRequest.objects.create(
        record=rec or record(),
        kind=kind,
        status=status,
        payload=payload if payload is not None else {},
        fiscal_year=fiscal_year,
        submitted_at=dt.datetime(fiscal_year, 6, 1, 10, tzinfo=JST),
        decided_at=decided_at,
    )


def table(report: services.Report, key: str) -> services.Table:
    return next(t for t in report.tables if t.key == key)


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("day", "code"),
    [
        (dt.date(2026, 3, 31), "2025H2"),
        (dt.date(2026, 4, 1), "2026H1"),
        (dt.date(2026, 9, 30), "2026H1"),
        (dt.date(2026, 10, 1), "2026H2"),
        (dt.date(2027, 1, 15), "2026H2"),
    ],
)
def test_half_year_containing(day, code):
    assert HalfYear.containing(day).code == code


def test_half_year_bounds_and_previous():
    first, second = HalfYear.parse("2026H1"), HalfYear.parse("2026H2")
    assert (first.start, first.end) == (dt.date(2026, 4, 1), dt.date(2026, 9, 30))
    assert (second.start, second.end) == (dt.date(2026, 10, 1), dt.date(2027, 3, 31))
    assert second.previous() == first
    assert first.previous() == HalfYear(2025, 2)
    assert first.label == "2026年度上期"
    assert second.label == "2026年度下期"


@pytest.mark.parametrize("code", ["2026H3", "2026", "H1", "26H1", ""])
def test_half_year_parse_refuses(code):
    with pytest.raises(ValueError):
        HalfYear.parse(code)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 11, 22), dt.date(2026, 10, 1)),
        (dt.date(2026, 10, 1), dt.date(2026, 10, 1)),
        (dt.date(2026, 9, 30), dt.date(2026, 4, 1)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 1)),
        (dt.date(2026, 3, 31), dt.date(2025, 10, 1)),
        (dt.date(2026, 1, 1), dt.date(2025, 10, 1)),
    ],
)
def test_report_day_on_or_before(today, expected):
    assert services.report_day_on_or_before(today) == expected


def test_defaults_for_the_other_reports():
    assert services.last_complete_half(dt.date(2026, 11, 22)).code == "2026H1"
    assert services.last_complete_half(dt.date(2026, 4, 1)).code == "2025H2"
    assert services.last_completed_fiscal_year(dt.date(2026, 11, 22)) == 2025
    assert services.last_completed_fiscal_year(dt.date(2026, 3, 31)) == 2024
    assert services.fiscal_year_bounds(2025) == (dt.date(2025, 4, 1), dt.date(2026, 3, 31))


# ---------------------------------------------------------------- 1. registration status


def test_registration_status_counts_each_section():
    as_of = dt.date(2026, 10, 1)
    record(home_prefecture_id="13", birth_year=1990, renewal_count=0)  # 36: 30代
    record(home_prefecture_id="01", birth_year=2007, renewal_count=1)  # 19: 20歳未満
    record(home_prefecture_id="47", birth_year=None, renewal_count=2)  # 不明
    record(home_prefecture_id="13", birth_year=1966, renewal_count=5)  # 60: 60代以上
    record(home_prefecture_id="13", birth_year=1997, registered_on=as_of)  # 29: 20代, on the day
    record(status="expired", home_prefecture_id="27", birth_year=1970)
    record(status="deregistered", ended_on=dt.date(2025, 5, 1))
    record(status="deceased", ended_on=dt.date(2025, 5, 1))
    record(status="revoked", ended_on=dt.date(2026, 6, 1))
    # Registered the day after: left out of every section.
    record(registered_on=dt.date(2026, 10, 2), home_prefecture_id="13", birth_year=1990)

    report = services.registration_status(as_of)

    assert report.filename_stem == "registration-status-2026-10-01"
    assert report.period == "2026年10月1日現在"
    assert [t.key for t in report.tables] == [
        "status",
        "prefecture",
        "age",
        "renewals",
        "new-exam-season",
        "new-industry",
    ]
    status = table(report, "status")
    assert status.headers == ("登録の状態", "人数")
    assert status.rows == (
        ("登録中", 5),
        ("失効", 1),
        ("登録抹消", 1),
        ("死亡", 1),
        ("登録取消", 1),
    )
    assert status.total == ("合計", 9)

    prefecture = table(report, "prefecture")
    assert len(prefecture.rows) == 47
    assert prefecture.rows[0] == ("北海道", 1)
    assert prefecture.rows[12] == ("東京都", 3)
    assert prefecture.rows[26] == ("大阪府", 0)  # expired registrants are not counted here
    assert prefecture.rows[46] == ("沖縄県", 1)
    assert sum(n for _name, n in prefecture.rows) == 5
    assert prefecture.total == ("合計", 5)

    assert table(report, "age").rows == (
        ("20歳未満", 1),
        ("20代", 1),
        ("30代", 1),
        ("40代", 0),
        ("50代", 0),
        ("60代以上", 1),
        ("不明", 1),
    )
    assert table(report, "renewals").rows == (("0回", 2), ("1回", 1), ("2回", 1), ("3回以上", 1))
    # Every table with numbers feeds its chart.
    assert table(report, "age").chart == table(report, "age").rows


def test_registration_status_with_no_registrants_keeps_zero_rows():
    report = services.registration_status(dt.date(2026, 4, 1))
    assert len(table(report, "prefecture").rows) == 47
    assert all(n == 0 for _label, n in table(report, "prefecture").rows)
    assert table(report, "status").total == ("合計", 0)


# ---------------------------------------------------------------- 2. course results


def test_course_results_per_kind_and_provider_within_the_half_year():
    a, b, c = record(), record(), record()
    course(a, "common", dt.date(2026, 4, 1))  # first day of 上期
    course(b, "common", dt.date(2026, 9, 30), provider="IPA")  # last day
    course(a, "common", dt.date(2026, 3, 31))  # 下期 of FY2025: out
    course(c, "common", dt.date(2026, 10, 1))  # 下期 of FY2026: out
    course(a, "practical", dt.date(2026, 6, 1))
    course(c, "specific", dt.date(2026, 5, 1), provider="株式会社A")
    course(a, "specific", dt.date(2026, 7, 1), provider="株式会社A")
    course(c, "specific", dt.date(2026, 8, 1), provider="株式会社B")
    # Deemed attendance is no course held: it has its own report.
    course(b, "deemed", dt.date(2026, 8, 15), provider="みなし受講")

    half = HalfYear.parse("2026H1")
    report = services.course_results(half.start, half.end, label=half.label)

    assert report.filename_stem == "course-results-2026H1"
    assert report.period.startswith("2026年度上期")
    kinds = table(report, "kind")
    assert kinds.headers == ("講習種別", "修了件数", "修了者数（実人数）")
    assert kinds.rows == (
        ("共通講習（オンライン）", 2, 2),
        ("実践講習（IPA）", 1, 1),
        ("特定講習", 3, 2),
    )
    # Three people in all, though the per-kind counts add up to five.
    assert kinds.total == ("合計", 6, 3)
    providers = table(report, "provider")
    assert providers.rows == (
        ("共通講習（オンライン）", "IPA", 2, 2),  # blank provider and "IPA" are one row
        ("実践講習（IPA）", "IPA", 1, 1),
        ("特定講習", "株式会社A", 2, 2),
        ("特定講習", "株式会社B", 1, 1),
    )
    assert providers.total == ("合計", "", 6, 3)


def test_course_results_next_half_year_and_custom_range():
    a = record()
    course(a, "common", dt.date(2026, 9, 30))
    course(a, "common", dt.date(2026, 10, 1))
    course(a, "practical", dt.date(2027, 3, 31))
    course(a, "practical", dt.date(2027, 4, 1))
    second = HalfYear.parse("2026H2")
    report = services.course_results(second.start, second.end, label=second.label)
    assert table(report, "kind").rows[:2] == (
        ("共通講習（オンライン）", 1, 1),
        ("実践講習（IPA）", 1, 1),
    )

    custom = services.course_results(dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    assert custom.filename_stem == "course-results-2026-09-01-2026-10-31"
    assert table(custom, "kind").total == ("合計", 2, 1)


# ---------------------------------------------------------------- 3. missing courses


@pytest.fixture
def cohorts() -> dict[str, RegistryRecord]:
    """April and October cohorts in the state the FY2025 year end (2026-03-31) finds them."""
    made = {
        # April cohort, 2024-04-01 .. 2027-03-31: common courses due 2025-03-31 and 2026-03-31.
        "complete": record(name="全部 済み"),
        "one_missing": record(name="一つ 不足"),
        "none": record(name="全部 未受講"),
        # October cohort, 2024-10-01 .. 2027-09-30: only the first year is due by 2026-03-31.
        "october": record(registered_on=dt.date(2024, 10, 1), expires_on=dt.date(2027, 9, 30)),
        # Period ending 2026-03-31: everything due by the deadline 2026-01-30.
        "no_practical": record(registered_on=dt.date(2023, 4, 1), expires_on=dt.date(2026, 3, 31)),
        # Periods starting in FY2025: the April one's first year ends on the year end.
        "new_april": record(registered_on=dt.date(2025, 4, 1), expires_on=dt.date(2028, 3, 31)),
        "new_october": record(registered_on=dt.date(2025, 10, 1), expires_on=dt.date(2028, 9, 30)),
        "expired": record(status="expired"),
        "registered_later": record(registered_on=dt.date(2026, 4, 1)),
        "waived": record(home_prefecture_id="17"),
    }
    course(made["complete"], "common", dt.date(2024, 6, 1))
    course(made["complete"], "common", dt.date(2025, 6, 1))
    course(made["one_missing"], "common", dt.date(2024, 6, 1))
    for day in (dt.date(2023, 5, 1), dt.date(2024, 5, 1), dt.date(2025, 5, 1)):
        course(made["no_practical"], "common", day)
    measure = DisasterMeasure.objects.create(
        title="令和7年 豪雨",
        deadline_from=dt.date(2025, 1, 1),
        deadline_to=dt.date(2027, 2, 1),
        new_deadline=dt.date(2027, 3, 1),
        waived_courses=["common"],
    )
    made["waived"].extension_measure = measure
    made["waived"].save()
    return made


def test_missing_courses_at_the_fiscal_year_end(cohorts, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        report = services.missing_courses(2025)

    assert report.filename_stem == "missing-courses-FY2025"
    assert report.period == "2025年度末（2026年3月31日）時点"
    listing = table(report, "list")
    assert listing.headers == ("登録番号", "氏名", "自宅都道府県", "有効期限", "未受講の講習")
    by_number = {row[0]: row for row in listing.rows}
    assert set(by_number) == {
        cohorts[key].registration_number
        for key in ("one_missing", "none", "october", "no_practical", "new_april")
    }
    assert by_number[cohorts["new_april"].registration_number][4] == "2025年度の共通講習"
    # Due on 31 March, the last day of the year: already missed at the year end.
    assert by_number[cohorts["one_missing"].registration_number][4] == "2025年度の共通講習"
    assert by_number[cohorts["none"].registration_number] == (
        cohorts["none"].registration_number,
        "全部 未受講",
        "東京都",
        dt.date(2027, 3, 31),
        "2024年度の共通講習、2025年度の共通講習",
    )
    assert (
        by_number[cohorts["october"].registration_number][4]
        == "共通講習（2024年10月1日〜2025年9月30日）"
    )
    assert (
        by_number[cohorts["no_practical"].registration_number][4]
        == "実践講習または特定講習（いずれか1つ）"
    )
    assert [row[0] for row in listing.rows] == sorted(by_number)

    summary = table(report, "summary")
    assert summary.rows == (
        ("2024年度の共通講習", 1),
        ("共通講習（2024年10月1日〜2025年9月30日）", 1),
        ("2025年度の共通講習", 3),
        ("実践講習または特定講習（いずれか1つ）", 1),
    )
    assert summary.total == ("未受講者（実人数）", 5)


def test_missing_courses_one_year_earlier(cohorts):
    """At the FY2024 year end (2025-03-31) only the first April year was due."""
    listing = table(services.missing_courses(2024), "list")
    assert {row[0]: row[4] for row in listing.rows} == {
        cohorts["none"].registration_number: "2024年度の共通講習",
    }


def test_missing_courses_query_count_does_not_grow(django_assert_max_num_queries):
    for _ in range(60):
        course(record(), "common", dt.date(2024, 6, 1))
    with django_assert_max_num_queries(3):
        report = services.missing_courses(2025)
    assert table(report, "summary").total == ("未受講者（実人数）", 60)


# ---------------------------------------------------------------- 4. deregistrations


def test_deregistrations_by_reason_in_the_fiscal_year():
    dereg = RequestKind.DEREGISTRATION

    def decided(*args: int) -> dt.datetime:
        return dt.datetime(*args, tzinfo=JST)

    with_request = record(status="deregistered", ended_on=dt.date(2025, 6, 1))
    request(
        dereg, decided_at=decided(2025, 4, 1, 0, 0), payload={"reason": "cost"}, rec=with_request
    )
    request(dereg, decided_at=decided(2026, 3, 31, 23, 59), payload={"reason": "cost"})
    request(dereg, decided_at=decided(2025, 3, 31, 23, 59), payload={"reason": "cost"})  # FY2024
    request(dereg, decided_at=decided(2026, 4, 1, 0, 0), payload={"reason": "cost"})  # FY2026
    request(dereg, decided_at=decided(2025, 7, 1, 9), payload={"reason": "other"})
    request(
        dereg,
        status=RequestStatus.REJECTED,
        decided_at=decided(2025, 7, 1, 9),
        payload={"reason": "cost"},
    )
    request(dereg, status=RequestStatus.SUBMITTED, payload={"reason": "cost"})
    request(dereg, decided_at=decided(2025, 8, 1, 9), payload={})  # no reason recorded
    request(RequestKind.CARD_REISSUE, decided_at=decided(2025, 8, 1, 9), payload={"reason": "cost"})
    # Deregistered without a request (imported): counted in the year it ended.
    record(status="deregistered", ended_on=dt.date(2025, 6, 1))
    record(status="deregistered", ended_on=dt.date(2026, 4, 1))  # FY2026
    record(status="deceased", ended_on=dt.date(2025, 6, 1))

    report = services.deregistrations_by_reason(2025)

    assert report.filename_stem == "deregistrations-FY2025"
    reasons = table(report, "reasons")
    assert reasons.headers == ("消除理由", "件数")
    assert reasons.rows == (
        ("費用負担が重い", 2),
        ("講習受講の負担が大きい", 0),
        ("業務で資格が必要なくなった", 0),
        ("勤務先の方針", 0),
        ("退職・引退", 0),
        ("その他", 1),
        ("理由の記録なし（取込データ等）", 2),
    )
    assert reasons.total == ("合計", 5)
    assert table(services.deregistrations_by_reason(2026), "reasons").rows[0] == (
        "費用負担が重い",
        1,
    )


# ---------------------------------------------------------------- 5. request counts


def test_request_counts_for_the_year_and_cumulative():
    request(RequestKind.CONTACT_CHANGE, fiscal_year=2024)
    request(RequestKind.CONTACT_CHANGE, fiscal_year=2024)
    request(RequestKind.CONTACT_CHANGE, fiscal_year=2025)
    request(RequestKind.CONTACT_CHANGE, fiscal_year=2025, status=RequestStatus.REJECTED)
    request(RequestKind.CONTACT_CHANGE, fiscal_year=2025, status=RequestStatus.SUBMITTED)
    request(RequestKind.CONTACT_CHANGE, fiscal_year=2026)  # after the year: not cumulative
    request(RequestKind.LOGO_USE, fiscal_year=2025)
    request(RequestKind.DEATH, fiscal_year=2020)
    request(RequestKind.RENEWAL, fiscal_year=2025)
    request(RequestKind.RENEWAL, fiscal_year=2023)

    report = services.request_counts(2025)
    requests = table(report, "requests")
    assert requests.headers == ("申請書名", "件数（2025年度）", "件数（累計）")
    assert requests.rows == (
        ("登録事項変更届", 0, 0),
        ("登録証再発行届", 0, 0),
        ("連絡先変更届", 3, 5),
        ("公開届", 0, 0),
        ("消除届", 0, 0),
        ("死亡届", 0, 1),
        ("徽章貸与申請", 0, 0),
        ("ロゴ利用申請", 1, 1),
        ("（参考）更新申請", 1, 2),
    )
    # The chart shows the eight kinds of 000's table, not the renewal row.
    assert len(requests.chart) == 8


# ---------------------------------------------------------------- chart geometry


def test_bar_chart_scales_to_the_largest_value():
    chart = bar_chart("c", "件数", [("東京都", 200), ("大阪府", 50), ("沖縄県", 1), ("北海道", 0)])
    widths = [bar.width for bar in chart.bars]
    assert widths == [BAR_AREA, BAR_AREA // 4, 2, 0]
    assert chart.bars[0].display == "200"
    # Labels end before the bars start; bars follow one another downwards.
    assert chart.label_x < chart.bar_x
    assert [bar.y for bar in chart.bars] == sorted(bar.y for bar in chart.bars)
    assert chart.height > chart.bars[-1].y + chart.bar_height


def test_bar_chart_small_values_stay_visible_and_zero_series_draws_nothing():
    chart = bar_chart("c", "t", [("a", 100000), ("b", 1)])
    assert chart.bars[1].width == 1
    assert chart.bars[0].display == "100,000"
    empty = bar_chart("c", "t", [("a", 0), ("b", 0)])
    assert [bar.width for bar in empty.bars] == [0, 0]


def test_text_width_counts_full_width_characters_wider():
    assert text_width("東京都") > text_width("Tok")


# ---------------------------------------------------------------- exports


def expected_csv_rows(report: services.Report) -> list[list[str]]:
    rows: list[list[str]] = []
    several = len(report.tables) > 1
    for n, t in enumerate(report.tables):
        if several:
            if n:
                rows.append([])
            rows.append([t.title])
        rows.append(list(t.headers))
        for row in (*t.rows, *((t.total,) if t.total else ())):
            rows.append([c.isoformat() if isinstance(c, dt.date) else str(c) for c in row])
    return rows


def test_csv_of_a_multi_table_report_has_bom_crlf_and_section_titles():
    record(home_prefecture_id="13")
    report = services.registration_status(dt.date(2026, 10, 1))
    data = exports.to_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    assert "\n" not in text.replace("\r\n", "")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed == expected_csv_rows(report)
    assert parsed[0] == ["登録の状態別"]
    assert parsed[1] == ["登録の状態", "人数"]
    assert ["東京都", "1"] in parsed


def test_csv_of_a_single_table_report_starts_with_its_header():
    report = services.request_counts(2025)
    parsed = list(csv.reader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"), newline="")))
    assert parsed[0] == ["申請書名", "件数（2025年度）", "件数（累計）"]
    assert parsed == expected_csv_rows(report)


def test_xlsx_has_a_sheet_per_table_with_typed_values():
    record(home_prefecture_id="13", name="山田 一郎")
    report = services.missing_courses(2025)
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    assert book.sheetnames == ["集計", "一覧"]
    listing = book["一覧"]
    rows = list(listing.iter_rows(values_only=True))
    assert rows[0] == ("登録番号", "氏名", "自宅都道府県", "有効期限", "未受講の講習")
    assert rows[1][:3] == (report.tables[1].rows[0][0], "山田 一郎", "東京都")
    # openpyxl reads a date cell back as a (naive) datetime.
    assert rows[1][3].date() == dt.date(2027, 3, 31)
    assert rows[1][4] == "2024年度の共通講習、2025年度の共通講習"
    assert listing["D2"].is_date
    assert listing["A1"].font.b
    assert listing.column_dimensions["E"].width > listing.column_dimensions["C"].width
    summary = book["集計"]
    assert [c.value for c in summary[1]] == ["未受講の講習", "人数"]
    assert summary["B2"].value == 1
    assert summary["B2"].data_type == "n"
    total = list(summary.iter_rows(values_only=True))[-1]
    assert total == ("未受講者（実人数）", 1)
    assert summary.freeze_panes == "A2"


def test_xlsx_sheet_names_of_the_registration_report():
    book = load_workbook(
        io.BytesIO(exports.to_xlsx(services.registration_status(dt.date(2026, 4, 1))))
    )
    assert book.sheetnames == [
        "状態別",
        "都道府県別",
        "年齢層別",
        "更新回数別",
        "新規・試験の期別",
        "新規・業種別",
    ]
    prefectures = list(book["都道府県別"].iter_rows(values_only=True))
    assert prefectures[0] == ("自宅都道府県", "人数")
    assert prefectures[1] == ("北海道", 0)
    assert len(prefectures) == 1 + 47 + 1


def test_formulas_in_names_are_neutralised_in_both_formats():
    record(name='=HYPERLINK("http://evil.example","x")')
    record(name="+SUM(1,2)")
    report = services.missing_courses(2025)
    parsed = list(csv.reader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"), newline="")))
    names = {row[1] for row in parsed if len(row) == 5}
    assert '\'=HYPERLINK("http://evil.example","x")' in names
    assert "'+SUM(1,2)" in names
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    cells = [row[1] for row in book["一覧"].iter_rows(min_row=2)]
    formula = next(c for c in cells if str(c.value).startswith("="))
    assert formula.data_type == "s"
    assert formula.value == '=HYPERLINK("http://evil.example","x")'


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("状態別", "状態別"),
        ("a[b]c:d*e?f/g\\h", "a_b_c_d_e_f_g_h"),
        ("x" * 40, "x" * 31),
        ("'quoted'", "quoted"),
    ],
)
def test_sheet_names_are_legal(name, expected):
    assert exports.sheet_name(name, set()) == expected


def test_sheet_names_are_unique():
    taken: set[str] = set()
    first = exports.sheet_name("y" * 40, taken)
    second = exports.sheet_name("Y" * 40, taken)
    assert first == "y" * 31
    assert second == "Y" * 28 + "(2)"
    assert len(second) == 31
