"""The daily listing maintenance: availability that resumes, freshness e-mails.

Idempotent: each e-mail is claimed with a conditional UPDATE on its marker
column before it is queued, so a second run (or two runs at once) sends
nothing twice. Hiding itself needs no job: `Listing.objects.visible()`
compares dates, so a year-old listing disappears at midnight even if this
command does not run; the job only tells the specialist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sekispe.audit.services import record_event
from sekispe.core.changes import record_everything
from sekispe.listings.history import snapshot_listings
from sekispe.listings.models import (
    HIDDEN_AFTER_DAYS,
    STALE_AFTER_DAYS,
    Availability,
    Listing,
    ListingStatus,
    stale_cutoff,
)
from sekispe.outbox.services import queue_templated

ACTOR_LABEL = "listings-maintenance"


@dataclass
class MaintenanceReport:
    availability_flipped: int = 0
    stale_notified: int = 0
    hidden_notified: int = 0


def _recipient(listing: Listing) -> str:
    account = getattr(listing.record, "account", None)
    return getattr(account, "email", "") or listing.email


def flip_availability(today: dt.date) -> int:
    """Make stored availability match `effective_accepting` once its date has passed."""
    due = Listing.objects.filter(availability_until__lt=today).select_related("record")
    flipped = 0
    for listing in due:
        with transaction.atomic():
            resumed = listing.availability == Availability.NOT_ACCEPTING
            new = Availability.ACCEPTING if resumed else Availability.NOT_ACCEPTING
            claimed = Listing.objects.filter(
                pk=listing.pk, availability=listing.availability, availability_until__lt=today
            ).update(availability=new, availability_until=None, not_accepting_reason="")
            if claimed != 1:
                continue
            listing.refresh_from_db()
            snapshot_listings([listing], reason=f"{ACTOR_LABEL}: availability")
            record_event(
                "listings.availability_resumed" if resumed else "listings.availability_ended",
                actor_label=ACTOR_LABEL,
                target_type="listing",
                target_id=listing.pk,
                data={"to": new},
            )
            flipped += 1
    return flipped


def _notify_once(
    today: dt.date, days: int, marker: str, template: str, extra: Callable[[Listing], dict]
) -> int:
    now = timezone.now()
    candidates = Listing.objects.filter(
        Q(**{f"{marker}__isnull": True}),
        status=ListingStatus.PUBLISHED,
        updated_at__lt=stale_cutoff(today, days),
    ).select_related("record", "record__account")
    sent = 0
    for listing in candidates:
        with transaction.atomic():
            claimed = Listing.objects.filter(
                pk=listing.pk, updated_at=listing.updated_at, **{f"{marker}__isnull": True}
            ).update(**{marker: now})
            if claimed != 1:
                continue
            to = _recipient(listing)
            if to:
                queue_templated(template, to, {"listing": listing, **extra(listing)})
            record_event(
                f"listings.{template}",
                actor_label=ACTOR_LABEL,
                target_type="listing",
                target_id=listing.pk,
                data={"updated_at": listing.updated_at.isoformat(), "emailed": bool(to)},
            )
            sent += 1
    return sent


def run_listing_maintenance(today: dt.date | None = None) -> MaintenanceReport:
    today = today or timezone.localdate()
    report = MaintenanceReport()
    report.availability_flipped = flip_availability(today)
    # Hidden first, so a listing that crossed both lines the same night gets one e-mail.
    report.hidden_notified = _notify_once(
        today,
        HIDDEN_AFTER_DAYS,
        "hidden_notified_at",
        "listing_hidden",
        lambda listing: {"name": listing.record.name},
    )
    Listing.objects.filter(hidden_notified_at__isnull=False, stale_notified_at__isnull=True).update(
        stale_notified_at=timezone.now()
    )
    report.stale_notified = _notify_once(
        today,
        STALE_AFTER_DAYS,
        "stale_notified_at",
        "listing_stale",
        lambda listing: {"name": listing.record.name},
    )
    if report.availability_flipped:
        record_everything()
    return report
