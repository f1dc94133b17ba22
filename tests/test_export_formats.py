"""Exports and PDFs (issue 15, point 13).

In a workbook a percentage is a number with a % format, so it can be summed
and sorted; the page and CSV keep the text. The diagnosis PDF's links work
on paper (absolute), and its metadata names its author and today's date.
"""

from __future__ import annotations

import datetime as dt
import io
import pickle
import re

import pytest
from openpyxl import load_workbook

from sekispe.diagnosis.pdf import render_pdf
from sekispe.events import report
from sekispe.reports import exports
from sekispe.reports.exports import Percent
from sekispe.reports.services import Report, Table
from tests.test_diagnosis_pdf import answer_set, context_for, pdf_text

pytestmark = pytest.mark.django_db


def _report(*rows: tuple) -> Report:
    return Report(
        slug="t",
        title="試験",
        period="2026年度",
        filename_stem="t",
        tables=(Table(key="t", title="表", headers=("段階", "企業数", "割合"), rows=rows),),
    )


def test_percent_reads_as_text_and_keeps_its_fraction():
    value = report.percent(1, 4)
    assert isinstance(value, Percent)
    assert value == "25.0%" and value.fraction == 0.25
    assert pickle.loads(pickle.dumps(value)).fraction == 0.25  # noqa: S301 (our own bytes)
    assert report.percent(3, 0) == "—"


def test_xlsx_percent_is_a_number_with_a_percent_format():
    built = _report(("参加", 14, report.percent(14, 14)), ("相談", 7, report.percent(7, 14)))
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(built))).active
    full, half = sheet.cell(row=2, column=3), sheet.cell(row=3, column=3)
    assert full.value == 1 and half.value == 0.5
    assert full.data_type == "n" and half.data_type == "n"
    assert half.number_format == exports.PERCENT_FORMAT == "0.0%"


def test_csv_keeps_the_percent_text():
    built = _report(("相談", 7, report.percent(7, 14)))
    assert "相談,7,50.0%\r\n" in exports.to_csv(built).decode("utf-8-sig")


def test_the_event_funnel_sheet_has_numeric_percentages(institution):
    from sekispe.events import services
    from tests.test_events_report import _company, _details

    event = services.create_event(institution, _details())
    for n in range(4):
        services.register_participant(institution, event, _company(n + 1, themes=(2,)))
    built = report.event_report(event)
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(built.report)))["集計"]
    first = sheet.cell(row=2, column=3)
    assert first.value == 1 and first.data_type == "n" and first.number_format == "0.0%"
    assert sheet.cell(row=3, column=3).value == 0


# ------------------------------------------------------------------ the PDF


def test_the_pdf_prints_an_absolute_search_link(settings):
    settings.SITE_URL = "https://sekispe.example.go.jp/"
    context = context_for(*answer_set("mixed"))
    assert context["search_url"].startswith("/")
    text = pdf_text(render_pdf(context, compress=False))
    assert f"https://sekispe.example.go.jp{context['search_url']}" in text


def test_the_pdf_metadata_names_the_author_and_now():
    context = context_for(*answer_set("mixed"))
    pdf = render_pdf(context, compress=False)
    assert b"(anonymous)" not in pdf
    assert b"/Author (sekispe)" in pdf
    created = re.search(rb"/CreationDate \(D:(\d{8})(\d{6})([+-]\d\d)'(\d\d)'\)", pdf)
    assert created, "no creation date"
    assert created.group(1) != b"20000101"
    # Written in the site's time zone (Asia/Tokyo): today there.
    from django.utils import timezone

    assert created.group(1).decode() == timezone.localdate().strftime("%Y%m%d")
    assert created.group(3) + created.group(4) == b"+0900"


def test_a_given_creation_time_is_written_in_local_time():
    context = context_for(*answer_set("all_done"))
    at = dt.datetime(2026, 12, 4, 2, 30, 5, tzinfo=dt.UTC)
    pdf = render_pdf(context, compress=False, created=at)
    assert b"/CreationDate (D:20261204113005+09'00')" in pdf
