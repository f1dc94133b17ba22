"""Registry rules as tables: fiscal years, periods, course status."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from sekispe.lib.dates import add_years, fiscal_year, period_end
from sekispe.registry.rules import CourseRequirement
from sekispe.registry.services import course_status

D = dt.date


@pytest.mark.parametrize(
    ("day", "fy"),
    [(D(2026, 4, 1), 2026), (D(2026, 3, 31), 2025), (D(2026, 12, 31), 2026), (D(2027, 1, 1), 2026)],
)
def test_fiscal_year_runs_april_to_march(day, fy):
    assert fiscal_year(day) == fy


@pytest.mark.parametrize(
    ("start", "end"),
    [(D(2024, 4, 1), D(2027, 3, 31)), (D(2024, 10, 1), D(2027, 9, 30))],
)
def test_a_registration_period_lasts_three_years(start, end):
    assert period_end(start) == end


def test_add_years_handles_29_february():
    assert add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)


COMMON = "common"
PRACTICAL = "practical"
SPECIFIC = "specific"


def c(kind: str, day: dt.date) -> tuple[str, int, dt.date]:
    return (kind, fiscal_year(day), day)


# Period 2024-04-01 .. 2027-03-31 covers fiscal years 2024, 2025 and 2026.
EXPIRES = D(2027, 3, 31)


@pytest.mark.parametrize(
    ("completions", "today", "up_to_date", "overdue"),
    [
        # Nothing is overdue in the first fiscal year.
        ([], D(2024, 11, 1), True, []),
        # FY2024 ended without the common course.
        ([], D(2025, 5, 1), False, ["2024年度の共通講習"]),
        ([c(COMMON, D(2024, 6, 1))], D(2025, 5, 1), True, []),
        ([c(COMMON, D(2024, 6, 1))], D(2026, 11, 22), False, ["2025年度の共通講習"]),
        ([c(COMMON, D(2024, 6, 1)), c(COMMON, D(2025, 6, 1))], D(2026, 11, 22), True, []),
        # The practical course is due by the application deadline, 60 days before expiry.
        (
            [c(COMMON, D(2024, 6, 1)), c(COMMON, D(2025, 6, 1)), c(COMMON, D(2026, 6, 1))],
            D(2027, 4, 1),
            False,
            ["実践講習または特定講習（いずれか1つ）"],
        ),
        (
            [
                c(COMMON, D(2024, 6, 1)),
                c(COMMON, D(2025, 6, 1)),
                c(COMMON, D(2026, 6, 1)),
                c(SPECIFIC, D(2025, 2, 1)),
            ],
            D(2027, 4, 1),
            True,
            [],
        ),
        # A practical course from the previous period does not count.
        (
            [
                c(COMMON, D(2024, 6, 1)),
                c(COMMON, D(2025, 6, 1)),
                c(COMMON, D(2026, 6, 1)),
                c(PRACTICAL, D(2023, 6, 1)),
            ],
            D(2027, 4, 1),
            False,
            ["実践講習または特定講習（いずれか1つ）"],
        ),
    ],
)
def test_course_status(completions, today, up_to_date, overdue):
    status = course_status(EXPIRES, completions, today)
    assert status.up_to_date is up_to_date
    assert status.overdue == overdue


def test_a_course_requirement_is_named_in_the_language_and_date_style_of_the_page(settings):
    april = CourseRequirement(COMMON, 1, D(2026, 4, 1), D(2027, 3, 31), D(2027, 3, 31))
    october = CourseRequirement(COMMON, 1, D(2026, 10, 1), D(2027, 9, 30), D(2027, 9, 30))
    practical = CourseRequirement(PRACTICAL, 0, D(2026, 4, 1), D(2029, 3, 31), D(2029, 1, 30))
    settings.SEKISPE_JAPANESE_ERA = False
    with translation.override("ja"):
        assert april.label == "2026年度の共通講習"
        assert october.label == "共通講習（2026年10月1日〜2027年9月30日）"
        assert practical.label == "実践講習または特定講習（いずれか1つ）"
    with translation.override("en"):
        assert april.label == "Common course, FY2026"
        assert october.label == "Common course (1 Oct 2026 – 30 Sep 2027)"
        assert practical.label == "A practical or specific course (any one)"
    settings.SEKISPE_JAPANESE_ERA = True
    with translation.override("ja"):
        assert april.label == "令和8年度の共通講習"
        assert october.label == "共通講習（令和8年10月1日〜令和9年9月30日）"
