"""Rules over registry records. Plain functions, testable without HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sekispe.lib.dates import add_years, fiscal_year, fiscal_years_between
from sekispe.registry.models import CourseKind


@dataclass(frozen=True)
class CourseStatus:
    up_to_date: bool
    # Human-readable items that are overdue (e.g. "2025年度 共通講習").
    overdue: list[str] = field(default_factory=list)
    practical_done: bool = False


def course_status(
    expires_on: dt.date,
    completions: Iterable[tuple[str, int, dt.date]],
    today: dt.date,
) -> CourseStatus:
    """Whether a registrant's mandatory courses are up to date for the current period.

    The period is the 3 years ending on `expires_on`. Required: the common course
    in each fiscal year of the period, and one practical course (IPA's or a
    METI-approved specific course) within the period. Only requirements whose
    deadline has passed count as overdue: a fiscal year that has not ended yet,
    or a practical course while the period runs, is not a failure.
    `completions` are (kind, fiscal_year, completed_on) tuples.
    """
    start = add_years(expires_on, -3) + dt.timedelta(days=1)
    done_years: set[int] = set()
    practical_done = False
    for kind, fy, completed_on in completions:
        if kind == CourseKind.COMMON:
            done_years.add(fy)
        elif start <= completed_on <= expires_on:
            practical_done = True
    current_fy = fiscal_year(today)
    overdue = [
        f"{fy}年度 共通講習"
        for fy in fiscal_years_between(start, expires_on)
        if fy < current_fy and fy not in done_years
    ]
    if today > expires_on and not practical_done:
        overdue.append("実践講習")
    return CourseStatus(up_to_date=not overdue, overdue=overdue, practical_done=practical_done)
