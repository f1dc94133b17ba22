"""The event report: participants → individual consultations → inquiries →
matches → completed guidance, per theme — the pilot's 105 → 34 funnel.

The rules (also in docs/events.md):

- **A participant's inquiries** are the inquiries of its referrals, plus the
  inquiries its linked SME account sent itself on or after the event's date
  (local time). Each inquiry counts once.
- **Matched**: at least one of those inquiries was accepted by the specialist —
  its state is `accepted` or later (`consulting`, `guidance_planned`,
  `in_guidance`, `completed`, `confirmed`), or it was `closed` after having
  been accepted. `declined`, `expired`, a waiting `sent`, and a `closed` that
  was never accepted are not matches.
- **Guidance completed**: at least one inquiry is `completed` or `confirmed`;
  **confirmed** (the company certified the work) is also counted on its own.
- **The participant's theme** (one per participant, so every theme table
  adds up to the totals): the theme of its furthest inquiry's guidance plan
  if it has one, else that inquiry's theme, else the theme of its latest
  individual consultation at the event, else its first theme of interest,
  else "未定". The furthest inquiry is the one with the highest stage
  (confirmed > completed > in guidance > planned > consulting > accepted >
  closed after acceptance > waiting > not matched); ties go to the earliest.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sekispe.core.templatetags.dates import day_text, range_text
from sekispe.diagnosis.services import EMPLOYEE_BANDS
from sekispe.events.models import (
    ConsultationEvent,
    EventParticipant,
    IndividualConsultation,
    Referral,
    RegisteredVia,
)
from sekispe.inquiries.models import GuidancePlan, Inquiry, InquiryTransition
from sekispe.inquiries.models import InquiryState as S
from sekispe.reference import data
from sekispe.reports.exports import Percent
from sekispe.reports.services import Cell, Report, Table

MATCHED_STATES = frozenset(
    {S.ACCEPTED, S.CONSULTING, S.GUIDANCE_PLANNED, S.IN_GUIDANCE, S.COMPLETED, S.CONFIRMED}
)
COMPLETED_STATES = frozenset({S.COMPLETED, S.CONFIRMED})
STAGE = {
    S.CONFIRMED: 8,
    S.COMPLETED: 7,
    S.IN_GUIDANCE: 6,
    S.GUIDANCE_PLANNED: 5,
    S.CONSULTING: 4,
    S.ACCEPTED: 3,
    # closed after acceptance: 2
    S.SENT: 1,
}
UNDECIDED = 0  # the theme key for "未定"
VIA_REFERRAL = "referral"
VIA_DIRECT = "direct"


@dataclass(frozen=True)
class TrackedInquiry:
    inquiry: Inquiry
    via: str  # "referral" | "direct"
    was_accepted: bool
    plan_theme: int | None

    @property
    def matched(self) -> bool:
        return self.inquiry.state in MATCHED_STATES or (
            self.inquiry.state == S.CLOSED and self.was_accepted
        )

    @property
    def completed(self) -> bool:
        return self.inquiry.state in COMPLETED_STATES

    @property
    def confirmed(self) -> bool:
        return self.inquiry.state == S.CONFIRMED

    @property
    def stage(self) -> int:
        if self.inquiry.state == S.CLOSED:
            return 2 if self.was_accepted else 0
        return STAGE.get(self.inquiry.state, 0)

    @property
    def theme(self) -> int | None:
        return self.plan_theme or self.inquiry.theme


@dataclass(frozen=True)
class Outcome:
    """One participant's way through the funnel."""

    participant: EventParticipant
    consultations: tuple[IndividualConsultation, ...]
    inquiries: tuple[TrackedInquiry, ...]  # furthest first
    theme: int  # UNDECIDED (0) or 1–5

    @property
    def consulted(self) -> bool:
        return bool(self.consultations)

    @property
    def inquired(self) -> bool:
        return bool(self.inquiries)

    @property
    def lead(self) -> TrackedInquiry | None:
        return self.inquiries[0] if self.inquiries else None

    @property
    def matched(self) -> bool:
        return any(t.matched for t in self.inquiries)

    @property
    def completed(self) -> bool:
        return any(t.completed for t in self.inquiries)

    @property
    def confirmed(self) -> bool:
        return any(t.confirmed for t in self.inquiries)


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def outcomes(events: Sequence[ConsultationEvent]) -> list[Outcome]:
    """Every participant of `events` with its consultations and inquiries, in a
    fixed number of queries whatever the size."""
    participants = list(
        EventParticipant.objects.filter(event__in=events)
        .select_related("event")
        .order_by("event__held_on", "event_id", "created_at", "id")
    )
    consultations: dict[int, list[IndividualConsultation]] = defaultdict(list)
    for c in IndividualConsultation.objects.filter(participant__in=participants).order_by(
        "created_at", "id"
    ):
        consultations[c.participant_id].append(c)

    found: dict[int, dict[int, tuple[Inquiry, str]]] = defaultdict(dict)
    inquiry_fields = ("listing__record",)
    for referral in Referral.objects.filter(participant__in=participants).select_related(
        "inquiry__listing__record"
    ):
        found[referral.participant_id][referral.inquiry_id] = (referral.inquiry, VIA_REFERRAL)
    by_account: dict[int, list[EventParticipant]] = defaultdict(list)
    for p in participants:
        if p.sme_account_id:
            by_account[p.sme_account_id].append(p)
    if by_account:
        direct = Inquiry.objects.filter(Q(sender_id__in=list(by_account))).select_related(
            *inquiry_fields
        )
        for inquiry in direct:
            for p in by_account[inquiry.sender_id]:
                if _local_date(inquiry.created_at) >= p.event.held_on:
                    found[p.pk].setdefault(inquiry.pk, (inquiry, VIA_DIRECT))

    ids = {pk for per in found.values() for pk in per}
    accepted = set(
        InquiryTransition.objects.filter(inquiry_id__in=ids, to_state=S.ACCEPTED).values_list(
            "inquiry_id", flat=True
        )
    )
    plans = dict(GuidancePlan.objects.filter(inquiry_id__in=ids).values_list("inquiry_id", "theme"))

    result = []
    for p in participants:
        tracked = sorted(
            (
                TrackedInquiry(inquiry, via, inquiry.pk in accepted, plans.get(inquiry.pk))
                for inquiry, via in found[p.pk].values()
            ),
            key=lambda t: (-t.stage, t.inquiry.created_at, t.inquiry.pk),
        )
        own = consultations[p.pk]
        result.append(
            Outcome(
                participant=p,
                consultations=tuple(own),
                inquiries=tuple(tracked),
                theme=_theme_of(p, own, tracked),
            )
        )
    return result


def _theme_of(
    participant: EventParticipant,
    consultations: Sequence[IndividualConsultation],
    tracked: Sequence[TrackedInquiry],
) -> int:
    if tracked and tracked[0].theme:
        return tracked[0].theme
    for consultation in reversed(consultations):
        if consultation.theme:
            return consultation.theme
    if participant.themes:
        return int(participant.themes[0])
    return UNDECIDED


# ---------------------------------------------------------------- counting

STEPS: tuple[tuple[str, Any], ...] = (
    ("participants", gettext_lazy("参加企業")),
    ("consulted", gettext_lazy("個別相談を受けた企業")),
    ("inquired", gettext_lazy("専門家に依頼した企業")),
    ("matched", gettext_lazy("マッチした企業")),
    ("completed", gettext_lazy("訪問指導が完了した企業")),
    ("confirmed", gettext_lazy("うち企業が完了を確認")),
)


def step_labels() -> tuple[str, ...]:
    return tuple(str(label) for _key, label in STEPS)


@dataclass(frozen=True)
class Counts:
    participants: int = 0
    consulted: int = 0
    inquired: int = 0
    matched: int = 0
    completed: int = 0
    confirmed: int = 0

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, key) for key, _label in STEPS)


def count(items: Iterable[Outcome]) -> Counts:
    items = list(items)
    return Counts(
        participants=len(items),
        consulted=sum(o.consulted for o in items),
        inquired=sum(o.inquired for o in items),
        matched=sum(o.matched for o in items),
        completed=sum(o.completed for o in items),
        confirmed=sum(o.confirmed for o in items),
    )


def by_theme(items: Iterable[Outcome]) -> dict[int, Counts]:
    """Theme code (0 for 未定) → counts; every theme present, in code order."""
    groups: dict[int, list[Outcome]] = {t.code: [] for t in data.GUIDANCE_THEMES}
    groups[UNDECIDED] = []
    for o in items:
        groups[o.theme].append(o)
    return {code: count(group) for code, group in groups.items()}


def theme_name(code: int | None) -> str:
    if not code:
        return _("未定")
    theme = next((t for t in data.GUIDANCE_THEMES if t.code == code), None)
    return f"{'①②③④⑤'[code - 1]}{theme.name}" if theme else str(code)


def theme_names(codes: Iterable[int]) -> str:
    return "、".join(theme_name(int(c)) for c in codes)


def percent(part: int, whole: int) -> str:
    """25.0% on the page and in CSV; a number formatted 0.0% in the workbook."""
    return Percent.of(part, whole) if whole else "—"


# ------------------------------------------------------------------ tables


def _prefecture_names() -> dict[str, str]:
    return {p.code: p.name for p in data.PREFECTURES}


def _industry_names() -> dict[str, str]:
    return {code: name for code, name, _en in data.INDUSTRIES}


def _employee_names() -> dict[str, str]:
    return {code: str(label) for code, label in EMPLOYEE_BANDS}


def _status(o: Outcome) -> str:
    lead = o.lead
    if lead is None:
        return _("個別相談のみ") if o.consulted else _("参加のみ")
    return str(lead.inquiry.get_state_display())


def _via(t: TrackedInquiry) -> str:
    return _("支援機関の紹介") if t.via == VIA_REFERRAL else _("企業から直接")


def funnel_table(items: Sequence[Outcome]) -> Table:
    totals = count(items)
    rows = tuple(
        (label, value, percent(value, totals.participants))
        for label, value in zip(step_labels(), totals.as_tuple(), strict=True)
    )
    return Table(
        key="funnel",
        title=_("参加から訪問指導の完了まで"),
        headers=(_("段階"), _("企業数"), _("参加企業に対する割合")),
        rows=rows,
        chart=tuple((label, value) for label, value, _pct in rows),
        sheet_name=_("集計"),
        note=_(
            "マッチ：専門家が依頼を受けたもの（受諾以降の状態。受諾後に終了したものを含み、"
            "辞退・期限切れは含まない）。"
        ),
    )


def theme_table(items: Sequence[Outcome]) -> Table:
    groups = by_theme(items)
    rows = tuple(
        (theme_name(code), *counts.as_tuple())
        for code, counts in groups.items()
        if code != UNDECIDED or counts.participants
    )
    return Table(
        key="themes",
        title=_("テーマ別"),
        headers=(_("テーマ"), *step_labels()),
        rows=rows,
        total=(_("合計"), *count(items).as_tuple()),
        sheet_name=_("テーマ別"),
        note=_(
            "各社を1つのテーマに数えます：訪問指導の計画のテーマ、なければ依頼のテーマ、"
            "なければ相談会での個別相談のテーマ、なければ関心のあるテーマの最初のもの。"
        ),
    )


def events_table(events: Sequence[ConsultationEvent], items: Sequence[Outcome]) -> Table:
    per_event: dict[int, list[Outcome]] = defaultdict(list)
    for o in items:
        per_event[o.participant.event_id].append(o)
    ordered = sorted(events, key=lambda e: (e.held_on, e.pk))
    return Table(
        key="events",
        title=_("相談会別"),
        headers=(_("相談会"), _("開催日"), *step_labels()),
        rows=tuple((e.title, e.held_on, *count(per_event[e.pk]).as_tuple()) for e in ordered),
        total=(_("合計"), "", *count(items).as_tuple()),
        sheet_name=_("相談会別"),
    )


def participants_table(items: Sequence[Outcome], *, with_event: bool) -> Table:
    prefectures, industries, employees = _prefecture_names(), _industry_names(), _employee_names()
    rows = []
    for o in items:
        p = o.participant
        row: tuple[Cell, ...] = (
            p.company_name,
            p.contact_name,
            prefectures.get(p.prefecture, p.prefecture),
            industries.get(p.industry, ""),
            employees.get(p.employees, ""),
            theme_names(p.themes),
            str(RegisteredVia(p.registered_via).label),
            len(o.consultations),
            len(o.inquiries),
            _("はい") if o.matched else _("いいえ"),
            _status(o),
            theme_name(o.theme),
        )
        rows.append((p.event.title, *row) if with_event else row)
    headers = (
        _("会社名"),
        _("担当者名"),
        _("所在地"),
        _("業種"),
        _("従業員数"),
        _("関心のあるテーマ"),
        _("登録の方法"),
        _("個別相談の件数"),
        _("依頼の件数"),
        _("マッチ"),
        _("状況"),
        _("集計上のテーマ"),
    )
    return Table(
        key="participants",
        title=_("参加企業"),
        headers=((_("相談会"), *headers) if with_event else headers),
        rows=tuple(rows),
        sheet_name=_("参加企業"),
    )


def consultations_table(items: Sequence[Outcome], *, with_event: bool) -> Table:
    rows = []
    for o in items:
        for c in o.consultations:
            row: tuple[Cell, ...] = (
                o.participant.company_name,
                c.registration_number,
                theme_name(c.theme) if c.theme else "",
                c.notes,
                _local_date(c.created_at),
            )
            rows.append((o.participant.event.title, *row) if with_event else row)
    headers = (
        _("会社名"),
        _("専門家の登録番号"),
        _("相談したテーマ"),
        _("見つかった課題"),
        _("記録日"),
    )
    return Table(
        key="consultations",
        title=_("個別相談"),
        headers=((_("相談会"), *headers) if with_event else headers),
        rows=tuple(rows),
        sheet_name=_("個別相談"),
    )


def matches_table(items: Sequence[Outcome], *, with_event: bool) -> Table:
    """One row per matched participant: its furthest inquiry."""
    rows = []
    for o in items:
        if not o.matched or o.lead is None:
            continue
        t = o.lead
        row: tuple[Cell, ...] = (
            o.participant.company_name,
            t.inquiry.listing.record.registration_number,
            t.inquiry.listing.record.name,
            theme_name(t.theme),
            str(t.inquiry.get_state_display()),
            _via(t),
            _local_date(t.inquiry.created_at),
        )
        rows.append((o.participant.event.title, *row) if with_event else row)
    headers = (
        _("会社名"),
        _("専門家の登録番号"),
        _("専門家の氏名"),
        _("テーマ"),
        _("依頼の状態"),
        _("依頼の経路"),
        _("依頼日"),
    )
    return Table(
        key="matches",
        title=_("マッチした企業"),
        headers=((_("相談会"), *headers) if with_event else headers),
        rows=tuple(rows),
        sheet_name=_("マッチ"),
    )


# ----------------------------------------------------------------- reports


@dataclass(frozen=True)
class EventReport:
    report: Report
    counts: Counts
    outcomes: tuple[Outcome, ...]


def _period(event: ConsultationEvent) -> str:
    return _("%(day)s開催") % {"day": day_text(event.held_on)}


def event_report(event: ConsultationEvent) -> EventReport:
    items = outcomes([event])
    report = Report(
        slug="event-report",
        title=_("%(title)s 実施報告") % {"title": event.title},
        period=_period(event),
        tables=(
            funnel_table(items),
            theme_table(items),
            participants_table(items, with_event=False),
            consultations_table(items, with_event=False),
            matches_table(items, with_event=False),
        ),
        filename_stem=f"event-{event.pk}-report-{event.held_on.isoformat()}",
    )
    return EventReport(report, count(items), tuple(items))


def overall_report(
    events: Sequence[ConsultationEvent], today: dt.date | None = None
) -> EventReport:
    events = sorted(events, key=lambda e: (e.held_on, e.pk))
    items = outcomes(events)
    today = today or timezone.localdate()
    if events:
        first, last = events[0].held_on, events[-1].held_on
        # One day is written once: 「2026年12月5日の1回」, not 「…5日〜…5日」.
        period = _("%(days)sの%(n)d回") % {
            "days": range_text(first, last),
            "n": len(events),
        }
    else:
        period = _("相談会はまだありません")
    report = Report(
        slug="events-report",
        title=_("すべての相談会の実施報告"),
        period=period,
        tables=(
            funnel_table(items),
            theme_table(items),
            events_table(events, items),
            participants_table(items, with_event=True),
            consultations_table(items, with_event=True),
            matches_table(items, with_event=True),
        ),
        filename_stem=f"events-report-{today.isoformat()}",
    )
    return EventReport(report, count(items), tuple(items))
