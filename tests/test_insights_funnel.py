"""The national funnel against a brute-force count over generated inquiries and events."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.events.models import ConsultationEvent, EventParticipant, IndividualConsultation
from sekispe.inquiries.models import GuidancePlan, Inquiry, InquiryTransition
from sekispe.insights.areas import funnel
from sekispe.insights.tally import month_of
from sekispe.listings.models import Listing
from tests.factories import TODAY, make_specialist_user, make_user

ZONE = timezone.get_current_timezone()
STATES = [
    "sent",
    "accepted",
    "declined",
    "expired",
    "consulting",
    "guidance_planned",
    "in_guidance",
    "completed",
    "confirmed",
    "closed",
]
MATCHED = {"accepted", "consulting", "guidance_planned", "in_guidance", "completed", "confirmed"}

inquiry = st.fixed_dictionaries(
    {
        # Naive bounds, as hypothesis wants; the test makes them Japan time.
        "created": st.datetimes(dt.datetime(2025, 6, 1), dt.datetime(2026, 11, 1)),  # noqa: DTZ001
        "prefecture": st.sampled_from([None, "01", "13"]),
        "theme": st.sampled_from([None, 1, 2]),
        "state": st.sampled_from(STATES),
        "accept_after": st.one_of(st.none(), st.integers(1, 60 * 24 * 20)),
        "plan_theme": st.one_of(st.none(), st.sampled_from([1, 3])),
        "reason": st.sampled_from(["", "cost", "capacity", "other"]),
        "wants_free": st.booleans(),
        "free_listing": st.booleans(),
    }
)
participant = st.tuples(
    st.sampled_from(["01", "13", "47"]),
    st.lists(st.sampled_from(["1", "2", "4"]), max_size=2),
    st.lists(st.sampled_from([None, 1, 4]), max_size=2),
)
event = st.tuples(st.dates(dt.date(2025, 6, 1), TODAY), st.lists(participant, max_size=4))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=ZONE)


def _month(moment: dt.datetime) -> dt.date:
    return month_of(timezone.localtime(moment).date())


@pytest.fixture
def world(db):
    """Made once for every example (each example rolls back only its own rows)."""
    listings = {}
    for first_free in (True, False):
        user = make_specialist_user(first_free=first_free)
        listings[first_free] = Listing.objects.get(record=user.record)
    return listings, make_user("sme"), make_user("institution")


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=st.lists(inquiry, max_size=12), events=st.lists(event, max_size=3))
def test_the_funnel_matches_a_brute_force_count(world, items, events):
    (listings, sme, institution) = world
    free, paid = listings[True], listings[False]
    with transaction.atomic():
        for n, item in enumerate(items):
            created = _aware(item["created"])
            reason = item["reason"]
            row = Inquiry.objects.create(
                listing=free if item["free_listing"] else paid,
                sender=sme,
                company_name=f"株式会社ファネル{n}",
                contact_name="担当",
                contact_email="f@example.jp",
                preferred_form="online",
                message="相談",
                theme=item["theme"],
                company_profile={"prefecture": item["prefecture"]} if item["prefecture"] else {},
                state=item["state"],
                decline_reason=reason
                if item["state"] == "declined" and reason in ("capacity", "other")
                else "",
                close_reason=reason
                if item["state"] == "closed" and reason in ("cost", "other")
                else "",
                wants_free_first_session=item["wants_free"],
                created_at=created,
                state_changed_at=created + dt.timedelta(days=25),
                answer_by=created + dt.timedelta(days=7),
            )
            if item["accept_after"] is not None and item["state"] in MATCHED | {"closed"}:
                t = InquiryTransition.objects.create(
                    inquiry=row, from_state="sent", to_state="accepted"
                )
                InquiryTransition.objects.filter(pk=t.pk).update(
                    at=created + dt.timedelta(minutes=item["accept_after"])
                )
            if item["plan_theme"] and item["state"] in MATCHED - {"accepted", "consulting"}:
                GuidancePlan.objects.create(inquiry=row, theme=item["plan_theme"])
        for n, (held_on, people) in enumerate(events):
            ev = ConsultationEvent.objects.create(
                owner=institution, title=f"相談会{n}", held_on=held_on, capacity=10, themes=[1]
            )
            for k, (prefecture, themes, consultations) in enumerate(people):
                p = EventParticipant.objects.create(
                    event=ev,
                    company_name=f"参加{k}",
                    contact_name="参加 太郎",
                    email=f"p{k}@example.jp",
                    prefecture=prefecture,
                    themes=themes,
                    registered_via="link",
                )
                for theme in consultations:
                    IndividualConsultation.objects.create(
                        participant=p, theme=theme, notes="課題", recorded_by=institution
                    )
        facts = {
            (c.measure, c.month, c.prefecture, c.theme, c.key): c.value
            for tally in funnel.compute(TODAY)
            for c in tally.cells()
        }
        inquiries = list(Inquiry.objects.select_related("listing"))
        accepted_at = dict(
            InquiryTransition.objects.filter(to_state="accepted").values_list("inquiry_id", "at")
        )
        plans = {p.inquiry_id: p for p in GuidancePlan.objects.all()}
        transaction.set_rollback(True)

    def get(measure, month=None, prefecture="", theme="", key=""):
        return facts.get((measure, month, prefecture, theme, key), 0)

    expected: Counter = Counter()
    waits: dict = {}
    for q in inquiries:
        pref = q.company_profile.get("prefecture", "")
        theme = str(plans[q.pk].theme) if q.pk in plans else (str(q.theme) if q.theme else "")
        cells = {(p, t) for p in {"", pref} for t in {"", theme}}

        def count(measure, month, cells=cells):
            for p, t in cells:
                expected[(measure, month, p, t)] += 1

        count("funnel.inquiries", _month(q.created_at))
        when = accepted_at.get(q.pk) or (q.state_changed_at if q.state in MATCHED else None)
        if when is not None:
            count("funnel.accepted", _month(when))
            if q.wants_free_first_session and q.listing.first_free:
                expected[("funnel.first_free", _month(when), "", "")] += 1
        if q.pk in accepted_at:
            waits.setdefault(_month(accepted_at[q.pk]), []).append(
                (accepted_at[q.pk] - q.created_at).total_seconds() / 60
            )
        if q.pk in plans:
            count("funnel.planned", _month(plans[q.pk].created_at))
        if q.state in ("completed", "confirmed"):
            count("funnel.completed", _month(q.state_changed_at))
        if q.state == "confirmed":
            count("funnel.confirmed", _month(q.state_changed_at))
        if q.state == "declined":
            key = q.decline_reason or "unrecorded"
            expected[("funnel.declined", _month(q.state_changed_at), "", key)] += 1
        if q.state == "closed":
            key = q.close_reason or "unrecorded"
            expected[("funnel.closed", _month(q.state_changed_at), "", key)] += 1
    for held_on, people in events:
        expected[("funnel.events", month_of(held_on), "", "")] += 1
        for prefecture, themes, consultations in people:
            first = themes[0] if themes else ""
            for p in ("", prefecture):
                for t in {"", first}:
                    expected[("funnel.participants", month_of(held_on), p, t)] += 1
            for theme in consultations:
                for p in ("", prefecture):
                    for t in {"", str(theme) if theme else ""}:
                        expected[("funnel.consultations", month_of(held_on), p, t)] += 1

    for (measure, month, p, t), n in expected.items():
        if measure in ("funnel.declined", "funnel.closed"):
            assert get(measure, month, key=t) == n, (measure, month, t)
        else:
            assert get(measure, month, p, t) == n, (measure, month, p, t)
    counted = {
        k
        for k, v in facts.items()
        if v and k[0] not in ("funnel.declined", "funnel.closed", "funnel.accept_minutes_median")
    }
    assert counted == {
        (m, mo, p, t, "")
        for (m, mo, p, t), n in expected.items()
        if n and m not in ("funnel.declined", "funnel.closed")
    }
    for month, minutes in waits.items():
        assert get("funnel.accept_minutes_median", month) == round(statistics.median(minutes))
