"""Building inquiries in a given state for the inquiry tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from sekispe.accounts.models import Role
from sekispe.inquiries import rules, services
from sekispe.inquiries.models import (
    CompletionConfirmation,
    Consultation,
    GuidancePlan,
    GuidanceVisit,
    Inquiry,
    InquiryState,
    InquiryTransition,
)
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


def backdate(inquiry: Inquiry, days: int = 0, *, to: dt.datetime | None = None) -> Inquiry:
    """Pretend the inquiry was sent `days` ago (or at `to`): its created_at,
    state_changed_at and answer_by move back, so tests can record dates
    between the day it was sent and today."""
    sent = to if to is not None else inquiry.created_at - dt.timedelta(days=days)
    Inquiry.objects.filter(pk=inquiry.pk).update(
        created_at=sent,
        state_changed_at=sent,
        answer_by=sent + dt.timedelta(days=rules.ANSWER_DAYS),
    )
    inquiry.refresh_from_db()
    return inquiry


def visits(start: dt.date | None = None) -> list[services.PlannedVisit]:
    """Three planned visits two weeks apart from `start` (today by default):
    planned dates may be in the future, unlike the dates they are held on."""
    start = start or timezone.localdate()
    return [
        services.PlannedVisit(GOALS_1[n], start + dt.timedelta(days=14 * n), "visit")
        for n in range(3)
    ]


def consulted_on(inquiry: Inquiry) -> dt.date:
    """When the helpers hold the consultation: the day the inquiry was sent
    (local time), the earliest date the services accept."""
    return timezone.localdate(inquiry.created_at)


def visits_held_on() -> dt.date:
    """When the helpers hold every visit: today, the latest date the services
    accept (on or after the consultation, and the same day for all three keeps
    them in order)."""
    return timezone.localdate()


def advance(inquiry: Inquiry, to: str, specialist: Any, client: Any) -> Inquiry:
    """Walk the happy path until `to` (sent → … → confirmed), with dates the
    services accept: consultation on the day the inquiry was sent, every
    visit today."""
    steps = [
        (InquiryState.ACCEPTED, lambda: services.accept(inquiry, specialist)),
        (
            InquiryState.CONSULTING,
            lambda: services.record_consultation(
                inquiry,
                specialist,
                held_on=consulted_on(inquiry),
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
                    held_on=visits_held_on(),
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


# ------------------------------------------------------------------ factory
# advance() walks the real transitions: right where the walk is what is tested
# (the services' own tests), but each step also checks, audits and renders
# e-mail. Where a test only needs an inquiry *in* a state, these write the rows
# that state implies directly, with the same values advance() leaves behind.

HAPPY_PATH = (
    InquiryState.SENT,
    InquiryState.ACCEPTED,
    InquiryState.CONSULTING,
    InquiryState.GUIDANCE_PLANNED,
    InquiryState.IN_GUIDANCE,
    InquiryState.COMPLETED,
    InquiryState.CONFIRMED,
)


def create_inquiry(
    sender: Any,
    specialist: Any,
    state: str = InquiryState.SENT,
    *,
    recorded: int = rules.VISITS,
    sme_account: Any = None,
    **overrides: Any,
) -> Inquiry:
    """An inquiry from `sender` to `specialist`'s listing, written directly in
    `state` (a happy-path state) with its transitions and related rows, as
    send() + advance() would leave it, but without their checks (capacity,
    rate limit), audit events or e-mail. `recorded`: visits recorded when
    `state` is in_guidance. `overrides`: fields of the draft (see draft())."""
    details = draft(**overrides)
    now = timezone.now()
    institution = sender.role == Role.INSTITUTION
    inquiry = Inquiry.objects.create(
        listing=listing_of(specialist),
        sender=sender,
        sme_account=sme_account if institution else sender,
        referred_by_institution=institution,
        company_name=details.company_name,
        contact_name=details.contact_name,
        contact_email=details.contact_email,
        company_profile=dict(details.company_profile),
        theme=details.theme,
        preferred_form=details.preferred_form,
        message=details.message,
        wants_free_first_session=details.wants_free_first_session,
        created_at=now,
        state_changed_at=now,
        answer_by=now + dt.timedelta(days=rules.ANSWER_DAYS),
    )
    InquiryTransition.objects.create(
        inquiry=inquiry, from_state="", to_state=InquiryState.SENT, actor=sender
    )
    return jump(inquiry, state, specialist, sender, recorded=recorded)


def jump(
    inquiry: Inquiry, to: str, specialist: Any, client: Any, *, recorded: int = rules.VISITS
) -> Inquiry:
    """Move an existing inquiry (sent, or further along the happy path) to `to`
    by writing the rows each step implies: what advance() does, minus the
    services. The same consultation, plan (theme 1, visits()), visit notes,
    completion report and confirmation snapshot; one transition per step, one
    per recorded visit, as the services write them."""
    start, end = HAPPY_PATH.index(inquiry.state), HAPPY_PATH.index(to)
    assert start <= end, f"{inquiry.state} is past {to}"
    assert 1 <= recorded <= rules.VISITS
    assert to == InquiryState.IN_GUIDANCE or recorded == rules.VISITS
    now = timezone.now()
    steps: list[tuple[str, str, Any]] = []  # (from, to, actor) for the transitions
    fields: dict[str, Any] = {}
    for state in HAPPY_PATH[start + 1 : end + 1]:
        previous = steps[-1][1] if steps else inquiry.state
        if state == InquiryState.CONSULTING:
            Consultation.objects.create(
                inquiry=inquiry,
                held_on=consulted_on(inquiry),
                form="visit",
                issues="規程がない。",
                priorities="基本方針から。",
            )
        elif state == InquiryState.GUIDANCE_PLANNED:
            plan = GuidancePlan.objects.create(inquiry=inquiry, theme=1)
            GuidanceVisit.objects.bulk_create(
                GuidanceVisit(
                    plan=plan, number=n, goal=v.goal, scheduled_on=v.scheduled_on, form=v.form
                )
                for n, v in enumerate(visits(), start=1)
            )
        elif state == InquiryState.IN_GUIDANCE:
            for n in range(1, recorded + 1):
                GuidanceVisit.objects.filter(plan__inquiry=inquiry, number=n).update(
                    held_on=visits_held_on(),
                    notes=f"{n}回目を実施。",
                    goal_achieved=True,
                    recorded_at=now,
                )
                # Every recorded visit is a transition (in_guidance → in_guidance after the first).
                steps.append((steps[-1][1] if n > 1 else previous, state, specialist))
            continue
        elif state == InquiryState.COMPLETED:
            fields["completion_report"] = "3回実施しました。"
        steps.append((previous, state, client if state == InquiryState.CONFIRMED else specialist))
    if not steps:
        return inquiry
    Inquiry.objects.filter(pk=inquiry.pk).update(state=to, state_changed_at=now, **fields)
    InquiryTransition.objects.bulk_create(
        InquiryTransition(inquiry=inquiry, from_state=a, to_state=b, actor=actor)
        for a, b, actor in steps
    )
    inquiry.refresh_from_db()
    if to == InquiryState.CONFIRMED:
        _confirmation(inquiry, client)
    return inquiry


def _confirmation(inquiry: Inquiry, client: Any) -> CompletionConfirmation:
    """The snapshot services.confirm() keeps, written by the same function."""
    return services.write_confirmation(inquiry, client)
