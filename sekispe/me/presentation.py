"""What `/me/` shows, composed from each area's own read functions.

Plain functions, one per block, so the view stays a one-liner and each block
can be tested without HTTP. Nothing here decides a rule: the deadlines come
from `registry.services.renewal_status_of`, the course states from the
registry page's `course_rows`, deemed attendance from
`deemed.presentation.summary_for`, visibility and freshness from
`listings.models`. The number of queries does not grow with the number of
inquiries, requests or courses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from sekispe.deemed.presentation import RegistrySummary
from sekispe.deemed.presentation import summary_for as deemed_summary_for
from sekispe.inquiries import rules as inquiry_rules
from sekispe.inquiries.models import Inquiry, InquiryState
from sekispe.listings.models import (
    HIDDEN_AFTER_DAYS,
    Listing,
    ListingRevision,
    ListingStatus,
    RevisionStatus,
)
from sekispe.registrant_requests.models import RegistrantRequest, RequestStatus
from sekispe.registrant_requests.views_me import course_rows
from sekispe.registry import rules as registry_rules
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.registry.services import renewal_status_of

INQUIRY_LINKS = 3


@dataclass(frozen=True)
class RegistrationBlock:
    record: RegistryRecord
    active: bool
    renewal: registry_rules.RenewalStatus | None
    # The course rows still to do (未受講, whether or not past their due date).
    missing_courses: list[dict[str, Any]] = field(default_factory=list)
    courses_planned: int = 0

    @property
    def days_left(self) -> int | None:
        """Days to the renewal application deadline; None once it has passed."""
        if self.renewal is None or self.renewal.days_to_deadline < 0:
            return None
        return self.renewal.days_to_deadline

    @property
    def deadline_passed(self) -> bool:
        return self.renewal is not None and self.renewal.days_to_deadline < 0


@dataclass(frozen=True)
class ListingBlock:
    listing: Listing | None
    updated_on: dt.date | None = None
    days_since_update: int | None = None
    stale: bool = False  # older than STALE_AFTER_DAYS: time to confirm it
    hidden_as_old: bool = False  # older than HIDDEN_AFTER_DAYS: not shown in search
    pending_change: ListingRevision | None = None
    returned_change: ListingRevision | None = None

    @property
    def published(self) -> bool:
        return self.listing is not None and self.listing.status == ListingStatus.PUBLISHED


@dataclass(frozen=True)
class InquiryBlock:
    open_count: int
    first: list[Inquiry]
    # Inquiries still waiting for the specialist's answer.
    waiting_count: int


@dataclass(frozen=True)
class FrontPage:
    registration: RegistrationBlock
    deemed: RegistrySummary | None
    listing: ListingBlock
    inquiries: InquiryBlock
    requests: list[RegistrantRequest]


def registration_block(record: RegistryRecord, today: dt.date) -> RegistrationBlock:
    active = record.status == RegistryStatus.ACTIVE
    if not active:
        return RegistrationBlock(record=record, active=False, renewal=None)
    renewal = renewal_status_of(record, today)
    rows = course_rows(renewal)
    return RegistrationBlock(
        record=record,
        active=True,
        renewal=renewal,
        missing_courses=[r for r in rows if r["css"] in ("course-pending", "course-missing")],
        courses_planned=sum(1 for r in rows if r["css"] == "course-planned"),
    )


def listing_block(record: RegistryRecord, today: dt.date) -> ListingBlock:
    listing = Listing.objects.filter(record_id=record.pk).first()
    if listing is None:
        return ListingBlock(listing=None)
    # At most one revision is open (a database constraint): pending, or sent back.
    open_revision = ListingRevision.objects.filter(listing=listing, closed_at__isnull=True).first()
    updated_on = timezone.localdate(listing.updated_at)
    days = (today - updated_on).days
    return ListingBlock(
        listing=listing,
        updated_on=updated_on,
        days_since_update=days,
        stale=listing.is_stale(today),
        hidden_as_old=days > HIDDEN_AFTER_DAYS,
        pending_change=open_revision
        if open_revision is not None and open_revision.status == RevisionStatus.PENDING
        else None,
        returned_change=open_revision
        if open_revision is not None and open_revision.status == RevisionStatus.RETURNED
        else None,
    )


def inquiry_block(record: RegistryRecord) -> InquiryBlock:
    open_ = Inquiry.objects.filter(listing__record_id=record.pk).exclude(
        state__in=inquiry_rules.TERMINAL
    )
    states = list(open_.values_list("state", flat=True))
    first = list(open_.order_by("answer_by", "-created_at", "-id")[:INQUIRY_LINKS])
    return InquiryBlock(
        open_count=len(states),
        first=first,
        waiting_count=sum(1 for s in states if s == InquiryState.SENT),
    )


def open_requests(record: RegistryRecord) -> list[RegistrantRequest]:
    return list(
        RegistrantRequest.objects.filter(record_id=record.pk, status=RequestStatus.SUBMITTED)
    )


def front_page(user: Any, today: dt.date | None = None) -> FrontPage:
    """Everything `/me/` shows for the signed-in specialist `user`."""
    today = today or timezone.localdate()
    # A specialist account always has its record (constraint specialist_has_record).
    record: RegistryRecord = user.record
    registration = registration_block(record, today)
    return FrontPage(
        registration=registration,
        deemed=deemed_summary_for(record, user, today) if registration.active else None,
        listing=listing_block(record, today),
        inquiries=inquiry_block(record),
        requests=open_requests(record),
    )
