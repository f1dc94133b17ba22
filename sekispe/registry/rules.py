"""The renewal and course rules, as plain functions over dates.

Nothing here touches the database, so every rule is table-tested directly
(tests/test_renewal_rules.py). The rules, as shipped:

- A registration period is 3 years from its start (1 April or 1 October);
  `expires_on` is its last day.
- The renewal application is due 60 days before `expires_on`.
- Courses for the period:
  - the common course once in each year of the period. A period year is the
    fiscal year for an April cohort; an October cohort's years run October to
    September, so every period asks for three common courses, never four;
  - one practical course (IPA's, or a METI-approved specific course) within
    the period, or deemed attendance (みなし受講) instead: certified practical
    work, approved by IPA, recorded as a completion of kind `deemed` on the
    day of approval. It meets the practical requirement only when approved
    within the period and on or before the application deadline (the extended
    one under a disaster measure): everything must be decided before the
    deadline. It never meets a common-course year.
- Each course falls due at the end of its year, but never later than the
  application deadline: the application needs every course done. The practical
  course falls due on the application deadline. A practical or specific course
  counts until the registration's last valid day; deemed attendance only until
  the application deadline (`deemed_window`).
- A disaster measure that covers the registrant replaces the application
  deadline with the measure's, keeps the registration valid until 60 days
  after it, and waives the courses of the listed kinds that fall due on or
  after the measure's first eligible deadline.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext

from sekispe.core.templatetags.dates import fiscal_year_text, range_text
from sekispe.lib.dates import add_years, fiscal_year

APPLICATION_DAYS_BEFORE_EXPIRY = 60
PERIOD_YEARS = 3
COMMON = "common"
PRACTICAL = "practical"
SPECIFIC = "specific"
# Deemed attendance (みなし受講): meets the practical requirement, see deemed_window.
DEEMED = "deemed"


@dataclass(frozen=True)
class Extension:
    """The parts of a `DisasterMeasure` the rules need."""

    new_deadline: dt.date
    deadline_from: dt.date
    waived_courses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CourseRequirement:
    kind: str  # COMMON or PRACTICAL (a specific course or deemed attendance satisfies PRACTICAL)
    year: int  # 1-3: the period year for COMMON; 0 for PRACTICAL
    starts_on: dt.date
    ends_on: dt.date  # last day a course counts for this requirement
    due: dt.date
    done: bool = False
    waived: bool = False
    # PRACTICAL only: met by deemed attendance (みなし受講) and by no course, and the
    # day it was approved. A course taken as well makes it an ordinary `done`.
    deemed: bool = False
    deemed_on: dt.date | None = None

    @property
    def label(self) -> str:
        """The requirement as people name it, in the active language and date style."""
        if self.kind == COMMON:
            # The April cohort's years are fiscal years, which people know by number.
            if self.starts_on.month == 4:
                return gettext("%(fiscal_year)sの共通講習") % {
                    "fiscal_year": fiscal_year_text(self.starts_on.year)
                }
            return gettext("共通講習（%(period)s）") % {
                "period": range_text(self.starts_on, self.ends_on)
            }
        return gettext("実践講習または特定講習（いずれか1つ）")

    @property
    def outstanding(self) -> bool:
        return not (self.done or self.waived)


@dataclass(frozen=True)
class RenewalStatus:
    period_starts_on: dt.date
    expires_on: dt.date
    # The registration stays valid until this day (later than expires_on under an extension).
    valid_until: dt.date
    application_deadline: dt.date
    requirements: tuple[CourseRequirement, ...]
    today: dt.date
    extended: bool = False
    missing: tuple[CourseRequirement, ...] = field(default=())
    overdue: tuple[CourseRequirement, ...] = field(default=())

    @property
    def courses_up_to_date(self) -> bool:
        """No course is past its due date without being done or waived."""
        return not self.overdue

    @property
    def requirements_met(self) -> bool:
        """Every course of the period is done or waived: the renewal may be applied for."""
        return not self.missing

    @property
    def application_open(self) -> bool:
        return self.today <= self.application_deadline

    @property
    def can_apply(self) -> bool:
        return self.requirements_met and self.application_open

    @property
    def days_to_deadline(self) -> int:
        return (self.application_deadline - self.today).days

    @property
    def next_due(self) -> dt.date | None:
        """The earliest due date among what is still missing."""
        return min((r.due for r in self.missing), default=None)


# Cached: every registrant with the same expiry shares these dates, and the
# search index asks for them once per listing (a million times at scale).
@functools.lru_cache(maxsize=4096)
def period_start(expires_on: dt.date) -> dt.date:
    return add_years(expires_on + dt.timedelta(days=1), -PERIOD_YEARS)


def next_expiry(expires_on: dt.date) -> dt.date:
    """The last day of the period that follows one ending on `expires_on`."""
    return add_years(expires_on + dt.timedelta(days=1), PERIOD_YEARS) - dt.timedelta(days=1)


def application_deadline(expires_on: dt.date, extension: Extension | None = None) -> dt.date:
    if extension is not None:
        return extension.new_deadline
    return expires_on - dt.timedelta(days=APPLICATION_DAYS_BEFORE_EXPIRY)


def valid_until(expires_on: dt.date, extension: Extension | None = None) -> dt.date:
    """The last day the registration stays valid without a renewal.

    000: in July 2020 the application deadline moved from 30 September to
    29 October and the renewal date from 1 October to 29 December, that is,
    60 days after the new deadline.
    """
    if extension is None:
        return expires_on
    return max(
        expires_on,
        extension.new_deadline + dt.timedelta(days=APPLICATION_DAYS_BEFORE_EXPIRY),
    )


def extension_applies(expires_on: dt.date, deadline_from: dt.date, deadline_to: dt.date) -> bool:
    """Whether a measure's eligibility range holds this registrant's normal deadline."""
    return deadline_from <= application_deadline(expires_on) <= deadline_to


def deemed_window(
    expires_on: dt.date, extension: Extension | None = None
) -> tuple[dt.date, dt.date]:
    """(first day, last day) on which an approval of deemed attendance meets the
    practical requirement of the period ending on `expires_on`: from the period's
    start to the application deadline (the extended one under a measure)."""
    return period_start(expires_on), application_deadline(expires_on, extension)


@functools.lru_cache(maxsize=4096)
def period_years(expires_on: dt.date) -> tuple[tuple[dt.date, dt.date], ...]:
    """The three (first day, last day) years of the period ending on `expires_on`."""
    start = period_start(expires_on)
    years = []
    for n in range(PERIOD_YEARS):
        first = add_years(start, n)
        last = add_years(start, n + 1) - dt.timedelta(days=1)
        years.append((first, last))
    return tuple(years)


def renewal_status(
    expires_on: dt.date,
    completions: Iterable[tuple[str, dt.date]],
    today: dt.date,
    extension: Extension | None = None,
) -> RenewalStatus:
    """Where a registrant stands in the period ending on `expires_on`.

    `completions` are (course kind, completed_on) pairs; completions outside
    the period are ignored, and so is deemed attendance approved after the
    application deadline (`deemed_window`).
    """
    deadline = application_deadline(expires_on, extension)
    start = period_start(expires_on)
    last_valid = valid_until(expires_on, extension)
    deemed_from, deemed_until = deemed_window(expires_on, extension)
    done_common: set[int] = set()
    practical_done = False
    deemed_on: dt.date | None = None
    years = period_years(expires_on)
    for kind, completed_on in completions:
        if kind == DEEMED:
            if deemed_from <= completed_on <= deemed_until:
                deemed_on = completed_on if deemed_on is None else min(deemed_on, completed_on)
            continue
        if not (start <= completed_on <= last_valid):
            continue
        if kind == COMMON:
            for n, (first, last) in enumerate(years, start=1):
                # The last year runs on to the end of any extension.
                if first <= completed_on <= (last_valid if n == PERIOD_YEARS else last):
                    done_common.add(n)
        else:
            practical_done = True

    def waived(kind: str, due: dt.date) -> bool:
        return (
            extension is not None
            and kind in extension.waived_courses
            and due >= extension.deadline_from
        )

    requirements: list[CourseRequirement] = []
    for n, (first, last) in enumerate(years, start=1):
        due = min(last, deadline)
        requirements.append(
            CourseRequirement(
                COMMON,
                n,
                first,
                last_valid if n == PERIOD_YEARS else last,
                due,
                done=n in done_common,
                waived=waived(COMMON, due),
            )
        )
    requirements.append(
        CourseRequirement(
            PRACTICAL,
            0,
            start,
            last_valid,
            deadline,
            done=practical_done or deemed_on is not None,
            waived=waived(PRACTICAL, deadline),
            deemed=not practical_done and deemed_on is not None,
            deemed_on=None if practical_done else deemed_on,
        )
    )
    missing = tuple(r for r in requirements if r.outstanding)
    return RenewalStatus(
        period_starts_on=start,
        expires_on=expires_on,
        valid_until=last_valid,
        application_deadline=deadline,
        requirements=tuple(requirements),
        today=today,
        extended=extension is not None,
        missing=missing,
        overdue=tuple(r for r in missing if r.due < today),
    )


def current_year_requirement(status: RenewalStatus) -> CourseRequirement | None:
    """The common-course requirement whose year holds `status.today`, if any."""
    for requirement in status.requirements:
        if (
            requirement.kind == COMMON
            and requirement.starts_on <= status.today <= requirement.ends_on
        ):
            return requirement
    return None


def card_colour(renewal_count: int) -> str:
    """000: blue at registration and at the first renewal, gold from the second on."""
    return "blue" if renewal_count <= 1 else "gold"


def age_band(birth_year: int | None, on: dt.date) -> str:
    """The report's age band: "20代" … "60代以上", or "不明" without a birth year.

    The age is the one reached in the year of `on`, as a year of birth gives no day.
    """
    if birth_year is None:
        return "不明"
    age = on.year - birth_year
    if age < 20:
        return "20歳未満"
    if age >= 60:
        return "60代以上"
    return f"{age // 10 * 10}代"


__all__ = [
    "APPLICATION_DAYS_BEFORE_EXPIRY",
    "CourseRequirement",
    "Extension",
    "RenewalStatus",
    "age_band",
    "application_deadline",
    "card_colour",
    "current_year_requirement",
    "deemed_window",
    "extension_applies",
    "fiscal_year",
    "next_expiry",
    "period_start",
    "period_years",
    "renewal_status",
    "valid_until",
]
