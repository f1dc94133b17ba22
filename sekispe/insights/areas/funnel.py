"""The national funnel, over every institution's events and every direct
inquiry: events → participants → individual consultations → inquiries →
accepted → guidance planned → completed → confirmed.

Each stage is counted in the month it happened (a flow, not a cohort):
- events, participants and their individual consultations: the event's day;
- inquiries: when sent; accepted: the transition to `accepted` (an inquiry
  past it without that transition, as bulk-loaded data may be, on its last
  state change); planned: the guidance plan's creation; completed and
  confirmed: the transition to that state (same fallback).
"Accepted" and "completed" are the event report's definitions
(`events.report.MATCHED_STATES`, `COMPLETED_STATES`, a `closed` inquiry counts
as accepted when it was). Prefecture: the company's, as given with the inquiry
or at sign-up. Theme: the guidance plan's, else the inquiry's (as in the event
report); a participant's first theme of interest. The median time to accept
runs from sending to the `accepted` transition; "first session free": an
accepted inquiry whose company asked for a free first session from a
specialist whose listing offers one (初回相談無料).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from django.db.models import Count
from django.db.models.fields.json import KT
from django.db.models.functions import TruncMonth
from django.utils import timezone

from sekispe.events.models import ConsultationEvent, EventParticipant, IndividualConsultation
from sekispe.events.report import COMPLETED_STATES, MATCHED_STATES
from sekispe.inquiries.models import GuidancePlan, Inquiry, InquiryTransition
from sekispe.inquiries.models import InquiryState as S
from sekispe.insights.tally import Tally, month_of

UNRECORDED = "unrecorded"


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _codes(prefecture: object) -> tuple[str, ...]:
    return (prefecture,) if isinstance(prefecture, str) and prefecture else ()


def _theme(code: object) -> tuple[str, ...]:
    return (str(code),) if code else ()


def compute(today: dt.date) -> list[Tally]:
    events = Tally("funnel.events")
    participants = Tally("funnel.participants")
    consultations = Tally("funnel.consultations")
    inquiries = Tally("funnel.inquiries")
    accepted = Tally("funnel.accepted")
    planned = Tally("funnel.planned")
    completed = Tally("funnel.completed")
    confirmed = Tally("funnel.confirmed")
    median = Tally("funnel.accept_minutes_median")
    declined = Tally("funnel.declined")
    closed = Tally("funnel.closed")
    first_free = Tally("funnel.first_free")

    for month, n in (
        ConsultationEvent.objects.order_by()
        .annotate(m=TruncMonth("held_on"))
        .values_list("m")
        .annotate(n=Count("id"))
    ):
        events.add(month=month, n=n)
    for held_on, prefecture, themes in EventParticipant.objects.order_by().values_list(
        "event__held_on", "prefecture", "themes"
    ):
        first_theme = themes[0] if isinstance(themes, list) and themes else None
        participants.add(month=held_on, prefectures=_codes(prefecture), themes=_theme(first_theme))
    for held_on, prefecture, theme in IndividualConsultation.objects.order_by().values_list(
        "participant__event__held_on", "participant__prefecture", "theme"
    ):
        consultations.add(month=held_on, prefectures=_codes(prefecture), themes=_theme(theme))

    moments: dict[str, dict[int, dt.datetime]] = defaultdict(dict)
    for inquiry_id, state, at in (
        InquiryTransition.objects.filter(to_state__in=(S.ACCEPTED, S.COMPLETED, S.CONFIRMED))
        .order_by("at", "id")
        .values_list("inquiry_id", "to_state", "at")
    ):
        moments[state].setdefault(inquiry_id, at)
    plans = {
        inquiry_id: (theme, created_at)
        for inquiry_id, theme, created_at in GuidancePlan.objects.order_by().values_list(
            "inquiry_id", "theme", "created_at"
        )
    }
    waits: dict[dt.date | None, list[float]] = defaultdict(list)
    for (
        pk,
        created_at,
        prefecture,
        theme,
        state,
        changed_at,
        decline_reason,
        close_reason,
        wants_free,
        offers_free,
    ) in (
        Inquiry.objects.order_by()
        .annotate(prefecture=KT("company_profile__prefecture"))
        .values_list(
            "pk",
            "created_at",
            "prefecture",
            "theme",
            "state",
            "state_changed_at",
            "decline_reason",
            "close_reason",
            "wants_free_first_session",
            "listing__first_free",
        )
    ):
        plan = plans.get(pk)
        where = _codes(prefecture)
        what = _theme(plan[0] if plan else theme)
        inquiries.add(month=_local_day(created_at), prefectures=where, themes=what)
        accepted_at = moments[S.ACCEPTED].get(pk)
        if accepted_at is None and state in MATCHED_STATES:
            accepted_at = changed_at
        if accepted_at is not None:
            month = month_of(_local_day(accepted_at))
            accepted.add(month=month, prefectures=where, themes=what)
            if wants_free and offers_free:
                first_free.add(month=month)
            if pk in moments[S.ACCEPTED]:
                minutes = (accepted_at - created_at).total_seconds() / 60
                waits[month].append(minutes)
                waits[None].append(minutes)
        if plan is not None:
            planned.add(month=_local_day(plan[1]), prefectures=where, themes=what)
        done_at = moments[S.COMPLETED].get(pk)
        if done_at is None and state in COMPLETED_STATES:
            done_at = moments[S.CONFIRMED].get(pk, changed_at)
        if done_at is not None:
            completed.add(month=_local_day(done_at), prefectures=where, themes=what)
        confirmed_at = moments[S.CONFIRMED].get(pk)
        if confirmed_at is None and state == S.CONFIRMED:
            confirmed_at = changed_at
        if confirmed_at is not None:
            confirmed.add(month=_local_day(confirmed_at), prefectures=where, themes=what)
        if state == S.DECLINED:
            declined.add(month=_local_day(changed_at), keys=(decline_reason or UNRECORDED,))
        elif state == S.CLOSED:
            closed.add(month=_local_day(changed_at), keys=(close_reason or UNRECORDED,))
    for month, minutes in waits.items():
        median.set(round(statistics.median(minutes)), month=month)
    return [
        events,
        participants,
        consultations,
        inquiries,
        accepted,
        planned,
        completed,
        confirmed,
        median,
        declined,
        closed,
        first_free,
    ]
