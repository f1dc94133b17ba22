"""Everything held about one specialist, for the APPI disclosure request (開示請求).

`export_personal_data(user)` returns plain JSON types only, so the view just
serialises it and tests can inspect it directly. Other people's identities are
not part of someone's personal data: the operator who acted on a listing is
named by role, never by account.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.db.models import Model, Q
from django.utils import timezone

from sekispe.audit.models import AuditEvent
from sekispe.listings.lifecycle import SET_FIELDS
from sekispe.listings.models import Listing

FORMAT = "sekispe-personal-data/1"
_LISTING_SKIP = {"id", "record"}
_RECORD_SKIP = {"id"}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _fields(obj: Model, skip: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in skip:
            continue
        # attname gives the code for foreign keys (home_prefecture_id → "13").
        key = field.name
        out[key] = _plain(getattr(obj, field.attname))
    return out


def _who(actor_id: int | None, actor_role: str | None, user: Any) -> str:
    if actor_id is not None and actor_id == user.pk:
        return "self"
    if actor_id is not None:
        return actor_role or "user"
    return "system"


def _account(user: Any) -> dict[str, Any]:
    return {
        "email": user.email,
        "role": user.role,
        "display_name": user.display_name,
        "organization": user.organization,
        "date_joined": _plain(user.date_joined),
        "email_verified_at": _plain(user.email_verified_at),
        "last_login": _plain(user.last_login),
        "is_active": user.is_active,
    }


def _record(record: Any) -> dict[str, Any]:
    out = _fields(record, _RECORD_SKIP)
    out["courses"] = [
        {
            "kind": c.kind,
            "fiscal_year": c.fiscal_year,
            "provider": c.provider,
            "course_code": c.course_code,
            "completed_on": _plain(c.completed_on),
        }
        for c in record.courses.order_by("completed_on", "id")
    ]
    out["history"] = [
        {
            "date": _plain(h.history_date),
            "type": h.history_type,
            "change_reason": h.history_change_reason or "",
        }
        for h in record.history.order_by("history_date", "history_id")
    ]
    return out


def _listing(listing: Listing, user: Any) -> dict[str, Any]:
    out = _fields(listing, _LISTING_SKIP)
    for name in SET_FIELDS:
        out[name] = sorted(getattr(listing, name).values_list("pk", flat=True))
    out["offers"] = [
        {"form": form, "fee_yen": fee}
        for form, fee in listing.offers.order_by("form").values_list("form", "fee_yen")
    ]
    out["transitions"] = [
        {
            "date": _plain(t.created_at),
            "from_status": t.from_status,
            "to_status": t.to_status,
            "by": _who(t.actor_id, t.actor.role if t.actor else None, user),
            "note": t.note,
        }
        for t in listing.transitions.select_related("actor").order_by("created_at", "id")
    ]
    # Changes to review-gated items kept apart from the live listing (ListingRevision).
    out["changes_for_review"] = [
        {
            "submitted_at": _plain(r.submitted_at),
            "status": r.status,
            "values": r.values,
            "sets": r.sets,
            "decided_at": _plain(r.decided_at),
            "note": r.note,
        }
        for r in listing.revisions.order_by("submitted_at", "id")
    ]
    return out


def _listing_history(listing: Listing) -> list[dict[str, Any]]:
    return [
        {
            "date": _plain(h.history_date),
            "type": h.history_type,
            "change_reason": h.history_change_reason or "",
            "status": h.status,
        }
        for h in listing.history.order_by("history_date", "history_id")
    ]


def _audit_events(user: Any, listing: Listing | None, record: Any) -> list[dict[str, Any]]:
    about = Q(actor=user) | Q(target_type="user", target_id=str(user.pk))
    if listing is not None:
        about |= Q(target_type="listing", target_id=str(listing.pk))
    if record is not None:
        about |= Q(target_type="registry_record", target_id=str(record.pk))
    events = AuditEvent.objects.filter(about).select_related("actor").order_by("created_at", "id")
    return [
        {
            "date": _plain(e.created_at),
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "by": _who(e.actor_id, e.actor.role if e.actor else None, user),
            "data": e.data,
        }
        for e in events
    ]


def export_personal_data(user: Any) -> dict[str, Any]:
    record = user.record
    listing = Listing.objects.filter(record=record).first() if record is not None else None
    return {
        "format": FORMAT,
        "generated_at": _plain(timezone.now()),
        "account": _account(user),
        "registry_record": _record(record) if record is not None else None,
        "listing": _listing(listing, user) if listing is not None else None,
        "listing_history": _listing_history(listing) if listing is not None else [],
        "audit_events": _audit_events(user, listing, record),
    }
