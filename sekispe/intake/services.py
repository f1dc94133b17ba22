"""Registration intake: submitting an application, and the operator's decision.

The only writers of `RegistrationApplication`. Each decision is one
transaction claimed by a conditional UPDATE (submitted → approved / sent
back), so two operators deciding at once decide once. Approval writes the
registry record, the audit event, the welcome mail and the account invitation
together, or nothing at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sekispe.accounts.services import invite_specialist
from sekispe.audit.services import record_event
from sekispe.core.mail import site_url
from sekispe.intake.models import (
    ApplicationStatus,
    Qualification,
    RegistrationApplication,
    RegistrationNumberCounter,
)
from sekispe.lib.dates import period_end
from sekispe.outbox.services import queue_templated
from sekispe.registry.models import RegistryRecord, RegistryStatus

# Registration numbers are six digits (registry.models.registration_number_validator).
LAST_REGISTRATION_NUMBER = 999_999


class IntakeError(Exception):
    """A decision the rules refuse; the message is shown to the operator."""

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message


def next_registration_date(day: dt.date) -> dt.date:
    """The first 1 April or 1 October after `day`: registration takes effect on
    one of those days (domain.md), never on the day of approval itself."""
    for candidate in (dt.date(day.year, 4, 1), dt.date(day.year, 10, 1)):
        if candidate > day:
            return candidate
    return dt.date(day.year + 1, 4, 1)


def submit_application(details: dict[str, Any]) -> RegistrationApplication:
    """Store a validated application (`forms.ApplicationForm.details()`)."""
    now = timezone.now()
    with transaction.atomic():
        application = RegistrationApplication.objects.create(**details, pledged_at=now)
        record_event(
            "intake.submit",
            actor_label="applicant",
            target_type="registration_application",
            target_id=str(application.pk),
            data={"reference": application.reference},
        )
    return application


def possible_duplicates(application: RegistrationApplication) -> list[RegistryRecord]:
    """Registry records that may be the applicant's already: the same e-mail, or
    the same name and birth year. Shown to the operator, not refused: a former
    registrant whose registration ran out registers again this way."""
    return list(
        RegistryRecord.objects.filter(
            Q(email__iexact=application.email)
            | Q(name=application.name, birth_year=application.birth_date.year)
        ).order_by("registration_number")[:10]
    )


def _take_registration_number() -> str:
    """The next free number, under the counter row's lock (call inside a transaction).

    The counter row is created on first use with INSERT … ON CONFLICT DO
    NOTHING, so two first approvals at once do not collide on its creation.
    Numbers already in the registry (imported records) are skipped: the next
    number is above both the counter and the highest stored number.
    """
    RegistrationNumberCounter.objects.bulk_create(
        [RegistrationNumberCounter(id=1, last_number=0)], ignore_conflicts=True
    )
    counter = RegistrationNumberCounter.objects.select_for_update().get(id=1)
    # Six digits with leading zeros sort as numbers do, so the index answers this.
    highest = (
        RegistryRecord.objects.order_by("-registration_number")
        .values_list("registration_number", flat=True)
        .first()
    )
    number = max(counter.last_number, int(highest or 0)) + 1
    if number > LAST_REGISTRATION_NUMBER:
        raise IntakeError(_("登録番号の残りがありません。システム管理者に連絡してください。"))
    counter.last_number = number
    counter.save(update_fields=["last_number"])
    return f"{number:06d}"


def _claim(application: RegistrationApplication, status: str, actor: Any, **extra: Any) -> None:
    now = timezone.now()
    claimed = RegistrationApplication.objects.filter(
        pk=application.pk, status=ApplicationStatus.SUBMITTED
    ).update(status=status, decided_at=now, decided_by=actor, **extra)
    if not claimed:
        raise IntakeError(_("この申請はすでに判断されています。一覧から開き直してください。"))
    application.refresh_from_db()


def approve_application(
    application: RegistrationApplication, *, actor: Any, today: dt.date | None = None
) -> RegistryRecord:
    """Register the applicant: the registry record with the next 1 April or
    1 October and a new registration number, the audit event, the welcome
    mail and the account invitation, in one transaction."""
    if not getattr(actor, "is_operator", False):
        raise IntakeError(_("登録申請を判断できるのは運営者だけです。"))
    today = today or timezone.localdate()
    registered_on = next_registration_date(today)
    with transaction.atomic():
        _claim(application, ApplicationStatus.APPROVED, actor)
        record = RegistryRecord(
            registration_number=_take_registration_number(),
            name=application.name,
            name_kana=application.name_kana,
            registered_on=registered_on,
            expires_on=period_end(registered_on),
            status=RegistryStatus.ACTIVE,
            home_prefecture_id=application.home_prefecture_id,
            overseas=application.overseas,
            birth_year=application.birth_date.year,
            email=application.email,
            published_items=list(application.published_items),
            exam_year=application.exam_year
            if application.qualification == Qualification.EXAM
            else None,
            exam_season=application.exam_season
            if application.qualification == Qualification.EXAM
            else "",
            exemption_basis=application.exemption_basis
            if application.qualification == Qualification.EXEMPTION
            else "",
            employer_industry_id=application.employer_industry_id,
        )
        record._change_reason = f"registration application {application.reference}"[:100]  # type: ignore[attr-defined]
        record._history_user = actor  # type: ignore[attr-defined]
        record.save()
        RegistrationApplication.objects.filter(pk=application.pk).update(record=record)
        application.record = record
        record_event(
            "intake.approve",
            actor=actor,
            target_type="registration_application",
            target_id=str(application.pk),
            data={
                "reference": application.reference,
                "registration_number": record.registration_number,
                "registered_on": record.registered_on.isoformat(),
                "expires_on": record.expires_on.isoformat(),
            },
        )
        queue_templated(
            "intake_approved",
            application.email,
            {
                "name": record.name,
                "reference": application.reference,
                "registration_number": record.registration_number,
                "registered_on": record.registered_on,
                "expires_on": record.expires_on,
            },
        )
        # The account link: the accounts app's invitation (single use, sets a
        # password, binds the account to this record), queued in this transaction.
        invite_specialist(record, application.email, actor=actor)
    return record


def send_back_application(
    application: RegistrationApplication, *, actor: Any, message: str
) -> RegistrationApplication:
    """Return the application to the applicant with the operator's message; the
    mail tells them what to correct and to apply again."""
    if not getattr(actor, "is_operator", False):
        raise IntakeError(_("登録申請を判断できるのは運営者だけです。"))
    message = message.strip()
    if not message:
        raise IntakeError(_("差し戻しの理由を入力してください。申請者へのメールに載ります。"))
    with transaction.atomic():
        _claim(application, ApplicationStatus.SENT_BACK, actor, send_back_message=message)
        record_event(
            "intake.send_back",
            actor=actor,
            target_type="registration_application",
            target_id=str(application.pk),
            data={"reference": application.reference, "message": message},
        )
        queue_templated(
            "intake_sent_back",
            application.email,
            {
                "name": application.name,
                "reference": application.reference,
                "message": message,
                "url": site_url("/register/"),
            },
        )
    return application
