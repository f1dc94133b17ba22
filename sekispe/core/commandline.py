"""What the management commands share: the one way to read `--today`."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError


def parse_today(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError("--today: 日付は YYYY-MM-DD で指定してください") from exc
