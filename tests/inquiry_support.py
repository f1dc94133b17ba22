"""Building inquiries in a given state for the inquiry tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sekispe.inquiries import services
from sekispe.inquiries.models import Inquiry, InquiryState
from sekispe.listings.models import Listing

GOALS_1 = services.theme_goals(1)


def draft(**overrides: Any) -> services.InquiryDraft:
    base = {
        "company_name": "株式会社サンプル製作所",
        "contact_name": "中小 花子",
        "contact_email": "hanako@sample.example.jp",
        "theme": 1,
        "preferred_form": "visit",
        "message": "情報セキュリティのルールづくりを相談したいです。",
        "wants_free_first_session": True,
        "company_profile": {"prefecture": "13", "industry": "E"},
    }
    return services.InquiryDraft(**{**base, **overrides})


def listing_of(specialist: Any) -> Listing:
    return Listing.objects.select_related("record").get(record_id=specialist.record_id)


def send(sender: Any, specialist: Any, **overrides: Any) -> Inquiry:
    return services.send_inquiry(sender, listing_of(specialist), draft(**overrides))


def visits(start: dt.date = dt.date(2026, 12, 1)) -> list[services.PlannedVisit]:
    return [
        services.PlannedVisit(GOALS_1[n], start + dt.timedelta(days=14 * n), "visit")
        for n in range(3)
    ]


def advance(inquiry: Inquiry, to: str, specialist: Any, client: Any) -> Inquiry:
    """Walk the happy path until `to` (sent → … → confirmed)."""
    steps = [
        (InquiryState.ACCEPTED, lambda: services.accept(inquiry, specialist)),
        (
            InquiryState.CONSULTING,
            lambda: services.record_consultation(
                inquiry,
                specialist,
                held_on=dt.date(2026, 11, 25),
                form="visit",
                issues="規程がない。",
                priorities="基本方針から。",
            ),
        ),
        (
            InquiryState.GUIDANCE_PLANNED,
            lambda: services.plan_guidance(inquiry, specialist, theme=1, visits=visits()),
        ),
        (
            InquiryState.IN_GUIDANCE,
            lambda: [
                services.record_visit(
                    inquiry,
                    specialist,
                    number=n,
                    held_on=dt.date(2026, 12, 1) + dt.timedelta(days=14 * (n - 1)),
                    notes=f"{n}回目を実施。",
                    goal_achieved=True,
                )
                for n in (1, 2, 3)
            ],
        ),
        (
            InquiryState.COMPLETED,
            lambda: services.complete(inquiry, specialist, "3回実施しました。"),
        ),
        (InquiryState.CONFIRMED, lambda: services.confirm(inquiry, client)),
    ]
    order = [InquiryState.SENT] + [state for state, _step in steps]
    for state, step in steps:
        if order.index(inquiry.state) >= order.index(to):
            break
        if order.index(inquiry.state) >= order.index(state):
            continue  # already past this step
        step()
        inquiry.refresh_from_db()
        assert inquiry.state == state
    assert inquiry.state == to
    return inquiry
