"""The only writers of inquiries: sending, every transition, expiry, and the
queries each party's pages use.

Every transition is one transaction: a conditional UPDATE that only moves the
row if it is still in an allowed state (so two clicks, or two people, never
make two changes), one `InquiryTransition`, one audit event, and the e-mail
sent on commit. Lookups are always scoped to the requesting user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sekispe.accounts.models import Role
from sekispe.audit.services import record_event
from sekispe.core import ratelimit
from sekispe.core.changes import record_changes
from sekispe.inquiries import rules
from sekispe.inquiries.models import (
    CloseReason,
    CompletionConfirmation,
    Consultation,
    DeclineReason,
    GuidancePlan,
    GuidanceVisit,
    Inquiry,
    InquiryState,
    InquiryTransition,
    PreferredForm,
)
from sekispe.lib.text import clean_free_text, clean_single_line
from sekispe.listings.models import Listing
from sekispe.outbox.services import queue_templated
from sekispe.reference import data
from sekispe.search.exposure import record_inquiry


class InquiryRefused(Exception):
    """An action the rules do not allow now; `message` is shown to the user.
    `field`, when set, names the input the message is about (the pages show it
    next to that field, as a form error)."""

    def __init__(self, message: str, *, code: str = "refused", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


# --------------------------------------------------------------- who is who


def party_of(user: Any, inquiry: Inquiry) -> str | None:
    """`specialist`, `client` or None: the user's side of this inquiry."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.role == Role.SPECIALIST and user.record_id == inquiry.listing.record_id:
        return rules.SPECIALIST
    if user.pk in (inquiry.sender_id, inquiry.sme_account_id):
        return rules.CLIENT
    return None


def inquiries_for(user: Any) -> QuerySet[Inquiry]:
    """Every inquiry the user is a party to; nothing for anyone else."""
    base = Inquiry.objects.select_related("listing__record", "sender")
    if not getattr(user, "is_authenticated", False):
        return base.none()
    if user.role == Role.SPECIALIST and user.record_id:
        return base.filter(listing__record_id=user.record_id)
    if user.role in (Role.SME, Role.INSTITUTION):
        return base.filter(Q(sender=user) | Q(sme_account=user))
    return base.none()


def inquiry_for(user: Any, pk: int) -> Inquiry:
    """The inquiry if the user is a party to it; LookupError (a 404) otherwise."""
    inquiry = inquiries_for(user).filter(pk=pk).first()
    if inquiry is None:
        raise LookupError(pk)
    return inquiry


def open_inquiries_to(user: Any, listing: Listing) -> list[Inquiry]:
    """The user's inquiries to this specialist that are not over yet (waiting
    for an answer, or accepted and under way), newest first. Found from the
    account, so the inquiry form can point to them before anything is typed."""
    return list(
        inquiries_for(user)
        .filter(listing_id=listing.pk)
        .exclude(state__in=rules.TERMINAL)
        .order_by("-created_at", "-pk")
    )


def is_duplicate(inquiry: Inquiry, sender: Any, company_name: str) -> bool:
    """Whether a new send by `sender` for `company_name` would be refused
    because of `inquiry`: the rule of the constraint
    one_waiting_inquiry_per_company_and_specialist (same sender, specialist
    and company, while the first still waits). The listing is the caller's."""
    return (
        inquiry.state == InquiryState.SENT
        and inquiry.sender_id == sender.pk
        and inquiry.company_name == company_name
    )


# ----------------------------------------------------------------- capacity


def open_engagements(listing_id: int) -> int:
    return Inquiry.objects.filter(listing_id=listing_id, state__in=rules.OPEN_ENGAGEMENT).count()


def open_engagements_by_listing(listing_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Listing id → engagements taking a capacity slot (the search index reads this;
    a delta asks about its few listings only)."""
    inquiries = Inquiry.objects.filter(state__in=rules.OPEN_ENGAGEMENT)
    if listing_ids is not None:
        inquiries = inquiries.filter(listing_id__in=list(listing_ids))
    rows = inquiries.order_by().values("listing_id").annotate(n=Count("id"))
    return {row["listing_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class Availability:
    can_send: bool
    reason: str  # "" | "not_listed" | "not_accepting" | "full"


def availability_of(listing: Listing, today: dt.date | None = None) -> Availability:
    today = today or timezone.localdate()
    if not Listing.objects.visible(today).filter(pk=listing.pk).exists():
        return Availability(False, "not_listed")
    if not listing.is_accepting(today):
        return Availability(False, "not_accepting")
    if open_engagements(listing.pk) >= listing.capacity:
        return Availability(False, "full")
    return Availability(True, "")


def _capacity_changed(listing_id: int) -> None:
    # The index counts a full specialist as not accepting; tell every process.
    record_changes(listing_ids=[listing_id])


# ---------------------------------------------------------------- e-mail


def _specialist_email(listing: Listing) -> str:
    account = getattr(listing.record, "account", None)
    return account.email if account is not None else listing.email


def _client_emails(inquiry: Inquiry) -> list[str]:
    emails = [inquiry.sender.email]
    if inquiry.sme_account_id and inquiry.sme_account.email not in emails:
        emails.append(inquiry.sme_account.email)
    if inquiry.contact_email and inquiry.contact_email not in emails:
        emails.append(inquiry.contact_email)
    return emails


def _notify(inquiry: Inquiry, event: str, *, to_specialist: bool, **extra: Any) -> None:
    context = {
        "event": event,
        "inquiry": inquiry,
        "specialist_name": inquiry.listing.record.name,
        "theme_name": theme_name(inquiry.theme),
        "path": reverse("inquiries:detail", args=[inquiry.pk]),
        "to_specialist": to_specialist,
        **extra,
    }
    recipients = [_specialist_email(inquiry.listing)] if to_specialist else _client_emails(inquiry)
    for to in recipients:
        if to:
            queue_templated("inquiry_update", to, context)


def theme_name(code: int | None) -> str:
    names = {t.code: t.name for t in data.GUIDANCE_THEMES}
    return names.get(code, "") if code else ""


# ------------------------------------------------------------------ sending


@dataclass(frozen=True)
class InquiryDraft:
    company_name: str
    contact_name: str
    contact_email: str
    theme: int | None
    preferred_form: str
    message: str
    wants_free_first_session: bool
    company_profile: Mapping[str, str]

    def __post_init__(self) -> None:
        # Defence in depth behind InquiryForm: the names and the address go
        # into mail the specialist receives, so a draft built by any other
        # caller must not carry a line break (a forged header) or an invisible
        # character. Raises UnsafeText (a ValueError): the form already refused
        # such text with a message, so reaching here is a programming error.
        for value in (self.company_name, self.contact_name, self.contact_email):
            clean_single_line(value)
        # The message is multi-line: line breaks are its own, NUL and the like are not.
        clean_free_text(self.message)


def _rate_limit(sender: Any) -> None:
    setting = (
        "INQUIRIES_PER_INSTITUTION" if sender.role == Role.INSTITUTION else "INQUIRIES_PER_SME"
    )
    decision = ratelimit.hit(f"inquiry:user:{sender.pk}", ratelimit.rule(setting))
    if not decision.allowed:
        raise InquiryRefused(
            _(
                "短時間に多くの依頼が送られたため、しばらく送信できません。時間をおいてお試しください。"
            ),
            code="rate_limited",
        )


def send_inquiry(
    sender: Any,
    listing: Listing,
    draft: InquiryDraft,
    *,
    sme_account: Any = None,
    now: dt.datetime | None = None,
) -> Inquiry:
    """An SME (or an institution for one) asks a specialist for help.

    Refused when the specialist is not listed, not accepting or at capacity,
    or when the sender has sent too many lately. A second identical send while
    the first still waits is refused too, so a double click sends once.
    """
    if sender.role not in (Role.SME, Role.INSTITUTION) or not sender.is_active:
        raise InquiryRefused(
            _("中小企業または支援機関のアカウントから送信してください。"), code="role"
        )
    now = now or timezone.now()
    if draft.theme is not None and draft.theme not in {t.code for t in data.GUIDANCE_THEMES}:
        raise InquiryRefused(_("相談したいテーマが正しくありません。"), code="theme")
    if draft.preferred_form not in PreferredForm.values:
        raise InquiryRefused(_("希望する支援形態が正しくありません。"), code="form")
    with transaction.atomic():
        # Serialises sends and accepts for this specialist, so capacity holds.
        listing = Listing.objects.select_for_update().select_related("record").get(pk=listing.pk)
        availability = availability_of(listing, timezone.localdate(now))
        if not availability.can_send:
            raise InquiryRefused(
                str(REFUSAL_MESSAGES[availability.reason]), code=availability.reason
            )
        _rate_limit(sender)
        try:
            with transaction.atomic():
                inquiry = Inquiry.objects.create(
                    listing=listing,
                    sender=sender,
                    sme_account=sme_account if sender.role == Role.INSTITUTION else sender,
                    referred_by_institution=sender.role == Role.INSTITUTION,
                    company_name=draft.company_name,
                    contact_name=draft.contact_name,
                    contact_email=draft.contact_email,
                    company_profile=dict(draft.company_profile),
                    theme=draft.theme,
                    preferred_form=draft.preferred_form,
                    message=draft.message,
                    wants_free_first_session=draft.wants_free_first_session,
                    created_at=now,
                    state_changed_at=now,
                    answer_by=now + dt.timedelta(days=rules.ANSWER_DAYS),
                )
        except IntegrityError:
            raise InquiryRefused(
                _("この専門家には、同じ会社からの依頼がすでに返答待ちになっています。"),
                code="duplicate",
            ) from None
        InquiryTransition.objects.create(
            inquiry=inquiry, from_state="", to_state=InquiryState.SENT, actor=sender
        )
        record_event(
            "inquiry.send",
            actor=sender,
            target_type="inquiry",
            target_id=inquiry.pk,
            data={
                "registration_number": listing.record.registration_number,
                "theme": draft.theme,
                "referred_by_institution": inquiry.referred_by_institution,
            },
        )
        record_inquiry(listing.pk)  # the ledger's inquiry term (search/fairness.py)
        _notify(inquiry, "sent", to_specialist=True)
        _notify(inquiry, "sent", to_specialist=False)
    return inquiry


REFUSAL_MESSAGES = {
    "not_listed": gettext_lazy("この専門家は現在アクティブリストに掲載されていません。"),
    "not_accepting": gettext_lazy("この専門家は現在、新しい依頼を受け付けていません。"),
    "full": gettext_lazy(
        "この専門家は対応中の案件が上限に達しているため、現在は新しい依頼を受け付けていません。"
    ),
}
# Shared with the pages, which check the table before parsing a form.
NOT_ALLOWED = gettext_lazy("この操作はできません。")
STALE = gettext_lazy("この依頼の状態が変わったため、操作できませんでした。画面を更新してください。")


# -------------------------------------------------------------- transitions


def _move(
    inquiry: Inquiry,
    action: str,
    actor: Any,
    *,
    party: str | None = None,
    fields: Mapping[str, Any] | None = None,
    note: str = "",
    actor_label: str = "",
) -> str:
    """Claim the transition with a conditional UPDATE; returns the previous state.
    Call inside a transaction."""
    rule = rules.ACTIONS[action]
    side = party if party is not None else party_of(actor, inquiry)
    if side not in rule.actors:
        raise InquiryRefused(str(NOT_ALLOWED), code="not_allowed")
    now = timezone.now()
    # Read the current state under the same conditions the UPDATE uses.
    previous = Inquiry.objects.filter(pk=inquiry.pk).values_list("state", flat=True).first()
    moved = Inquiry.objects.filter(pk=inquiry.pk, state__in=rule.sources).update(
        state=rule.target, state_changed_at=now, **(fields or {})
    )
    if not moved:
        raise InquiryRefused(
            str(STALE),
            code="stale",
        )
    InquiryTransition.objects.create(
        inquiry=inquiry,
        from_state=previous or "",
        to_state=rule.target,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label,
        note=note,
    )
    record_event(
        f"inquiry.{action}",
        actor=actor,
        actor_label=actor_label,
        target_type="inquiry",
        target_id=inquiry.pk,
        data={"from": previous, "to": rule.target, **({"note": note} if note else {})},
    )
    if rules.is_open_engagement(previous or "") != rules.is_open_engagement(rule.target):
        _capacity_changed(inquiry.listing_id)
    inquiry.refresh_from_db()
    return previous or ""


def accept(inquiry: Inquiry, actor: Any) -> Inquiry:
    with transaction.atomic():
        listing = Listing.objects.select_for_update().get(pk=inquiry.listing_id)
        if open_engagements(listing.pk) >= listing.capacity:
            raise InquiryRefused(
                _(
                    "対応中の案件が上限に達しています。案件を終えるか、対応できる件数を増やしてから受諾してください。"
                ),
                code="full",
            )
        _move(inquiry, "accept", actor)
        _notify(inquiry, "accepted", to_specialist=False)
    return inquiry


def decline(inquiry: Inquiry, actor: Any, reason: str, note: str = "") -> Inquiry:
    if reason not in DeclineReason.values:
        raise InquiryRefused(_("辞退の理由を選んでください。"), code="reason")
    with transaction.atomic():
        _move(inquiry, "decline", actor, fields={"decline_reason": reason, "state_note": note})
        _notify(inquiry, "declined", to_specialist=False, alternatives=alternatives_url(inquiry))
    return inquiry


# ------------------------------------------------------------------- dates
# Consultation and visit dates become evidence of practical experience (the
# confirmation), so a date that cannot be true is refused: nothing is held
# after today, a consultation not before the inquiry was sent, and visits one
# after the other in date order, the first not before the consultation.


def _day(day: dt.date) -> str:
    return date_format(day, "DATE_FORMAT")


def _not_after_today(held_on: dt.date) -> None:
    today = timezone.localdate()
    if held_on > today:
        raise InquiryRefused(
            _("今日（%(today)s）より後の日付は記録できません。") % {"today": _day(today)},
            code="date",
            field="held_on",
        )


@contextmanager
def _rolled_back_on_refusal(inquiry: Inquiry) -> Iterator[None]:
    """A refusal after `_move` rolls the state change back in the database;
    this puts the caller's object back in step with it."""
    try:
        yield
    except InquiryRefused:
        inquiry.refresh_from_db()
        raise


def _check_visit_order(inquiry: Inquiry, number: int, held_on: dt.date) -> None:
    """Visit n only once the visits before it are recorded, and held on or
    after visit n-1; the first on or after the consultation. (Call after
    `_move`: its UPDATE holds the inquiry's row.)"""
    visits = {v.number: v for v in GuidanceVisit.objects.filter(plan__inquiry=inquiry)}
    this = visits.get(number)
    if this is None or this.recorded_at is not None:
        return  # not in the plan, or recorded already: refused as such by the caller
    waiting = [n for n, v in visits.items() if n < number and v.recorded_at is None]
    if waiting:
        raise InquiryRefused(
            _("%(previous)s回目を記録してから、%(number)s回目を記録してください。")
            % {"previous": min(waiting), "number": number},
            code="visit_order",
            field="number",
        )
    previous = visits.get(number - 1)
    if previous is not None:  # recorded (above), so it has its date
        if previous.held_on is not None and held_on < previous.held_on:
            raise InquiryRefused(
                _("%(previous)s回目の実施日（%(date)s）より前の日付は記録できません。")
                % {"previous": previous.number, "date": _day(previous.held_on)},
                code="date",
                field="held_on",
            )
        return
    consultation = Consultation.objects.filter(inquiry=inquiry).first()
    if consultation is not None and held_on < consultation.held_on:
        raise InquiryRefused(
            _("個別相談の実施日（%(date)s）より前の日付は記録できません。")
            % {"date": _day(consultation.held_on)},
            code="date",
            field="held_on",
        )


def record_consultation(
    inquiry: Inquiry, actor: Any, *, held_on: dt.date, form: str, issues: str, priorities: str
) -> Inquiry:
    if not issues.strip() or not priorities.strip():
        raise InquiryRefused(
            _("見つかった課題と優先して取り組むことを記入してください。"), code="empty"
        )
    with _rolled_back_on_refusal(inquiry), transaction.atomic():
        _move(inquiry, "record_consultation", actor)
        # After the move, so a party or state that may not act hears that first.
        _not_after_today(held_on)
        sent_on = timezone.localdate(inquiry.created_at)
        if held_on < sent_on:
            raise InquiryRefused(
                _("依頼が送られた日（%(sent)s）より前の日付は記録できません。")
                % {"sent": _day(sent_on)},
                code="date",
                field="held_on",
            )
        Consultation.objects.create(
            inquiry=inquiry, held_on=held_on, form=form, issues=issues, priorities=priorities
        )
        _notify(inquiry, "consulting", to_specialist=False)
    return inquiry


@dataclass(frozen=True)
class PlannedVisit:
    goal: str
    scheduled_on: dt.date
    form: str


def theme_goals(theme: int) -> tuple[str, ...]:
    return next(t.goals for t in data.GUIDANCE_THEMES if t.code == theme)


def plan_guidance(
    inquiry: Inquiry, actor: Any, *, theme: int, visits: list[PlannedVisit]
) -> Inquiry:
    """Three visits on one theme, each with one of that theme's achievement goals."""
    if theme not in {t.code for t in data.GUIDANCE_THEMES}:
        raise InquiryRefused(_("指導テーマを選んでください。"), code="theme")
    if len(visits) != rules.VISITS:
        raise InquiryRefused(_("訪問指導は3回分を計画してください。"), code="visits")
    goals = theme_goals(theme)
    for visit in visits:
        if visit.goal not in goals:
            raise InquiryRefused(
                _("各回の目標は、テーマの達成目標から選んでください。"), code="goal"
            )
        if visit.form not in (PreferredForm.VISIT, PreferredForm.ONLINE):
            raise InquiryRefused(_("各回の実施形態を選んでください。"), code="form")
    dates = [v.scheduled_on for v in visits]
    if dates != sorted(dates):
        raise InquiryRefused(_("訪問の予定日は1回目から順に並べてください。"), code="dates")
    with transaction.atomic():
        _move(inquiry, "plan_guidance", actor)
        plan = GuidancePlan.objects.create(inquiry=inquiry, theme=theme)
        GuidanceVisit.objects.bulk_create(
            GuidanceVisit(
                plan=plan, number=n, goal=v.goal, scheduled_on=v.scheduled_on, form=v.form
            )
            for n, v in enumerate(visits, start=1)
        )
        _notify(inquiry, "guidance_planned", to_specialist=False)
    return inquiry


def record_visit(
    inquiry: Inquiry,
    actor: Any,
    *,
    number: int,
    held_on: dt.date,
    notes: str,
    goal_achieved: bool,
) -> Inquiry:
    """Record one visit, once: a visit already recorded is refused. Visits are
    recorded in order, each held on or after the one before (the first on or
    after the consultation), and never after today."""
    if not notes.strip():
        raise InquiryRefused(_("実施内容を記入してください。"), code="empty")
    with _rolled_back_on_refusal(inquiry), transaction.atomic():
        # The conditional UPDATE holds the inquiry's row until the end, so two
        # recordings of this inquiry check the dates one after the other.
        _move(inquiry, "record_visit", actor)
        _not_after_today(held_on)
        _check_visit_order(inquiry, number, held_on)
        recorded = GuidanceVisit.objects.filter(
            plan__inquiry=inquiry, number=number, recorded_at__isnull=True
        ).update(
            held_on=held_on, notes=notes, goal_achieved=goal_achieved, recorded_at=timezone.now()
        )
        if not recorded:
            # Rolls back the state change too.
            raise InquiryRefused(
                _("%(number)s回目はすでに記録されているか、計画にありません。")
                % {"number": number},
                code="visit",
            )
        _notify(inquiry, "visit_recorded", to_specialist=False, number=number)
    return inquiry


def complete(inquiry: Inquiry, actor: Any, report: str) -> Inquiry:
    if not report.strip():
        raise InquiryRefused(_("完了報告を記入してください。"), code="empty")
    with transaction.atomic():
        missing = GuidanceVisit.objects.filter(
            plan__inquiry=inquiry, recorded_at__isnull=True
        ).count()
        if missing:
            raise InquiryRefused(
                _("3回の訪問指導をすべて記録してから完了を報告してください。"), code="visits"
            )
        _move(inquiry, "complete", actor, fields={"completion_report": report})
        _notify(inquiry, "completed", to_specialist=False)
    return inquiry


def write_confirmation(inquiry: Inquiry, actor: Any) -> CompletionConfirmation:
    """The durable snapshot of a confirmed engagement (evidence for deemed
    attendance); only `confirm` calls it, and test helpers that build an
    inquiry directly in its confirmed state."""
    plan = inquiry.plan
    record = inquiry.listing.record
    return CompletionConfirmation.objects.create(
        inquiry=inquiry,
        registration_number=record.registration_number,
        specialist_name=record.name,
        company_name=inquiry.company_name,
        theme=plan.theme,
        visits=[
            {
                "number": v.number,
                "goal": v.goal,
                "held_on": v.held_on.isoformat() if v.held_on else None,
                "goal_achieved": v.goal_achieved,
            }
            for v in plan.visits.all()
        ],
        completion_report=inquiry.completion_report,
        confirmed_by=actor,
        confirmed_on_behalf=actor.role == Role.INSTITUTION,
    )


def confirm(inquiry: Inquiry, actor: Any) -> CompletionConfirmation:
    """The company confirms the work; kept as a durable snapshot."""
    with transaction.atomic():
        _move(inquiry, "confirm", actor)
        confirmation = write_confirmation(inquiry, actor)
        _notify(inquiry, "confirmed", to_specialist=True)
    return confirmation


def close(inquiry: Inquiry, actor: Any, reason: str, note: str = "") -> Inquiry:
    if reason not in CloseReason.values:
        raise InquiryRefused(_("終了の理由を選んでください。"), code="reason")
    side = party_of(actor, inquiry)
    with transaction.atomic():
        _move(inquiry, "close", actor, fields={"close_reason": reason, "state_note": note})
        # The other side hears of it.
        _notify(inquiry, "closed", to_specialist=side == rules.CLIENT)
    return inquiry


def expire_overdue(now: dt.datetime | None = None) -> list[int]:
    """Move every inquiry unanswered past its date to expired and tell the
    company, with a link to similar specialists. Idempotent: each is claimed once."""
    now = now or timezone.now()
    expired = []
    for pk in Inquiry.objects.filter(state=InquiryState.SENT, answer_by__lt=now).values_list(
        "pk", flat=True
    ):
        inquiry = Inquiry.objects.select_related("listing__record", "sender").get(pk=pk)
        try:
            with transaction.atomic():
                _move(inquiry, "expire", None, party=rules.SYSTEM, actor_label="expire-inquiries")
                _notify(
                    inquiry, "expired", to_specialist=False, alternatives=alternatives_url(inquiry)
                )
        except InquiryRefused:
            continue  # answered meanwhile
        expired.append(pk)
    return expired


def alternatives_url(inquiry: Inquiry) -> str:
    """The Active List for the same theme and the company's prefecture."""
    from urllib.parse import urlencode

    params: list[tuple[str, str]] = []
    if inquiry.theme:
        params.append(("theme", str(inquiry.theme)))
    prefecture = inquiry.company_profile.get("prefecture")
    if prefecture:
        params.append(("prefecture", prefecture))
    return reverse("search:index") + (f"?{urlencode(params)}" if params else "")
