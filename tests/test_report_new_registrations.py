"""The registration status report breaks the new registrations down by the
exam sitting passed and the employer's industry (issue 16, section 4, as 000's
statistics do); records without the data count as 不明."""

from __future__ import annotations

import csv
import datetime as dt
import io
from itertools import count
from typing import Any

import pytest
from openpyxl import load_workbook

from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.reports import exports, services

pytestmark = pytest.mark.django_db

_numbers = count(700001)
AS_OF = dt.date(2026, 10, 1)


def record(**fields: Any) -> RegistryRecord:
    values: dict[str, Any] = {
        "registration_number": f"{next(_numbers):06d}",
        "name": "新規 花子",
        "name_kana": "シンキ ハナコ",
        "registered_on": AS_OF,
        "expires_on": dt.date(2029, 9, 30),
        "home_prefecture_id": "13",
    }
    values.update(fields)
    return RegistryRecord.objects.create(**values)


def table(report: services.Report, key: str) -> services.Table:
    return next(t for t in report.tables if t.key == key)


@pytest.fixture
def registrants() -> None:
    record(exam_year=2025, exam_season="autumn", employer_industry_id="G")
    record(exam_year=2025, exam_season="autumn", employer_industry_id="G")
    record(exam_year=2026, exam_season="spring", employer_industry_id="E")
    record(exam_year=2025, exam_season="spring")  # no employer
    record(exemption_basis="approved_course", employer_industry_id="L")
    record()  # imported: nothing on file
    # Left out: they registered before the window or after the report day.
    record(registered_on=dt.date(2026, 4, 1), exam_year=2025, exam_season="spring")
    record(registered_on=dt.date(2026, 10, 2), exam_year=2026, exam_season="spring")
    # A new registrant who has already left still registered in the window.
    record(
        status=RegistryStatus.DEREGISTERED,
        ended_on=dt.date(2026, 10, 1),
        exam_year=2024,
        exam_season="autumn",
        employer_industry_id="G",
    )


def test_new_registrations_by_exam_season(registrants):
    report = services.registration_status(AS_OF)

    seasons = table(report, "new-exam-season")
    assert seasons.title == "新規登録者の合格した試験の期別（2026年4月2日〜10月1日）"
    assert seasons.headers == ("合格した試験", "人数")
    assert seasons.rows == (
        ("令和6年度（2024年度） 秋期", 1),
        ("令和7年度（2025年度） 春期", 1),
        ("令和7年度（2025年度） 秋期", 2),
        ("令和8年度（2026年度） 春期", 1),
        ("試験の免除", 1),
        ("不明", 1),
    )
    assert seasons.total == ("合計", 7)
    assert seasons.chart == seasons.rows


def test_new_registrations_by_employer_industry(registrants):
    industries = table(services.registration_status(AS_OF), "new-industry")

    assert len(industries.rows) == 20 + 1  # JSIC A–T, then 不明
    counts = dict(industries.rows)
    assert counts["G 情報通信業"] == 3
    assert counts["E 製造業"] == 1
    assert counts["L 学術研究，専門・技術サービス業"] == 1
    assert counts["A 農業，林業"] == 0
    assert industries.rows[-1] == ("不明", 2)
    assert industries.total == ("合計", 7)


def test_the_window_is_the_six_months_ending_on_the_report_day():
    assert services.new_registrations_window(dt.date(2026, 10, 1)) == (
        dt.date(2026, 4, 2),
        dt.date(2026, 10, 1),
    )
    assert services.new_registrations_window(dt.date(2027, 4, 1)) == (
        dt.date(2026, 10, 2),
        dt.date(2027, 4, 1),
    )
    # Six months before 31 August is the end of February.
    assert services.new_registrations_window(dt.date(2026, 8, 31))[0] == dt.date(2026, 3, 1)


def test_no_new_registrants_still_lists_every_row_at_zero():
    report = services.registration_status(dt.date(2026, 4, 1))
    assert table(report, "new-exam-season").rows == (("試験の免除", 0), ("不明", 0))
    assert all(n == 0 for _label, n in table(report, "new-industry").rows)


def test_csv_and_xlsx_carry_the_new_tables(registrants):
    report = services.registration_status(AS_OF)

    text = exports.to_csv(report).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert ["新規登録者の合格した試験の期別（2026年4月2日〜10月1日）"] in rows
    assert ["令和7年度（2025年度） 秋期", "2"] in rows
    assert ["G 情報通信業", "3"] in rows

    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    sheet = list(book["新規・業種別"].iter_rows(values_only=True))
    assert sheet[0] == ("勤務先の業種（日本標準産業分類）", "人数")
    assert ("G 情報通信業", 3) in sheet
    assert sheet[-2] == ("不明", 2)
    assert sheet[-1] == ("合計", 7)
    assert list(book["新規・試験の期別"].iter_rows(values_only=True))[-2] == ("不明", 1)


def test_the_report_page_shows_the_new_tables(client_for, operator, registrants):
    response = client_for(operator).get("/ops/reports/registration/", {"as_of": "2026-10-01"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "新規登録者の合格した試験の期別（2026年4月2日〜10月1日）" in body
    assert "新規登録者の勤務先の業種別（2026年4月2日〜10月1日）" in body
    assert "令和7年度（2025年度） 秋期" in body
