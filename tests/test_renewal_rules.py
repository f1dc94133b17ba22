"""The renewal and course rules as tables (sekispe/registry/rules.py).

Two cohorts throughout: April (period 2024-04-01 .. 2027-03-31, whose years are
fiscal years) and October (2024-10-01 .. 2027-09-30, whose years run October to
September and so straddle fiscal years).
"""

from __future__ import annotations

import datetime as dt

import pytest

from sekispe.registry.rules import (
    COMMON,
    DEEMED,
    PRACTICAL,
    SPECIFIC,
    Extension,
    age_band,
    application_deadline,
    card_colour,
    current_year_requirement,
    deemed_window,
    extension_applies,
    next_expiry,
    period_start,
    period_years,
    renewal_status,
    valid_until,
)

D = dt.date
APRIL = D(2027, 3, 31)
OCTOBER = D(2027, 9, 30)


@pytest.mark.parametrize(
    ("expires_on", "deadline"),
    [
        (APRIL, D(2027, 1, 30)),
        (OCTOBER, D(2027, 8, 1)),
        # 2028 is a leap year: 29 February sits inside the 60 days.
        (D(2028, 3, 31), D(2028, 1, 31)),
        (D(2028, 9, 30), D(2028, 8, 1)),
    ],
)
def test_the_application_is_due_60_days_before_expiry(expires_on, deadline):
    assert application_deadline(expires_on) == deadline


@pytest.mark.parametrize(
    ("expires_on", "start", "following"),
    [
        (APRIL, D(2024, 4, 1), D(2030, 3, 31)),
        (OCTOBER, D(2024, 10, 1), D(2030, 9, 30)),
    ],
)
def test_a_period_lasts_three_years_from_1_april_or_1_october(expires_on, start, following):
    assert period_start(expires_on) == start
    assert next_expiry(expires_on) == following


@pytest.mark.parametrize(
    ("expires_on", "years"),
    [
        (
            APRIL,
            [
                (D(2024, 4, 1), D(2025, 3, 31)),
                (D(2025, 4, 1), D(2026, 3, 31)),
                (D(2026, 4, 1), D(2027, 3, 31)),
            ],
        ),
        (
            OCTOBER,
            [
                (D(2024, 10, 1), D(2025, 9, 30)),
                (D(2025, 10, 1), D(2026, 9, 30)),
                (D(2026, 10, 1), D(2027, 9, 30)),
            ],
        ),
    ],
)
def test_every_period_has_three_years(expires_on, years):
    assert list(period_years(expires_on)) == years


ALL_DONE_APRIL = [
    (COMMON, D(2024, 6, 1)),
    (COMMON, D(2025, 6, 1)),
    (COMMON, D(2026, 6, 1)),
    (PRACTICAL, D(2025, 11, 1)),
]


# (cohort expiry, completions, today, up to date, overdue labels, missing count, can apply)
RULE_TABLE = [
    # April cohort -----------------------------------------------------------
    pytest.param(APRIL, [], D(2024, 11, 1), True, [], 4, False, id="apr-first-year-nothing-due"),
    pytest.param(
        APRIL, [], D(2025, 3, 31), True, [], 4, False, id="apr-last-day-of-fy2024-not-yet-overdue"
    ),
    pytest.param(
        APRIL,
        [],
        D(2025, 4, 1),
        False,
        ["2024年度の共通講習"],
        4,
        False,
        id="apr-first-day-of-fy2025-overdue",
    ),
    pytest.param(
        APRIL,
        [(COMMON, D(2025, 3, 31))],
        D(2025, 4, 1),
        True,
        [],
        3,
        False,
        id="apr-course-on-31-march-counts-for-fy2024",
    ),
    pytest.param(
        APRIL,
        [(COMMON, D(2025, 4, 1))],
        D(2025, 4, 2),
        False,
        ["2024年度の共通講習"],
        3,
        False,
        id="apr-course-on-1-april-counts-for-fy2025-only",
    ),
    pytest.param(
        APRIL,
        [(COMMON, D(2024, 3, 31))],
        D(2025, 4, 1),
        False,
        ["2024年度の共通講習"],
        4,
        False,
        id="apr-course-before-the-period-does-not-count",
    ),
    pytest.param(
        APRIL,
        ALL_DONE_APRIL[:3],
        D(2027, 1, 30),
        True,
        [],
        1,
        False,
        id="apr-practical-due-on-the-deadline-day",
    ),
    pytest.param(
        APRIL,
        ALL_DONE_APRIL[:3],
        D(2027, 1, 31),
        False,
        ["実践講習または特定講習（いずれか1つ）"],
        1,
        False,
        id="apr-practical-overdue-after-the-deadline",
    ),
    pytest.param(
        APRIL,
        [*ALL_DONE_APRIL[:3], (SPECIFIC, D(2026, 2, 1))],
        D(2027, 1, 30),
        True,
        [],
        0,
        True,
        id="apr-a-specific-course-is-a-practical-course",
    ),
    pytest.param(
        APRIL,
        ALL_DONE_APRIL,
        D(2026, 12, 1),
        True,
        [],
        0,
        True,
        id="apr-everything-done-may-apply",
    ),
    pytest.param(
        APRIL,
        ALL_DONE_APRIL,
        D(2027, 1, 31),
        True,
        [],
        0,
        False,
        id="apr-everything-done-but-the-deadline-passed",
    ),
    pytest.param(
        APRIL,
        [(COMMON, D(2024, 6, 1)), (COMMON, D(2025, 6, 1)), (PRACTICAL, D(2025, 11, 1))],
        D(2027, 1, 31),
        False,
        ["2026年度の共通講習"],
        1,
        False,
        id="apr-last-year-course-due-by-the-deadline-not-31-march",
    ),
    pytest.param(
        APRIL,
        [(PRACTICAL, D(2024, 3, 1)), *ALL_DONE_APRIL[:3]],
        D(2027, 2, 1),
        False,
        ["実践講習または特定講習（いずれか1つ）"],
        1,
        False,
        id="apr-practical-from-the-previous-period-does-not-count",
    ),
    # October cohort ---------------------------------------------------------
    pytest.param(
        OCTOBER,
        [(COMMON, D(2025, 3, 31))],
        D(2025, 10, 1),
        True,
        [],
        3,
        False,
        id="oct-course-in-march-counts-for-the-year-from-october",
    ),
    pytest.param(
        OCTOBER,
        [],
        D(2025, 9, 30),
        True,
        [],
        4,
        False,
        id="oct-first-year-due-30-september-not-31-march",
    ),
    pytest.param(
        OCTOBER,
        [],
        D(2025, 10, 1),
        False,
        ["共通講習（2024年10月1日〜2025年9月30日）"],
        4,
        False,
        id="oct-overdue-from-1-october",
    ),
    pytest.param(
        OCTOBER,
        [(COMMON, D(2024, 9, 30))],
        D(2025, 10, 1),
        False,
        ["共通講習（2024年10月1日〜2025年9月30日）"],
        4,
        False,
        id="oct-course-the-day-before-the-period-does-not-count",
    ),
    pytest.param(
        OCTOBER,
        [
            (COMMON, D(2024, 12, 1)),
            (COMMON, D(2026, 4, 1)),
            (COMMON, D(2027, 4, 1)),
            (PRACTICAL, D(2026, 7, 1)),
        ],
        D(2027, 8, 1),
        True,
        [],
        0,
        True,
        id="oct-three-courses-suffice-across-four-fiscal-years",
    ),
    pytest.param(
        OCTOBER,
        [(COMMON, D(2024, 12, 1)), (COMMON, D(2025, 3, 1)), (PRACTICAL, D(2026, 7, 1))],
        D(2026, 10, 1),
        False,
        ["共通講習（2025年10月1日〜2026年9月30日）"],
        2,
        False,
        id="oct-two-courses-in-one-year-do-not-cover-the-next",
    ),
]


@pytest.mark.parametrize(
    ("expires_on", "completions", "today", "up_to_date", "overdue", "missing", "can_apply"),
    RULE_TABLE,
)
def test_renewal_status(expires_on, completions, today, up_to_date, overdue, missing, can_apply):
    status = renewal_status(expires_on, completions, today)
    assert status.courses_up_to_date is up_to_date
    assert [r.label for r in status.overdue] == overdue
    assert len(status.missing) == missing
    assert status.can_apply is can_apply


def test_each_requirement_says_when_it_is_due():
    status = renewal_status(OCTOBER, [], D(2025, 1, 1))
    assert [(r.kind, r.due) for r in status.requirements] == [
        (COMMON, D(2025, 9, 30)),
        (COMMON, D(2026, 9, 30)),
        (COMMON, D(2027, 8, 1)),
        (PRACTICAL, D(2027, 8, 1)),
    ]
    assert status.next_due == D(2025, 9, 30)
    assert status.days_to_deadline == (D(2027, 8, 1) - D(2025, 1, 1)).days


# The July 2020 floods (000): deadlines moved by about a month, renewal dates to
# 60 days after the new deadline, and courses due in October 2020 were waived.
FLOOD = Extension(
    new_deadline=D(2020, 10, 29),
    deadline_from=D(2020, 7, 1),
    waived_courses=frozenset({COMMON}),
)


def test_a_disaster_extension_moves_the_deadline_and_the_renewal_date():
    expires_on = D(2020, 9, 30)
    assert application_deadline(expires_on) == D(2020, 8, 1)
    assert extension_applies(expires_on, D(2020, 7, 1), D(2020, 9, 30))
    assert not extension_applies(expires_on, D(2020, 8, 2), D(2020, 9, 30))
    assert application_deadline(expires_on, FLOOD) == D(2020, 10, 29)
    assert valid_until(expires_on, FLOOD) == D(2020, 12, 28)
    assert valid_until(expires_on) == expires_on


def test_a_disaster_extension_waives_the_listed_courses_falling_due_after_it_starts():
    completions = [(COMMON, D(2017, 12, 1)), (COMMON, D(2018, 12, 1)), (PRACTICAL, D(2019, 1, 1))]
    plain = renewal_status(D(2020, 9, 30), completions, D(2020, 8, 2))
    assert [r.label for r in plain.overdue] == ["共通講習（2019年10月1日〜2020年9月30日）"]
    assert not plain.can_apply

    extended = renewal_status(D(2020, 9, 30), completions, D(2020, 8, 2), FLOOD)
    waived = [r for r in extended.requirements if r.waived]
    assert [r.kind for r in waived] == [COMMON]
    assert extended.courses_up_to_date
    assert extended.can_apply
    assert extended.extended


def test_a_course_taken_during_the_extension_counts():
    completions = [
        (COMMON, D(2017, 12, 1)),
        (COMMON, D(2018, 12, 1)),
        (COMMON, D(2019, 12, 1)),
        (PRACTICAL, D(2020, 10, 15)),  # after expires_on, within the extension
    ]
    extension = Extension(new_deadline=D(2020, 10, 29), deadline_from=D(2020, 7, 1))
    assert renewal_status(D(2020, 9, 30), completions, D(2020, 10, 20), extension).can_apply
    assert not renewal_status(D(2020, 9, 30), completions, D(2020, 10, 20)).requirements_met


# Deemed attendance (みなし受講): the approval day is its completed_on. April
# cohort: period 2024-04-01 .. 2027-03-31, application deadline 2027-01-30.
ALL_COMMON_APRIL = ALL_DONE_APRIL[:3]
# A measure that moves the April cohort's deadline to 15 March 2027 (valid until 14 May).
LATE_DEADLINE = Extension(new_deadline=D(2027, 3, 15), deadline_from=D(2027, 1, 1))

# (cohort expiry, extension, completions besides the common courses, today,
#  practical done, met by deemed attendance, can apply)
DEEMED_TABLE = [
    pytest.param(
        APRIL,
        None,
        [(DEEMED, D(2026, 11, 1))],
        D(2027, 1, 15),
        True,
        True,
        True,
        id="approved-before-the-deadline-counts",
    ),
    pytest.param(
        APRIL,
        None,
        [(DEEMED, D(2027, 1, 30))],
        D(2027, 1, 30),
        True,
        True,
        True,
        id="approved-on-the-deadline-day-counts",
    ),
    pytest.param(
        APRIL,
        None,
        [(DEEMED, D(2027, 1, 31))],
        D(2027, 2, 1),
        False,
        False,
        False,
        id="approved-the-day-after-the-deadline-does-not-count",
    ),
    pytest.param(
        APRIL,
        None,
        [(DEEMED, D(2027, 3, 31))],
        D(2027, 3, 31),
        False,
        False,
        False,
        id="approved-on-the-last-valid-day-does-not-count",
    ),
    pytest.param(
        APRIL,
        None,
        [(PRACTICAL, D(2027, 2, 15))],
        D(2027, 2, 16),
        True,
        False,
        False,
        id="a-practical-course-keeps-its-window-to-the-expiry",
    ),
    pytest.param(
        APRIL,
        None,
        [(DEEMED, D(2024, 3, 31))],
        D(2026, 12, 1),
        False,
        False,
        False,
        id="approved-in-the-previous-period-does-not-count",
    ),
    pytest.param(
        APRIL,
        None,
        [(DEEMED, D(2024, 4, 1))],
        D(2026, 12, 1),
        True,
        True,
        True,
        id="approved-on-the-first-day-of-the-period-counts",
    ),
    pytest.param(
        APRIL,
        LATE_DEADLINE,
        [(DEEMED, D(2027, 2, 20))],
        D(2027, 3, 1),
        True,
        True,
        True,
        id="disaster-approved-after-the-normal-deadline-before-the-extended-one",
    ),
    pytest.param(
        APRIL,
        LATE_DEADLINE,
        [(DEEMED, D(2027, 3, 15))],
        D(2027, 3, 15),
        True,
        True,
        True,
        id="disaster-approved-on-the-extended-deadline",
    ),
    pytest.param(
        APRIL,
        LATE_DEADLINE,
        [(DEEMED, D(2027, 3, 16))],
        D(2027, 3, 20),
        False,
        False,
        False,
        id="disaster-approved-after-the-extended-deadline-does-not-count",
    ),
    pytest.param(
        OCTOBER,
        None,
        [(DEEMED, D(2027, 8, 1))],
        D(2027, 8, 1),
        True,
        True,
        False,  # the October cohort's common courses are not all done here
        id="oct-approved-on-the-deadline-day-counts",
    ),
    pytest.param(
        OCTOBER,
        None,
        [(DEEMED, D(2027, 8, 2))],
        D(2027, 8, 2),
        False,
        False,
        False,
        id="oct-approved-the-day-after-the-deadline-does-not-count",
    ),
    pytest.param(
        APRIL,
        None,
        [(DEEMED, D(2026, 11, 1)), (SPECIFIC, D(2026, 6, 1))],
        D(2027, 1, 15),
        True,
        False,
        True,
        id="a-course-as-well-is-an-ordinary-done",
    ),
]


@pytest.mark.parametrize(
    ("expires_on", "extension", "extra", "today", "done", "deemed", "can_apply"), DEEMED_TABLE
)
def test_deemed_attendance_meets_the_practical_requirement_until_the_deadline(
    expires_on, extension, extra, today, done, deemed, can_apply
):
    courses = ALL_COMMON_APRIL if expires_on == APRIL else []
    status = renewal_status(expires_on, [*courses, *extra], today, extension)
    practical = next(r for r in status.requirements if r.kind == PRACTICAL)
    assert practical.done is done
    assert practical.deemed is deemed
    assert practical.deemed_on == (extra[0][1] if deemed else None)
    assert status.can_apply is can_apply
    assert (practical in status.missing) is not done
    assert (practical in status.overdue) is (not done and today > status.application_deadline)


def test_the_deemed_window_runs_from_the_period_start_to_the_application_deadline():
    assert deemed_window(APRIL) == (D(2024, 4, 1), D(2027, 1, 30))
    assert deemed_window(OCTOBER) == (D(2024, 10, 1), D(2027, 8, 1))
    assert deemed_window(APRIL, LATE_DEADLINE) == (D(2024, 4, 1), D(2027, 3, 15))


@pytest.mark.parametrize("approved_on", [D(2024, 6, 1), D(2025, 6, 1), D(2026, 6, 1)])
def test_deemed_attendance_never_meets_a_common_course_year(approved_on):
    status = renewal_status(APRIL, [(DEEMED, approved_on)], D(2027, 1, 31))
    assert [r.done for r in status.requirements if r.kind == COMMON] == [False, False, False]
    assert [r.label for r in status.overdue] == [
        "2024年度の共通講習",
        "2025年度の共通講習",
        "2026年度の共通講習",
    ]
    practical = next(r for r in status.requirements if r.kind == PRACTICAL)
    assert practical.done and practical.deemed


@pytest.mark.parametrize(
    ("today", "year_start"),
    [
        (D(2025, 3, 31), D(2024, 10, 1)),
        (D(2025, 10, 1), D(2025, 10, 1)),
        (D(2027, 9, 30), D(2026, 10, 1)),
        (D(2027, 10, 1), None),
    ],
)
def test_the_current_year_requirement(today, year_start):
    requirement = current_year_requirement(renewal_status(OCTOBER, [], today))
    assert (requirement.starts_on if requirement else None) == year_start


@pytest.mark.parametrize(
    ("renewals", "colour"), [(0, "blue"), (1, "blue"), (2, "gold"), (3, "gold"), (7, "gold")]
)
def test_card_colour_follows_the_renewal_count(renewals, colour):
    assert card_colour(renewals) == colour


@pytest.mark.parametrize(
    ("birth_year", "band"),
    [
        (None, "不明"),
        (2007, "20歳未満"),
        (2006, "20代"),
        (1997, "20代"),
        (1996, "30代"),
        (1967, "50代"),
        (1966, "60代以上"),
        (1940, "60代以上"),
    ],
)
def test_age_band_on_1_april_2026(birth_year, band):
    assert age_band(birth_year, D(2026, 4, 1)) == band
