"""The only writers of consultation events, and the scoped lookups their pages use.

An institution account owns its events; everything under an event (its
participants, their consultations and referrals) is reached only through
`events_for(user)`, so another account's ids are a LookupError (a 404).
Every write is one transaction with one audit event (`event.*`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sekispe.accounts.models import Role, normalize_email
from sekispe.audit.services import record_event
from sekispe.diagnosis.services import PROFILE_CHOICES
from sekispe.events.models import (
    MAX_CAPACITY,
    ConsultationEvent,
    EventParticipant,
    IndividualConsultation,
    Referral,
    RegisteredVia,
)
from sekispe.inquiries.models import Inquiry
from sekispe.inquiries.services import InquiryDraft, InquiryRefused, send_inquiry
from sekispe.listings.models import Listing
from sekispe.reference import data
from sekispe.search.services import SearchQuery, search

THEME_CODES = frozenset(t.code for t in data.GUIDANCE_THEMES)
PREFECTURE_CODES = frozenset(p.code for p in data.PREFECTURES)
INDUSTRY_CODES = frozenset(code for code, _ja, _en in data.INDUSTRIES)
SHORTLIST_SIZE = 5


class EventRefused(Exception):
    """A write the rules refuse now; `message` is shown to the user as is."""

    def __init__(self, message: str, *, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# ------------------------------------------------------------------ lookups


def _is_institution(user: Any) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role == Role.INSTITUTION
    )


def events_for(user: Any) -> QuerySet[ConsultationEvent]:
    """The user's own events; nothing for anyone else."""
    if not _is_institution(user):
        return ConsultationEvent.objects.none()
    return ConsultationEvent.objects.filter(owner=user)


def event_for(user: Any, pk: int) -> ConsultationEvent:
    """The event if the user owns it; LookupError (a 404) otherwise."""
    event = events_for(user).filter(pk=pk).first()
    if event is None:
        raise LookupError(pk)
    return event


def events_with_counts(user: Any) -> QuerySet[ConsultationEvent]:
    return events_for(user).annotate(participant_count=Count("participants"))


def participant_for(user: Any, event_pk: int, pk: int) -> EventParticipant:
    """A participant of one of the user's events, by both ids; LookupError otherwise."""
    participant = (
        EventParticipant.objects.select_related("event", "sme_account")
        .filter(pk=pk, event_id=event_pk, event__in=events_for(user))
        .first()
    )
    if participant is None:
        raise LookupError(pk)
    return participant


def referrals_for(user: Any) -> QuerySet[Referral]:
    """Every referral from the user's events, newest first."""
    return Referral.objects.filter(participant__event__in=events_for(user)).select_related(
        "participant__event", "inquiry__listing__record"
    )


def event_by_token(token: str) -> ConsultationEvent:
    """The event of a public sign-up link; LookupError (a 404) for any other token."""
    event = ConsultationEvent.objects.filter(signup_token=token).first() if token else None
    if event is None:
        raise LookupError(token)
    return event


def visible_listing(registration_number: str, today: dt.date | None = None) -> Listing | None:
    """The specialist's listing if it is on the Active List now, else None."""
    return (
        Listing.objects.visible(today)
        .select_related("record")
        .filter(record__registration_number=registration_number.strip())
        .first()
    )


# ------------------------------------------------------------------ events


@dataclass(frozen=True)
class EventDetails:
    title: str
    held_on: dt.date
    capacity: int
    themes: tuple[int, ...]
    place: str = ""
    online: bool = False
    starts_at: dt.time | None = None
    ends_at: dt.time | None = None
    description: str = ""


def _check_event(details: EventDetails) -> None:
    if not details.title.strip():
        raise EventRefused(_("相談会の名前を入力してください。"), code="title")
    if not 1 <= details.capacity <= MAX_CAPACITY:
        raise EventRefused(
            _("定員は1社から%(max)d社の間で入力してください。") % {"max": MAX_CAPACITY},
            code="capacity",
        )
    themes = set(details.themes)
    if not themes or not themes <= THEME_CODES:
        raise EventRefused(_("相談できるテーマを1つ以上選んでください。"), code="themes")
    if not details.place.strip() and not details.online:
        raise EventRefused(
            _("会場を入力するか、オンラインで開催することを選んでください。"), code="place"
        )
    if details.starts_at and details.ends_at and details.ends_at <= details.starts_at:
        raise EventRefused(_("終了時刻は開始時刻より後にしてください。"), code="time")


def _event_fields(details: EventDetails) -> dict[str, Any]:
    return {
        "title": details.title.strip(),
        "held_on": details.held_on,
        "starts_at": details.starts_at,
        "ends_at": details.ends_at,
        "place": details.place.strip(),
        "online": details.online,
        "capacity": details.capacity,
        "themes": sorted(set(details.themes)),
        "description": details.description.strip(),
    }


def _event_audit(event: ConsultationEvent) -> dict[str, Any]:
    return {
        "title": event.title,
        "held_on": event.held_on.isoformat(),
        "capacity": event.capacity,
        "themes": event.themes,
        "online": event.online,
    }


def create_event(owner: Any, details: EventDetails) -> ConsultationEvent:
    if not _is_institution(owner):
        raise EventRefused(_("支援機関のアカウントで作成してください。"), code="role")
    _check_event(details)
    with transaction.atomic():
        event = ConsultationEvent.objects.create(owner=owner, **_event_fields(details))
        record_event(
            "event.create",
            actor=owner,
            target_type="consultation_event",
            target_id=event.pk,
            data=_event_audit(event),
        )
    return event


def update_event(event: ConsultationEvent, actor: Any, details: EventDetails) -> ConsultationEvent:
    """Edit an event; the capacity cannot drop below the companies already in it."""
    _check_event(details)
    with transaction.atomic():
        locked = ConsultationEvent.objects.select_for_update().get(pk=event.pk, owner=actor)
        registered = locked.participants.count()
        if details.capacity < registered:
            raise EventRefused(
                _("すでに%(n)d社が参加登録しているため、定員を%(n)d社より少なくできません。")
                % {"n": registered},
                code="capacity",
            )
        before = _event_audit(locked)
        for name, value in _event_fields(details).items():
            setattr(locked, name, value)
        locked.save()
        record_event(
            "event.update",
            actor=actor,
            target_type="consultation_event",
            target_id=locked.pk,
            data={"before": before, "after": _event_audit(locked)},
        )
    event.refresh_from_db()
    return event


# ------------------------------------------------------------ participants


@dataclass(frozen=True)
class ParticipantDetails:
    company_name: str
    contact_name: str
    email: str
    prefecture: str
    phone: str = ""
    industry: str = ""
    employees: str = ""
    themes: tuple[int, ...] = field(default_factory=tuple)


def _check_participant(details: ParticipantDetails) -> None:
    if not details.company_name.strip() or not details.contact_name.strip():
        raise EventRefused(_("会社名と担当者名を入力してください。"), code="name")
    if not details.email.strip():
        raise EventRefused(_("メールアドレスを入力してください。"), code="email")
    if details.prefecture not in PREFECTURE_CODES:
        raise EventRefused(_("所在地の都道府県を選んでください。"), code="prefecture")
    if details.industry and details.industry not in INDUSTRY_CODES:
        raise EventRefused(_("業種が正しくありません。"), code="industry")
    if details.employees and details.employees not in PROFILE_CHOICES["employees"]:
        raise EventRefused(_("従業員数が正しくありません。"), code="employees")
    if not set(details.themes) <= THEME_CODES:
        raise EventRefused(_("関心のあるテーマが正しくありません。"), code="themes")


def _full_message(event: ConsultationEvent) -> str:
    return _("この相談会は定員（%(capacity)d社）に達したため、参加の登録を受け付けられません。") % {
        "capacity": event.capacity
    }


def _add_participant(
    event: ConsultationEvent,
    details: ParticipantDetails,
    *,
    via: str,
    sme_account: Any = None,
) -> EventParticipant:
    """Create the row; call inside a transaction holding the event's row lock."""
    return EventParticipant.objects.create(
        event=event,
        company_name=details.company_name.strip(),
        contact_name=details.contact_name.strip(),
        email=normalize_email(details.email),
        phone=details.phone.strip(),
        prefecture=details.prefecture,
        industry=details.industry,
        employees=details.employees,
        # Order kept: the first is the company's main interest (the report uses it).
        themes=list(dict.fromkeys(details.themes)),
        sme_account=sme_account,
        registered_via=via,
    )


def _participant_audit(participant: EventParticipant) -> dict[str, Any]:
    return {
        "event": participant.event_id,
        "via": participant.registered_via,
        "themes": participant.themes,
        "prefecture": participant.prefecture,
        "sme_account": participant.sme_account_id,
    }


def register_participant(
    actor: Any, event: ConsultationEvent, details: ParticipantDetails
) -> EventParticipant:
    """The institution's staff registers a company for its own event."""
    _check_participant(details)
    with transaction.atomic():
        locked = ConsultationEvent.objects.select_for_update().get(pk=event.pk, owner=actor)
        email = normalize_email(details.email)
        if locked.participants.filter(email=email).exists():
            raise EventRefused(
                _("このメールアドレスの会社は、すでにこの相談会に登録されています。"),
                code="duplicate",
            )
        if locked.participants.count() >= locked.capacity:
            raise EventRefused(_full_message(locked), code="full")
        participant = _add_participant(locked, details, via=RegisteredVia.STAFF)
        record_event(
            "event.register_participant",
            actor=actor,
            target_type="event_participant",
            target_id=participant.pk,
            data=_participant_audit(participant),
        )
    return participant


@dataclass(frozen=True)
class SignUp:
    participant: EventParticipant
    created: bool


def signup_closed(event: ConsultationEvent, today: dt.date | None = None) -> bool:
    """The link takes sign-ups until the end of the event's day."""
    return event.held_on < (today or timezone.localdate())


def seats_left(event: ConsultationEvent) -> int:
    return max(0, event.capacity - event.participants.count())


def sign_up(
    event: ConsultationEvent,
    details: ParticipantDetails,
    *,
    user: Any = None,
    today: dt.date | None = None,
) -> SignUp:
    """A company signs itself up through the public link.

    A signed-in SME account is linked to the participant. Signing up again
    with the same e-mail address changes nothing and reports success, so a
    double submit is harmless and the page reveals nothing about who else
    signed up.
    """
    _check_participant(details)
    is_sme = getattr(user, "is_authenticated", False) and user.is_active and user.role == Role.SME
    with transaction.atomic():
        locked = ConsultationEvent.objects.select_for_update().get(pk=event.pk)
        if signup_closed(locked, today):
            raise EventRefused(
                _("この相談会は終了したため、申し込みを受け付けていません。"), code="closed"
            )
        existing = locked.participants.filter(email=normalize_email(details.email)).first()
        if existing is not None:
            return SignUp(existing, created=False)
        if locked.participants.count() >= locked.capacity:
            raise EventRefused(_full_message(locked), code="full")
        try:
            with transaction.atomic():
                participant = _add_participant(
                    locked, details, via=RegisteredVia.LINK, sme_account=user if is_sme else None
                )
        except IntegrityError:  # the same address a moment earlier
            existing = locked.participants.get(email=normalize_email(details.email))
            return SignUp(existing, created=False)
        record_event(
            "event.sign_up",
            actor=user,
            actor_label="" if is_sme else "signup-link",
            target_type="event_participant",
            target_id=participant.pk,
            data=_participant_audit(participant),
        )
    return SignUp(participant, created=True)


# ----------------------------------------------------------- consultations


def record_consultation(
    actor: Any,
    participant: EventParticipant,
    *,
    registration_number: str,
    theme: int | None,
    notes: str,
) -> IndividualConsultation:
    """The staff records an individual consultation held at the event."""
    number = registration_number.strip()
    if number and not (len(number) == 6 and number.isdecimal()):
        raise EventRefused(_("登録番号は6桁の数字で入力してください。"), code="number")
    if theme is not None and theme not in THEME_CODES:
        raise EventRefused(_("相談したテーマが正しくありません。"), code="theme")
    if not notes.strip():
        raise EventRefused(_("見つかった課題を記入してください。"), code="notes")
    if participant.event.owner_id != actor.pk:
        raise EventRefused(_("この操作はできません。"), code="not_owner")
    with transaction.atomic():
        consultation = IndividualConsultation.objects.create(
            participant=participant,
            registration_number=number,
            listing=Listing.objects.filter(record__registration_number=number).first()
            if number
            else None,
            theme=theme,
            notes=notes.strip(),
            recorded_by=actor,
        )
        record_event(
            "event.record_consultation",
            actor=actor,
            target_type="individual_consultation",
            target_id=consultation.pk,
            data={
                "participant": participant.pk,
                "event": participant.event_id,
                "registration_number": number,
                "theme": theme,
            },
        )
    return consultation


# ---------------------------------------------------------------- referrals


def shortlist(participant: EventParticipant, size: int = SHORTLIST_SIZE) -> list[dict[str, Any]]:
    """Accepting specialists for the company's themes (else the event's), in its
    prefecture first, topped up from the whole country: the Active List's own
    ordering, so referrals spread like searches do."""
    themes = tuple(sorted(participant.themes or participant.event.themes))
    local = search(
        SearchQuery(themes=themes, prefectures=(participant.prefecture,), page_size=size),
        record_exposure=True,
    ).results
    rows = list(local)
    if len(rows) < size:
        seen = {r["registration_number"] for r in rows}
        national = search(
            SearchQuery(themes=themes, page_size=size + len(rows)), record_exposure=True
        ).results
        rows.extend(r for r in national if r["registration_number"] not in seen)
    return rows[:size]


def company_profile(participant: EventParticipant) -> dict[str, str]:
    """The participant's details in the inquiry's company-profile shape."""
    profile = {
        "prefecture": participant.prefecture,
        "industry": participant.industry,
        "employees": participant.employees,
    }
    return {k: v for k, v in profile.items() if v}


@dataclass(frozen=True)
class ReferralRequest:
    theme: int | None
    preferred_form: str
    message: str
    wants_free_first_session: bool


def refer(
    actor: Any, participant: EventParticipant, listing: Listing, request: ReferralRequest
) -> Referral:
    """Refer the company to a specialist: an inquiry on its behalf, sent by the
    institution (recorded as the referrer) for the company's SME account if it
    signed up with one. InquiryRefused (full, not accepting, rate limit, a
    waiting duplicate) passes through with its message."""
    if participant.event.owner_id != actor.pk:
        raise EventRefused(_("この操作はできません。"), code="not_owner")
    draft = InquiryDraft(
        company_name=participant.company_name,
        contact_name=participant.contact_name,
        contact_email=participant.email,
        theme=request.theme,
        preferred_form=request.preferred_form,
        message=request.message,
        wants_free_first_session=request.wants_free_first_session,
        company_profile=company_profile(participant),
    )
    with transaction.atomic():
        inquiry = send_inquiry(actor, listing, draft, sme_account=participant.sme_account)
        referral = Referral.objects.create(participant=participant, inquiry=inquiry)
        record_event(
            "event.refer",
            actor=actor,
            target_type="referral",
            target_id=referral.pk,
            data={
                "participant": participant.pk,
                "event": participant.event_id,
                "inquiry": inquiry.pk,
                "registration_number": listing.record.registration_number,
                "theme": request.theme,
            },
        )
    return referral


def inquiries_of(participant: EventParticipant) -> list[Inquiry]:
    """The participant's referrals' inquiries (for its page)."""
    return [r.inquiry for r in participant.referrals.select_related("inquiry__listing__record")]


__all__ = [
    "EventDetails",
    "EventRefused",
    "InquiryRefused",
    "ParticipantDetails",
    "ReferralRequest",
    "SignUp",
    "create_event",
    "event_by_token",
    "event_for",
    "events_for",
    "participant_for",
    "record_consultation",
    "refer",
    "referrals_for",
    "register_participant",
    "shortlist",
    "sign_up",
    "update_event",
    "visible_listing",
]
