"""Two clicks, or two people, at the same moment never make two changes.

Real threads, each with its own database connection, released together by a
barrier. Runs on SQLite (BEGIN IMMEDIATE serialises writers) and on PostgreSQL
(row locks and conditional UPDATEs), which is the production case CI checks.
"""

from __future__ import annotations

from typing import Any

import pytest

from sekispe.inquiries import services
from sekispe.inquiries.models import Inquiry, InquiryState, InquiryTransition
from sekispe.listings.models import Listing
from tests.concurrency_support import race
from tests.factories import make_specialist_user, make_user
from tests.inquiry_support import draft, listing_of, send

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def refused(results: list[Any]) -> list[services.InquiryRefused]:
    others = [
        r
        for r in results
        if isinstance(r, Exception) and not isinstance(r, services.InquiryRefused)
    ]
    assert not others, others
    return [r for r in results if isinstance(r, services.InquiryRefused)]


def test_many_clicks_on_accept_accept_once():
    specialist = make_specialist_user("200001")
    sme = make_user("sme")
    inquiry = send(sme, specialist)
    results = race(
        [lambda: services.accept(Inquiry.objects.get(pk=inquiry.pk), specialist)] * THREADS
    )
    assert len(refused(results)) == THREADS - 1
    inquiry.refresh_from_db()
    assert inquiry.state == InquiryState.ACCEPTED
    assert InquiryTransition.objects.filter(inquiry=inquiry, to_state="accepted").count() == 1


def test_accept_and_decline_at_once_leave_one_outcome():
    specialist = make_specialist_user("200002")
    inquiry = send(make_user("sme"), specialist)
    accept = lambda: services.accept(Inquiry.objects.get(pk=inquiry.pk), specialist)  # noqa: E731
    decline = lambda: services.decline(  # noqa: E731
        Inquiry.objects.get(pk=inquiry.pk), specialist, "schedule"
    )
    results = race([accept, decline] * (THREADS // 2))
    assert len(refused(results)) == THREADS - 1
    inquiry.refresh_from_db()
    assert InquiryTransition.objects.filter(inquiry=inquiry).count() == 2  # sent + one outcome
    assert inquiry.state in (InquiryState.ACCEPTED, InquiryState.DECLINED)


def test_concurrent_accepts_never_exceed_capacity():
    specialist = make_specialist_user("200003")
    Listing.objects.filter(record_id=specialist.record_id).update(capacity=2)
    inquiries = [send(make_user("sme"), specialist, company_name=f"{n}社") for n in range(THREADS)]
    results = race(
        [lambda i=i: services.accept(Inquiry.objects.get(pk=i.pk), specialist) for i in inquiries]
    )
    full = refused(results)
    assert len(full) == THREADS - 2 and all(r.code == "full" for r in full)
    assert Inquiry.objects.filter(state=InquiryState.ACCEPTED).count() == 2


def test_double_send_creates_one_inquiry():
    specialist = make_specialist_user("200004")
    sme = make_user("sme")
    listing = listing_of(specialist)
    results = race([lambda: services.send_inquiry(sme, listing, draft())] * THREADS)
    assert all(r.code == "duplicate" for r in refused(results))
    assert Inquiry.objects.count() == 1


def test_the_last_slot_goes_to_one_sender():
    specialist = make_specialist_user("200005")
    first = send(make_user("sme"), specialist, company_name="先客")
    # Capacity 1: the slot is free until someone is accepted; then nobody may send.
    services.accept(first, specialist)
    listing = listing_of(specialist)
    senders = [make_user("sme") for _ in range(THREADS)]
    results = race(
        [
            lambda s=s: services.send_inquiry(s, listing, draft(company_name=s.email))
            for s in senders
        ]
    )
    assert all(r.code == "full" for r in refused(results))
    assert Inquiry.objects.count() == 1
