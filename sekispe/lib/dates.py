"""Date rules of the Japanese fiscal year and the RISS registration period."""

from __future__ import annotations

import datetime as dt

REGISTRATION_YEARS = 3


def fiscal_year(day: dt.date) -> int:
    """Japanese fiscal year: April to March, named after the April year."""
    return day.year if day.month >= 4 else day.year - 1


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return day.replace(year=day.year + years, day=28)


def period_end(registered_on: dt.date) -> dt.date:
    """Last valid day of a 3-year registration period starting on registered_on.

    Registration takes effect on 1 April or 1 October, so a period starting
    2024-04-01 ends 2027-03-31.
    """
    return add_years(registered_on, REGISTRATION_YEARS) - dt.timedelta(days=1)


def fiscal_years_between(start: dt.date, end: dt.date) -> list[int]:
    return list(range(fiscal_year(start), fiscal_year(end) + 1))
