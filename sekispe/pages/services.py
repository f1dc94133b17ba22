"""The one write path for notices: each change is audited with before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from sekispe.audit.services import record_event
from sekispe.pages.models import Notice

# The fields an operator edits; the audit log records them before and after.
FIELDS = ("title", "body", "published_at", "until")
# How many notices the start page shows.
START_PAGE_NOTICES = 5


def _values(data: dict[str, Any]) -> dict[str, Any]:
    values = {name: data.get(name) for name in FIELDS}
    if values["published_at"] is not None:
        # The form edits to the minute; storing seconds would make every later
        # unchanged save look like a change of publication time.
        values["published_at"] = values["published_at"].replace(second=0, microsecond=0)
    return values


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """For the audit log: datetimes in UTC, dates as ISO days."""

    def one(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    return {name: one(value) for name, value in values.items()}


def latest_notices(now: dt.datetime | None = None, limit: int = START_PAGE_NOTICES) -> list[Notice]:
    """The notices the start page shows, newest first."""
    return list(Notice.objects.shown(now or timezone.now())[:limit])


def create_notice(data: dict[str, Any], *, actor: Any) -> Notice:
    """Write a new notice from a form's cleaned data."""
    with transaction.atomic():
        notice = Notice(**_values(data))
        notice.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        notice.save()
        record_event(
            "notice.created",
            actor=actor,
            target_type="notice",
            target_id=str(notice.pk),
            data={"after": _jsonable(_values(data))},
        )
    return notice


def update_notice(notice_id: int, data: dict[str, Any], *, actor: Any) -> list[str]:
    """Apply an edit; return the names of the fields that changed (none: nothing written)."""
    with transaction.atomic():
        # Locked so two operators saving at once each diff against what is stored.
        notice = Notice.objects.select_for_update().get(pk=notice_id)
        before = {name: getattr(notice, name) for name in FIELDS}
        after = _values(data)
        changed = [name for name in FIELDS if before[name] != after[name]]
        if not changed:
            return []
        for name in changed:
            setattr(notice, name, after[name])
        notice.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        notice.save(update_fields=[*changed, "updated_by", "updated_at"])
        record_event(
            "notice.updated",
            actor=actor,
            target_type="notice",
            target_id=str(notice.pk),
            data={
                "before": _jsonable({k: before[k] for k in changed}),
                "after": _jsonable({k: after[k] for k in changed}),
            },
        )
    return changed
