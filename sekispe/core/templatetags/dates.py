"""{% load dates %}: {{ day|day }}, {{ moment|moment }}, {% day_range start end %}.

Every date on a page is one <time class="date"> element: the machine-readable
ISO value in datetime="", the one human format (sekispe.core.dates) as text,
and a class the stylesheet keeps on one line. day_text is the plain form for
e-mail bodies and subjects.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from sekispe.core import dates

register = template.Library()


def use_era() -> bool:
    return bool(getattr(settings, "SEKISPE_JAPANESE_ERA", False))


def _as_day(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    return None


def day_text(value: object) -> str:
    """The date as plain text in the current language, or "" for no date."""
    day = _as_day(value)
    if day is None:
        return ""
    return dates.format_day(day, language=get_language(), use_era=use_era())


def moment_text(value: object) -> str:
    if not isinstance(value, dt.datetime):
        return day_text(value)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dates.format_moment(value, language=get_language(), use_era=use_era())


def fiscal_year_text(year: int) -> str:
    """The fiscal year from 1 April `year` as plain text in the current language."""
    return dates.format_fiscal_year(year, language=get_language(), use_era=use_era())


def range_text(start: object, end: object) -> str:
    first, last = _as_day(start), _as_day(end)
    if first is None or last is None:
        return day_text(first or last)
    return dates.format_range(first, last, language=get_language(), use_era=use_era())


@register.filter(name="day")
def day(value: object) -> SafeString | str:
    text = day_text(value)
    if not text:
        return ""
    return format_html(
        '<time datetime="{}" class="date">{}</time>', _as_day(value).isoformat(), text
    )


@register.filter(name="moment")
def moment(value: object) -> SafeString | str:
    text = moment_text(value)
    if not text:
        return ""
    if isinstance(value, dt.datetime):
        stamp = (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat(
            timespec="minutes"
        )
    else:
        stamp = _as_day(value).isoformat()
    return format_html('<time datetime="{}" class="date">{}</time>', stamp, text)


@register.simple_tag(name="day_range")
def day_range(start: object, end: object) -> SafeString | str:
    text = range_text(start, end)
    if not text:
        return ""
    first, last = _as_day(start), _as_day(end)
    if first is None or last is None or first == last:
        return format_html(
            '<time datetime="{}" class="date">{}</time>', (first or last).isoformat(), text
        )
    # One element for the whole span so that it wraps only around it, never inside.
    return format_html('<span class="date">{}</span>', text)


register.filter("day_text", day_text)
register.filter("moment_text", moment_text)
