"""One date format everywhere (issue 15, point 11; docs/dates.md)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from sekispe.core.dates import era_of, format_day, format_moment, format_range, gregorian_year
from sekispe.reports import services as report_services

ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
days = st.dates(min_value=dt.date(1989, 1, 8), max_value=dt.date(2100, 12, 31))
languages = st.sampled_from(["ja", "en"])


def test_japanese_day_without_and_with_the_era():
    day = dt.date(2026, 12, 4)
    assert format_day(day) == "2026年12月4日"
    assert format_day(day, use_era=True) == "令和8年12月4日"


def test_first_years_of_an_era_are_gannen():
    assert format_day(dt.date(2019, 5, 1), use_era=True) == "令和元年5月1日"
    assert format_day(dt.date(2019, 4, 30), use_era=True) == "平成31年4月30日"
    assert format_day(dt.date(1989, 1, 8), use_era=True) == "平成元年1月8日"
    assert format_day(dt.date(1989, 1, 7), use_era=True) == "1989年1月7日"


def test_english_is_gov_uk_style_and_never_an_era():
    assert format_day(dt.date(2026, 12, 4), language="en", use_era=True) == "4 Dec 2026"
    assert format_range(dt.date(2026, 12, 5), dt.date(2026, 12, 8), language="en") == (
        "5–8 Dec 2026"
    )
    assert format_range(dt.date(2026, 11, 5), dt.date(2026, 12, 8), language="en") == (
        "5 Nov – 8 Dec 2026"
    )
    assert format_range(dt.date(2026, 12, 5), dt.date(2027, 1, 8), language="en") == (
        "5 Dec 2026 – 8 Jan 2027"
    )


def test_ranges_say_a_single_day_once_and_the_year_once():
    assert format_range(dt.date(2026, 12, 5), dt.date(2026, 12, 5)) == "2026年12月5日"
    assert format_range(dt.date(2026, 12, 5), dt.date(2026, 12, 8)) == "2026年12月5日〜12月8日"
    assert format_range(dt.date(2026, 12, 5), dt.date(2027, 1, 8)) == (
        "2026年12月5日〜2027年1月8日"
    )
    # The era changes inside 2019: both ends say their own era.
    assert format_range(dt.date(2019, 4, 1), dt.date(2019, 5, 8), use_era=True) == (
        "平成31年4月1日〜令和元年5月8日"
    )


def test_moment_has_the_day_and_the_time():
    moment = dt.datetime(2026, 12, 4, 14, 5, tzinfo=dt.UTC)
    assert format_moment(moment) == "2026年12月4日 14:05"


@given(days)
def test_era_round_trips(day):
    name, year = era_of(day)
    assert gregorian_year(name, year) == day.year
    assert year >= 1
    expected = "令和" if day >= dt.date(2019, 5, 1) else "平成"
    assert name == expected


@given(st.dates(min_value=dt.date(2019, 5, 1), max_value=dt.date(2019, 12, 31)))
def test_reiwa_gannen(day):
    assert format_day(day, use_era=True).startswith("令和元年")


@given(days, days, languages, st.booleans())
def test_a_range_never_repeats_the_same_date_and_is_never_iso(a, b, language, use_era):
    start, end = min(a, b), max(a, b)
    text = format_range(start, end, language=language, use_era=use_era)
    single = format_day(start, language=language, use_era=use_era)
    assert not ISO.search(text)
    if start == end:
        assert text == single
    else:
        assert text.count(single) <= 1
        assert str(end.day) in text


@given(days, languages, st.booleans())
def test_a_day_is_never_iso(day, language, use_era):
    assert not ISO.search(format_day(day, language=language, use_era=use_era))


def render(source: str, **context) -> str:
    return Template("{% load dates %}" + source).render(Context(context))


def test_day_filter_is_one_time_element_that_does_not_wrap():
    html = render("{{ d|day }}", d=dt.date(2026, 12, 4))
    assert html == '<time datetime="2026-12-04" class="date">2026年12月4日</time>'
    assert render("{{ d|day }}", d=None) == ""


def test_day_filter_in_english():
    with translation.override("en"):
        assert ">4 Dec 2026<" in render("{{ d|day }}", d=dt.date(2026, 12, 4))


@override_settings(SEKISPE_JAPANESE_ERA=True)
def test_era_setting_turns_japanese_pages_to_reiwa_but_not_english_ones():
    assert ">令和8年12月4日<" in render("{{ d|day }}", d=dt.date(2026, 12, 4))
    with translation.override("en"):
        assert ">4 Dec 2026<" in render("{{ d|day }}", d=dt.date(2026, 12, 4))


def test_moment_filter_uses_the_current_time_zone():
    moment = dt.datetime(2026, 12, 4, 5, 5, tzinfo=dt.UTC)  # 14:05 in Tokyo
    with timezone.override("Asia/Tokyo"):
        html = render("{{ m|moment }}", m=moment)
    assert html == '<time datetime="2026-12-04T14:05+09:00" class="date">2026年12月4日 14:05</time>'


def test_day_range_tag():
    one = render("{% day_range a b %}", a=dt.date(2026, 12, 5), b=dt.date(2026, 12, 5))
    assert one == '<time datetime="2026-12-05" class="date">2026年12月5日</time>'
    span = render("{% day_range a b %}", a=dt.date(2026, 12, 5), b=dt.date(2026, 12, 8))
    assert span == '<span class="date">2026年12月5日〜12月8日</span>'


@pytest.mark.django_db
def test_requests_report_is_labelled_with_the_last_day_counted_not_a_future_day():
    running = report_services.request_counts(2026, today=dt.date(2026, 12, 4))
    assert running.period == "2026年度（2026年12月4日現在）"
    finished = report_services.request_counts(2025, today=dt.date(2026, 12, 4))
    assert finished.period == "2025年度（2026年3月31日現在）"


@pytest.mark.django_db
def test_requests_report_page_heading_names_today_during_the_year(client_for, operator):
    with time_machine.travel(dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC), tick=False):
        page = client_for(operator).get("/ops/reports/requests/").content.decode()
    assert "2026年度（2026年12月4日現在）" in page
    assert "2027年3月31日現在" not in page


@pytest.mark.django_db
@override_settings(SEKISPE_JAPANESE_ERA=True)
def test_era_setting_reaches_ops_pages_and_report_headings(client_for, operator):
    with time_machine.travel(dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC), tick=False):
        page = client_for(operator).get("/ops/reports/requests/").content.decode()
    assert "2026年度（令和8年12月4日現在）" in page


def test_no_template_formats_a_date_by_hand():
    """Every page date goes through |day, |moment or {% day_range %}, so one format
    (and the era setting) reaches all of them; only the weekday keeps |date."""
    from pathlib import Path

    import sekispe

    templates = Path(sekispe.__file__).parent / "templates"
    by_hand = [
        f"{path.relative_to(templates)}:{number}"
        for path in templates.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "|date:" in line.replace('|date:"D"', "")
    ]
    assert by_hand == []
