"""The one way dates are written on pages and in report headings (docs/dates.md).

Pure functions: the language and the era choice are arguments, so they are
tested without a request. Japanese: 2026年12月4日, or 令和8年12月4日 with the
Japanese era; English: 4 Dec 2026 (GOV.UK style, never an era). Exports keep
ISO dates and do not use this module.
"""

from __future__ import annotations

import datetime as dt

# (first day, name) newest first. Dates before 平成 are not written with an era:
# the registry starts in 2017.
ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
)
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def era_of(day: dt.date) -> tuple[str, int] | None:
    """(era name, year of the era) or None before 平成; year 1 is 元年."""
    for first, name in ERAS:
        if day >= first:
            return name, day.year - first.year + 1
    return None


def gregorian_year(era: str, year: int) -> int:
    """The inverse of era_of for the year: 令和1 → 2019."""
    for first, name in ERAS:
        if name == era:
            return first.year + year - 1
    raise ValueError(f"unknown era {era!r}")


def _ja_year(day: dt.date, use_era: bool) -> str:
    era = era_of(day) if use_era else None
    if era is None:
        return f"{day.year}年"
    name, year = era
    return f"{name}{'元' if year == 1 else year}年"


def _is_english(language: str | None) -> bool:
    return (language or "ja").lower().startswith("en")


def format_day(day: dt.date, *, language: str | None = "ja", use_era: bool = False) -> str:
    """2026年12月4日 / 令和8年12月4日 / 4 Dec 2026."""
    if _is_english(language):
        return f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"
    return f"{_ja_year(day, use_era)}{day.month}月{day.day}日"


def format_fiscal_year(year: int, *, language: str | None = "ja", use_era: bool = False) -> str:
    """The fiscal year from 1 April `year`: 2026年度 / 令和8年度 / FY2026."""
    if _is_english(language):
        return f"FY{year}"
    return f"{_ja_year(dt.date(year, 4, 1), use_era)}度"


def format_moment(
    moment: dt.datetime, *, language: str | None = "ja", use_era: bool = False
) -> str:
    """A day and a time of day (already in the zone to show): 2026年12月4日 14:05."""
    return f"{format_day(moment.date(), language=language, use_era=use_era)} {moment:%H:%M}"


def format_range(
    start: dt.date, end: dt.date, *, language: str | None = "ja", use_era: bool = False
) -> str:
    """A span of days, never repeating what both ends share.

    2026年12月5日 (one day), 2026年12月5日〜12月8日 (same year, and era),
    2026年12月5日〜2027年1月8日; 5–8 Dec 2026, 5 Dec – 8 Jan 2027 in English.
    """
    if start == end:
        return format_day(start, language=language, use_era=use_era)
    if _is_english(language):
        if start.year != end.year:
            first = format_day(start, language=language)
        elif start.month != end.month:
            first = f"{start.day} {EN_MONTHS[start.month - 1]}"
        else:
            return f"{start.day}–{format_day(end, language=language)}"
        return f"{first} – {format_day(end, language=language)}"
    first = format_day(start, language=language, use_era=use_era)
    if _ja_year(start, use_era) == _ja_year(end, use_era):
        return f"{first}〜{end.month}月{end.day}日"
    return f"{first}〜{format_day(end, language=language, use_era=use_era)}"
