"""The only writers of deemed-attendance applications.

Every change is one transaction: the application row, one `DeemedEvent` (the
history the applicant and operators read), one `AuditEvent`, and any mail
queued in the outbox. Transitions are conditional UPDATEs on the status, so
two clicks or two operators never make two decisions. Lookups for the
specialist are scoped to the record bound to their account, never to an id
sent by the client.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, DateField, F, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from sekispe.audit.services import record_event
from sekispe.core.mail import site_url
from sekispe.deemed import similarity
from sekispe.deemed.examples import EXAMPLES
from sekispe.deemed.models import (
    HOLDING_STATES,
    PENDING_STATES,
    AuditDraw,
    AuditState,
    CertificationRequest,
    CertifierRelation,
    DeemedApplication,
    DeemedEvent,
    DeemedStatus,
    RevocationCase,
    hash_token,
)
from sekispe.inquiries.models import CompletionConfirmation
from sekispe.lib.text import clean_free_text, clean_single_line
from sekispe.outbox.services import queue_templated
from sekispe.reference.models import GuidanceTheme, SyllabusItem
from sekispe.registry import rules
from sekispe.registry import services as registry
from sekispe.registry.models import RegistryRecord, RegistryStatus

CERTIFICATION_DAYS = 30
# Counted without spaces or line breaks (NFKC), so layout does not make length.
DESCRIPTION_MIN_CHARS = 400
DESCRIPTION_MAX_CHARS = 4000
MAX_HOURS = 2000

OATH_TEXT = (
    "私は、この申請書に記載した内容がすべて事実であり、虚偽の記載がないことを宣誓します。"
    "記載した業務は私自身が行ったものです。"
    "記載内容に虚偽があった場合には、みなし受講の承認が取り消されること、"
    "及び情報処理の促進に関する法律第19条第2項に基づき登録を取り消されることがあることを"
    "承知しています。"
    "また、IPAが行うサンプル調査に協力し、求めに応じて業務の実施を示す資料を提出します。"
)


class DeemedRefused(Exception):
    """A request the rules refuse; `message` is shown to the user, on `field` if set."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# ------------------------------------------------------------------ periods


@dataclass(frozen=True)
class Period:
    starts_on: dt.date
    expires_on: dt.date
    application_deadline: dt.date


def period_of(record: RegistryRecord) -> Period:
    extension = registry.extension_for(record)
    return Period(
        starts_on=rules.period_start(record.expires_on),
        expires_on=record.expires_on,
        application_deadline=rules.application_deadline(record.expires_on, extension),
    )


def applications_of(record: RegistryRecord) -> QuerySet[DeemedApplication]:
    return DeemedApplication.objects.filter(record=record).select_related("syllabus_item")


def application_for(user: Any, pk: int) -> DeemedApplication:
    """The user's own application `pk`; DoesNotExist for anyone else's."""
    return applications_of(user.record).get(pk=pk)


def holding_application(record: RegistryRecord) -> DeemedApplication | None:
    return (
        applications_of(record)
        .filter(period_expires_on=record.expires_on, status__in=HOLDING_STATES)
        .first()
    )


def refusal_to_apply(record: RegistryRecord | None, today: dt.date) -> str | None:
    """Why this registrant cannot start an application now, or None."""
    if record is None:
        return _("登録簿のレコードに紐づいたアカウントでのみ申請できます。")
    if record.status != RegistryStatus.ACTIVE:
        return _("登録中の方のみ申請できます。")
    period = period_of(record)
    if today > period.application_deadline:
        return _(
            "今期の更新申請期限（%(date)s）を過ぎているため、今期のみなし受講は申請できません。"
        ) % {"date": _ja(period.application_deadline)}
    held = holding_application(record)
    if held is not None:
        if held.status == DeemedStatus.APPROVED:
            return _("今期のみなし受講はすでに承認されています。申請は1期間に1件です。")
        return _("今期の申請（%(ref)s）が手続中です。申請は1期間に1件です。") % {
            "ref": held.reference
        }
    return None


# ------------------------------------------------------------------ applying


@dataclass(frozen=True)
class WorkDeclaration:
    syllabus_item: str
    organisation: str
    relation: str
    role: str
    started_on: dt.date
    ended_on: dt.date
    hours: int
    work_summary: str
    description: str


@dataclass(frozen=True)
class Certifier:
    name: str
    title: str
    organisation: str
    email: str


def description_length(text: str) -> int:
    return len("".join(text.split()))


def check_description(text: str) -> similarity.Match | None:
    """Refuse a description that is too short or copies a published example."""
    length = description_length(text)
    if length < DESCRIPTION_MIN_CHARS:
        raise DeemedRefused(
            _(
                "業務の内容は、ご自身の言葉で%(min)d字以上書いてください"
                "（空白と改行を除いて現在%(n)d字）。"
            )
            % {"min": DESCRIPTION_MIN_CHARS, "n": length},
            "description",
        )
    if length > DESCRIPTION_MAX_CHARS:
        raise DeemedRefused(
            _("業務の内容は%(max)d字以内で書いてください（現在%(n)d字）。")
            % {"max": DESCRIPTION_MAX_CHARS, "n": length},
            "description",
        )
    copied = similarity.copied_example(text, ((n, e.text) for n, e in enumerate(EXAMPLES)))
    if copied is not None:
        example = EXAMPLES[int(copied.key)]  # type: ignore[call-overload]
        raise DeemedRefused(
            _(
                "業務の内容が記載例「%(title)s」とよく似ています（記載例の文字の並びの"
                "%(percent)d%%が一致）。記載例をそのまま使った申請は認められません。"
                "ご自身が行った業務を、ご自身の言葉で具体的に書いてください。"
            )
            % {"title": example.title, "percent": math.floor(copied.score * 100)},
            "description",
        )
    return None


def _check_work(work: WorkDeclaration, period: Period, today: dt.date) -> SyllabusItem:
    item = SyllabusItem.objects.filter(code=work.syllabus_item).first()
    if item is None:
        raise DeemedRefused(_("シラバスの小項目を選んでください。"), "syllabus_item")
    if work.relation not in CertifierRelation.values:
        raise DeemedRefused(_("証明する組織との関係を選んでください。"), "relation")
    if work.started_on > work.ended_on:
        raise DeemedRefused(_("終了日は開始日以降の日付にしてください。"), "ended_on")
    if work.ended_on > today:
        raise DeemedRefused(
            _("終わっていない業務は申請できません。終了日は今日以前にしてください。"),
            "ended_on",
        )
    if work.started_on < period.starts_on:
        raise DeemedRefused(
            _("今期（%(start)s〜）に行った業務だけが対象です。開始日を確認してください。")
            % {"start": _ja(period.starts_on)},
            "started_on",
        )
    if not 1 <= work.hours <= MAX_HOURS:
        raise DeemedRefused(
            _("従事時間は1〜%(max)d時間で入力してください。") % {"max": MAX_HOURS}, "hours"
        )
    check_description(work.description)
    return item


def _flag_similar(application: DeemedApplication) -> None:
    """Flag the closest other applicant's description if it is too similar.

    Accepted, not refused: two people may honestly describe similar work, and
    only an operator can tell. Compared through the stored fingerprints in one
    vectorised pass (about 0.1 s against 20,000 applications; `sekispe bench
    similarity`).
    """
    others = (
        DeemedApplication.objects.exclude(record=application.record)
        .exclude(pk=application.pk)
        .exclude(fingerprint=b"")
        .values_list("pk", "fingerprint")
    )
    match = similarity.closest_fingerprint(
        application.description, others.iterator(chunk_size=2000)
    )
    if match is not None and match.score >= similarity.PEER_THRESHOLD:
        application.similar_to_id = match.key
        application.similarity = round(match.score, 3)
        application.save(update_fields=["similar_to", "similarity", "updated_at"])


def apply(
    user: Any,
    work: WorkDeclaration,
    certifier: Certifier,
    *,
    oath: bool,
    today: dt.date | None = None,
) -> DeemedApplication:
    """Start an application with an external certifier, who is mailed a link."""
    today = today or timezone.localdate()
    record = _applicant_record(user, today)
    if not oath:
        raise DeemedRefused(_("宣誓に同意しないと申請できません。"), "oath")
    period = period_of(record)
    item = _check_work(work, period, today)
    with transaction.atomic():
        application = _create(
            user,
            record,
            period,
            item,
            work,
            certifier,
            status=DeemedStatus.AWAITING_CERTIFICATION,
        )
        _event(application, "applied", user)
        _send_certification(application, actor=user)
        _flag_similar(application)
    return application


def confirmations_for(user: Any) -> QuerySet[CompletionConfirmation]:
    """The user's confirmed Active List engagements not yet used for an application."""
    if getattr(user, "record", None) is None:
        return CompletionConfirmation.objects.none()
    return CompletionConfirmation.objects.filter(
        registration_number=user.record.registration_number,
        deemed_application__isnull=True,
    ).order_by("-confirmed_at")


def confirmation_for(user: Any, pk: int) -> CompletionConfirmation:
    """The user's own unused confirmation `pk`; DoesNotExist otherwise."""
    return confirmations_for(user).get(pk=pk)


def candidate_items(confirmation: CompletionConfirmation) -> list[SyllabusItem]:
    """The syllabus sub-items the engagement's guidance theme maps to (003)."""
    theme = GuidanceTheme.objects.filter(code=confirmation.theme).first()
    if theme is None:
        return []
    return list(theme.syllabus_items.order_by("order"))


def work_from_confirmation(confirmation: CompletionConfirmation) -> dict[str, Any]:
    """The parts of an application an engagement already answers."""
    held = sorted(v["held_on"] for v in confirmation.visits if v.get("held_on"))
    return {
        "organisation": confirmation.company_name,
        "relation": CertifierRelation.CLIENT,
        "started_on": dt.date.fromisoformat(held[0]) if held else None,
        "ended_on": dt.date.fromisoformat(held[-1]) if held else None,
    }


def apply_from_confirmation(
    user: Any,
    confirmation: CompletionConfirmation,
    work: WorkDeclaration,
    *,
    oath: bool,
    today: dt.date | None = None,
) -> DeemedApplication:
    """One step from a confirmed Active List engagement.

    The company confirmed the three visits on the platform, so its
    confirmation is the certification: the company is not asked again.
    """
    today = today or timezone.localdate()
    record = _applicant_record(user, today)
    if confirmation.registration_number != record.registration_number:
        raise CompletionConfirmation.DoesNotExist
    if not oath:
        raise DeemedRefused(_("宣誓に同意しないと申請できません。"), "oath")
    codes = {i.code for i in candidate_items(confirmation)}
    if work.syllabus_item not in codes:
        raise DeemedRefused(
            _("この指導テーマに対応するシラバスの小項目から選んでください。"), "syllabus_item"
        )
    period = period_of(record)
    item = _check_work(work, period, today)
    confirmer = confirmation.confirmed_by
    certifier = Certifier(
        name=getattr(confirmer, "display_name", "") or confirmation.company_name,
        title=_("アクティブリストの完了確認"),
        organisation=confirmation.company_name,
        email=confirmer.email,
    )
    now = timezone.now()
    with transaction.atomic():
        application = _create(
            user,
            record,
            period,
            item,
            work,
            certifier,
            status=DeemedStatus.SUBMITTED,
            confirmation=confirmation,
            certified_at=confirmation.confirmed_at,
            submitted_at=now,
        )
        _event(
            application,
            "applied_from_active_list",
            user,
            note=_("アクティブリストの完了確認（%(date)s）を証明として申請")
            % {"date": _ja(timezone.localdate(confirmation.confirmed_at))},
        )
        _flag_similar(application)
    return application


def _applicant_record(user: Any, today: dt.date) -> RegistryRecord:
    record = getattr(user, "record", None)
    refusal = refusal_to_apply(record, today)
    if refusal:
        raise DeemedRefused(refusal)
    assert record is not None  # noqa: S101 - refusal_to_apply refuses None
    return record


def _create(
    user: Any,
    record: RegistryRecord,
    period: Period,
    item: SyllabusItem,
    work: WorkDeclaration,
    certifier: Certifier,
    **fields: Any,
) -> DeemedApplication:
    try:
        with transaction.atomic():
            return DeemedApplication.objects.create(
                record=record,
                applicant=user,
                period_expires_on=period.expires_on,
                syllabus_item=item,
                organisation=clean_single_line(work.organisation),
                relation=work.relation,
                role=clean_single_line(work.role),
                work_started_on=work.started_on,
                work_ended_on=work.ended_on,
                hours=work.hours,
                work_summary=clean_single_line(work.work_summary),
                description=clean_free_text(work.description),
                fingerprint=similarity.fingerprint(clean_free_text(work.description)),
                certifier_name=clean_single_line(certifier.name),
                certifier_title=clean_single_line(certifier.title),
                certifier_organisation=clean_single_line(certifier.organisation),
                certifier_email=certifier.email.strip(),
                oath_text=OATH_TEXT,
                oath_signed_at=timezone.now(),
                **fields,
            )
    except IntegrityError as error:
        # Two submissions at once: the partial unique constraint let one in.
        raise DeemedRefused(_("今期の申請はすでに受け付けています。申請は1期間に1件です。")) from (
            error
        )


# ------------------------------------------------------------------ certification


def _send_certification(application: DeemedApplication, *, actor: Any) -> str:
    """A new single-use link to the certifier; any earlier unused link stops working."""
    now = timezone.now()
    application.certifications.filter(used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(days=CERTIFICATION_DAYS)
    CertificationRequest.objects.create(
        application=application,
        email=application.certifier_email,
        token_hash=hash_token(token),
        expires_at=expires_at,
    )
    queue_templated(
        "deemed_certify",
        application.certifier_email,
        {
            "application": application,
            "specialist_name": application.record.name,
            "item": application.syllabus_item,
            "url": site_url(f"/certify/{token}/"),
            "expires_at": timezone.localtime(expires_at),
        },
    )
    return token


def resend_certification(user: Any, application: DeemedApplication) -> None:
    """The applicant asks for a fresh link (the first expired or went astray)."""
    with transaction.atomic():
        locked = _locked(application.pk)
        if locked.status != DeemedStatus.AWAITING_CERTIFICATION:
            raise DeemedRefused(_("証明者の確認待ちの申請だけ、依頼を再送できます。"))
        _send_certification(locked, actor=user)
        _event(locked, "certification_resent", user)


def certification_of(token: str) -> tuple[str, CertificationRequest | None]:
    """("valid" | "used" | "expired" | "unknown", request) for a link's token."""
    request = (
        CertificationRequest.objects.select_related(
            "application__record", "application__syllabus_item__major"
        )
        .filter(token_hash=hash_token(token))
        .first()
    )
    if request is None:
        return "unknown", None
    if request.used_at is not None:
        return "used", request
    if request.revoked_at is not None or request.expires_at <= timezone.now():
        return "expired", request
    if request.application.status != DeemedStatus.AWAITING_CERTIFICATION:
        return "expired", request
    return "valid", request


def _claim_certification(token: str, **answer: Any) -> CertificationRequest:
    state, request = certification_of(token)
    if state != "valid" or request is None:
        raise DeemedRefused(_("このリンクは使用済みか、有効期限が切れています。"))
    now = timezone.now()
    claimed = CertificationRequest.objects.filter(
        pk=request.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(used_at=now, **answer)
    if not claimed:
        raise DeemedRefused(_("このリンクは使用済みか、有効期限が切れています。"))
    request.refresh_from_db()
    return request


def certify(token: str, *, name: str, title: str, address_hash: str) -> DeemedApplication:
    """The certifier confirms the work as declared; the application goes to review."""
    name, title = clean_single_line(name), clean_single_line(title)
    if not name or not title:
        raise DeemedRefused(_("氏名と役職を入力してください。"), "name" if not name else "title")
    with transaction.atomic():
        request = _claim_certification(
            token,
            outcome=CertificationRequest.Outcome.CONFIRMED,
            confirmed_name=name,
            confirmed_title=title,
            address_hash=address_hash,
        )
        application = _move(
            request.application_id,
            (DeemedStatus.AWAITING_CERTIFICATION,),
            DeemedStatus.SUBMITTED,
            certified_at=request.used_at,
            submitted_at=request.used_at,
        )
        label = f"{name}（{title}）"
        _event(application, "certified", None, actor_label=label)
        _audit(application, "deemed.certified", None, {"certifier": label}, actor_label=label)
        _notify(application, "certified")
    return application


def decline_certification(token: str, *, reason: str, address_hash: str) -> DeemedApplication:
    reason = clean_free_text(reason)
    if not reason:
        raise DeemedRefused(_("辞退の理由を入力してください。"), "reason")
    with transaction.atomic():
        request = _claim_certification(
            token,
            outcome=CertificationRequest.Outcome.DECLINED,
            decline_reason=reason,
            address_hash=address_hash,
        )
        application = _move(
            request.application_id,
            (DeemedStatus.AWAITING_CERTIFICATION,),
            DeemedStatus.CERTIFICATION_DECLINED,
        )
        _event(application, "certification_declined", None, note=reason, actor_label=_("証明者"))
        _audit(application, "deemed.certification_declined", None, {"reason": reason})
        _notify(application, "certification_declined", reason=reason)
    return application


# ------------------------------------------------------------------ the applicant


def withdraw(user: Any, application: DeemedApplication) -> DeemedApplication:
    with transaction.atomic():
        moved = _move(
            application.pk,
            (
                DeemedStatus.AWAITING_CERTIFICATION,
                DeemedStatus.CERTIFICATION_DECLINED,
                DeemedStatus.SUBMITTED,
                DeemedStatus.INFO_REQUESTED,
            ),
            DeemedStatus.WITHDRAWN,
        )
        moved.certifications.filter(used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        _event(moved, "withdrawn", user)
        _audit(moved, "deemed.withdrawn", user, {})
    return moved


def answer_information(user: Any, application: DeemedApplication, answer: str) -> DeemedApplication:
    """The one answer to an operator's question; the application returns to review."""
    answer = clean_free_text(answer)
    if not answer:
        raise DeemedRefused(_("回答を入力してください。"), "answer")
    with transaction.atomic():
        moved = _move(
            application.pk,
            (DeemedStatus.INFO_REQUESTED,),
            DeemedStatus.SUBMITTED,
            info_response=answer,
        )
        _event(moved, "info_answered", user, note=answer)
        _audit(moved, "deemed.info_answered", user, {})
    return moved


def submit_audit_evidence(
    user: Any, application: DeemedApplication, evidence: str
) -> DeemedApplication:
    """The applicant's one answer to the sample audit's request for evidence."""
    evidence = clean_free_text(evidence)
    if not evidence:
        raise DeemedRefused(_("回答を入力してください。"), "evidence")
    with transaction.atomic():
        updated = DeemedApplication.objects.filter(
            pk=application.pk, audit_state=AuditState.UNDER_AUDIT, audit_evidence=""
        ).update(audit_evidence=evidence, updated_at=timezone.now())
        if not updated:
            raise DeemedRefused(_("この申請には回答できる調査がありません。"))
        application.refresh_from_db()
        _event(application, "audit_evidence", user, note=evidence)
        _audit(application, "deemed.audit_evidence", user, {})
    return application


# ------------------------------------------------------------------ operators


def review_queue(today: dt.date | None = None) -> QuerySet[DeemedApplication]:
    """Every application, the closest renewal-application deadline first.

    The deadline is the period's expiry − 60 days, or the disaster measure's
    extended deadline while the record is under one.
    """
    # date − interval is a timestamp on PostgreSQL and a text on SQLite: cast both to a date.
    normal = Cast(
        F("period_expires_on") - Value(dt.timedelta(days=rules.APPLICATION_DAYS_BEFORE_EXPIRY)),
        output_field=DateField(),
    )
    # As in deadline_of: the extension counts only for the record's current period.
    extended = When(
        record__extension_measure__isnull=False,
        record__expires_on=F("period_expires_on"),
        then=F("record__extension_measure__new_deadline"),
    )
    return (
        DeemedApplication.objects.select_related(
            "record", "syllabus_item", "similar_to", "confirmation", "audit_draw"
        )
        .annotate(deadline=Case(extended, default=normal, output_field=DateField()))
        .order_by("deadline", "submitted_at", "pk")
    )


def deadline_of(application: DeemedApplication) -> dt.date:
    record = application.record
    extension = (
        registry.extension_for(record)
        if record.expires_on == application.period_expires_on
        else None
    )
    return rules.application_deadline(application.period_expires_on, extension)


def approve(application: DeemedApplication, actor: Any, note: str = "") -> DeemedApplication:
    """Approve, and write the registry credit that meets the practical requirement."""
    note = clean_free_text(note)
    today = timezone.localdate()
    deadline = deadline_of(application)
    if today > deadline:
        # 003: everything is decided by the deadline; a credit approved later
        # would not count for the period (rules.deemed_window), only mislead.
        raise DeemedRefused(
            _(
                "更新申請期限（%(date)s）を過ぎたため承認できません。"
                "今期の実践講習の要件に算入できないためです。"
            )
            % {"date": _ja(deadline)}
        )
    with transaction.atomic():
        moved = _move(
            application.pk,
            PENDING_STATES,
            DeemedStatus.APPROVED,
            decided_at=timezone.now(),
            decided_by=actor,
            decision_reason=note,
        )
        try:
            credit = registry.grant_deemed_credit(
                moved.record, approved_on=today, reference=f"DEEMED-{moved.pk}", actor=actor
            )
        except registry.RegistryError as error:
            # The registration ended meanwhile: the transaction undoes the approval.
            raise DeemedRefused(str(error)) from error
        DeemedApplication.objects.filter(pk=moved.pk).update(credit=credit)
        moved.credit = credit
        _event(moved, "approved", actor, note=note)
        _audit(moved, "deemed.approved", actor, {"note": note, "credit": credit.pk})
        _notify(moved, "approved")
    return moved


def reject(application: DeemedApplication, actor: Any, reason: str) -> DeemedApplication:
    reason = clean_free_text(reason)
    if not reason:
        raise DeemedRefused(_("却下の理由を入力してください。申請者に伝わります。"), "reason")
    with transaction.atomic():
        moved = _move(
            application.pk,
            PENDING_STATES,
            DeemedStatus.REJECTED,
            decided_at=timezone.now(),
            decided_by=actor,
            decision_reason=reason,
        )
        _event(moved, "rejected", actor, note=reason)
        _audit(moved, "deemed.rejected", actor, {"reason": reason})
        _notify(moved, "rejected", reason=reason)
    return moved


def request_information(
    application: DeemedApplication, actor: Any, question: str
) -> DeemedApplication:
    question = clean_free_text(question)
    if not question:
        raise DeemedRefused(_("申請者に尋ねる内容を入力してください。"), "question")
    with transaction.atomic():
        moved = _move(
            application.pk,
            (DeemedStatus.SUBMITTED,),
            DeemedStatus.INFO_REQUESTED,
            info_request=question,
            info_response="",
        )
        _event(moved, "info_requested", actor, note=question)
        _audit(moved, "deemed.info_requested", actor, {"question": question})
        _notify(moved, "info_requested", question=question)
    return moved


# ------------------------------------------------------------------ sample audit

AUDITABLE_STATES = (DeemedStatus.APPROVED, *PENDING_STATES)


def sample_size(rate: Decimal | float, population: int) -> int:
    """round(rate × n), halves up, so the sample is within ±1 of rate × n."""
    return min(population, math.floor(Decimal(str(rate)) * population + Decimal("0.5")))


def draw_sample(seed: int, population: list[int], size: int) -> list[int]:
    """The reproducible draw: the same seed and population give the same sample."""
    return sorted(random.Random(seed).sample(sorted(population), size))  # noqa: S311 - reproducible by design, not secret


def audit_population() -> list[int]:
    """Approved or pending applications never drawn before."""
    return sorted(
        DeemedApplication.objects.filter(
            status__in=AUDITABLE_STATES, audit_draw__isnull=True
        ).values_list("pk", flat=True)
    )


def _audit_rate(rate: Decimal | float | str) -> Decimal:
    rate = Decimal(str(rate))
    if not Decimal("0") < rate <= Decimal("1"):
        raise DeemedRefused(_("抽出率は0より大きく1以下で指定してください。"), "rate")
    return rate


def preview_draw(rate: Decimal | float | str, seed: int) -> tuple[list[int], list[int]]:
    """(population, drawn) that `draw_audit(rate, seed)` would give now, with the
    same rng, recording and marking nothing (a dry run, the confirmation page)."""
    rate = _audit_rate(rate)
    population = audit_population()
    return population, draw_sample(seed, population, sample_size(rate, len(population)))


def draw_audit(
    rate: Decimal | float,
    seed: int,
    *,
    actor: Any = None,
    actor_label: str = "",
    progress: Callable[[int], object] | None = None,
) -> AuditDraw:
    """Draw, record and notify: the drawn applications go under audit and each
    applicant is mailed a request for evidence. `progress(1)` is called per
    application marked and mailed (a command's progress bar)."""
    rate = _audit_rate(rate)
    with transaction.atomic():
        population = audit_population()
        # Lock the rows so a second draw running at the same time cannot take them too.
        locked = list(
            DeemedApplication.objects.select_for_update()
            .filter(pk__in=population, audit_draw__isnull=True)
            .values_list("pk", flat=True)
        )
        population = sorted(locked)
        drawn = draw_sample(seed, population, sample_size(rate, len(population)))
        label = actor_label or str(getattr(actor, "email", "") or "sekispe deemed-audit")
        draw = AuditDraw.objects.create(
            seed=seed, rate=rate, population=population, drawn=drawn, drawn_by=label
        )
        DeemedApplication.objects.filter(pk__in=drawn).update(
            audit_draw=draw, audit_state=AuditState.UNDER_AUDIT, updated_at=timezone.now()
        )
        for application in DeemedApplication.objects.filter(pk__in=drawn).select_related(
            "record", "syllabus_item", "applicant"
        ):
            _event(application, "audit_drawn", actor, actor_label=label, note=f"seed {seed}")
            _notify(application, "audit")
            if progress is not None:
                progress(1)
        record_event(
            "deemed.audit_draw",
            actor=actor,
            actor_label=label,
            target_type="deemed_audit_draw",
            target_id=str(draw.pk),
            data={
                "seed": seed,
                "rate": str(rate),
                "population": len(population),
                "drawn": drawn,
            },
        )
    return draw


def verify_draw(draw: AuditDraw) -> bool:
    """Re-run a recorded draw from its seed and population."""
    return draw_sample(draw.seed, list(draw.population), len(draw.drawn)) == list(draw.drawn)


def record_audit_outcome(
    application: DeemedApplication, actor: Any, *, false_claim: bool, note: str
) -> DeemedApplication:
    """Confirmed: the application stands. False: the credit is revoked, the
    practical requirement is unmet again, and a revocation case is opened."""
    note = clean_free_text(note)
    if not note:
        raise DeemedRefused(_("調査結果の内容を入力してください。"), "note")
    with transaction.atomic():
        updated = DeemedApplication.objects.filter(
            pk=application.pk, audit_state=AuditState.UNDER_AUDIT
        ).update(
            audit_state=AuditState.FALSE if false_claim else AuditState.CONFIRMED,
            audit_note=note,
            updated_at=timezone.now(),
        )
        if not updated:
            raise DeemedRefused(_("この申請はサンプル調査中ではありません。"))
        application = DeemedApplication.objects.select_related("record", "credit").get(
            pk=application.pk
        )
        if not false_claim:
            _event(application, "audit_confirmed", actor, note=note)
            _audit(application, "deemed.audit_confirmed", actor, {"note": note})
            return application
        _revoke_credit(application, actor, note)
        _move(
            application.pk,
            (*AUDITABLE_STATES,),
            DeemedStatus.REVOKED,
            decided_at=timezone.now(),
            decided_by=actor,
            decision_reason=note,
        )
        application.refresh_from_db()
        case = RevocationCase.objects.create(application=application, opened_by=actor, finding=note)
        _event(application, "audit_false", actor, note=note)
        _audit(application, "deemed.audit_false", actor, {"note": note, "case": case.pk})
        _notify(application, "revoked", reason=note)
    return application


def _revoke_credit(application: DeemedApplication, actor: Any, reason: str) -> None:
    if application.credit is not None:
        credit = application.credit
        DeemedApplication.objects.filter(pk=application.pk).update(credit=None)
        application.credit = None
        registry.withdraw_deemed_credit(
            credit, actor=actor, reason=f"みなし受講の承認取消（{application.reference}）: {reason}"
        )


def revoke_registration(case: RevocationCase, actor: Any, reason: str) -> RevocationCase:
    """The operator's documented decision to revoke the registration (取消)."""
    reason = clean_free_text(reason)
    if not reason:
        raise DeemedRefused(_("取消の理由（根拠と経緯）を入力してください。"), "reason")
    with transaction.atomic():
        _end_case(case, RevocationCase.State.REGISTRATION_REVOKED, actor, reason)
        application = case.application
        try:
            registry.revoke_registration(
                application.record,
                actor=actor,
                reason=reason,
                reference=f"REVOCATION-{case.pk}",
            )
        except registry.RegistryError as error:
            raise DeemedRefused(str(error)) from error
        _event(application, "registration_revoked", actor, note=reason)
        _audit(application, "deemed.registration_revoked", actor, {"case": case.pk})
    return case


def _end_case(case: RevocationCase, state: str, actor: Any, note: str) -> None:
    """Claim an open case for its one ending (a conditional UPDATE, like every transition)."""
    claimed = RevocationCase.objects.filter(pk=case.pk, state=RevocationCase.State.OPEN).update(
        state=state, closed_at=timezone.now(), closed_by=actor, outcome_note=note
    )
    if not claimed:
        raise DeemedRefused(_("この手続はすでに終了しています。"))
    case.refresh_from_db()


def close_case(case: RevocationCase, actor: Any, note: str) -> RevocationCase:
    """End the procedure without revoking the registration (the credit stays revoked)."""
    note = clean_free_text(note)
    if not note:
        raise DeemedRefused(_("終了の理由を入力してください。"), "note")
    with transaction.atomic():
        _end_case(case, RevocationCase.State.CLOSED, actor, note)
        _event(case.application, "case_closed", actor, note=note)
        _audit(case.application, "deemed.case_closed", actor, {"case": case.pk})
    return case


# ------------------------------------------------------------------ helpers


def _locked(pk: int) -> DeemedApplication:
    return (
        DeemedApplication.objects.select_for_update()
        .select_related("record", "syllabus_item")
        .get(pk=pk)
    )


def _move(pk: int, allowed: Iterable[str], to: str, **fields: Any) -> DeemedApplication:
    """The conditional UPDATE every transition is: it moves the row only from `allowed`."""
    moved = DeemedApplication.objects.filter(pk=pk, status__in=list(allowed)).update(
        status=to, updated_at=timezone.now(), **fields
    )
    if not moved:
        current = DeemedApplication.objects.filter(pk=pk).values_list("status", flat=True).first()
        label = DeemedStatus(current).label if current else "?"
        raise DeemedRefused(
            _("この申請は「%(status)s」のため、この操作はできません。") % {"status": label}
        )
    return DeemedApplication.objects.select_related(
        "record", "syllabus_item", "applicant", "credit"
    ).get(pk=pk)


def _event(
    application: DeemedApplication,
    action: str,
    actor: Any,
    *,
    note: str = "",
    actor_label: str = "",
) -> None:
    DeemedEvent.objects.create(
        application=application,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label,
        note=note,
    )


def _audit(
    application: DeemedApplication,
    action: str,
    actor: Any,
    data: dict[str, Any],
    *,
    actor_label: str = "",
) -> None:
    record_event(
        action,
        actor=actor,
        actor_label=actor_label,
        target_type="deemed_application",
        target_id=str(application.pk),
        data={
            "registration_number": application.record.registration_number,
            "status": application.status,
            **data,
        },
    )


def _notify(application: DeemedApplication, event: str, **extra: Any) -> None:
    """Tell the applicant, at the address of their account."""
    queue_templated(
        "deemed_update",
        application.applicant.email,
        {
            "application": application,
            "event": event,
            "name": application.record.name,
            "url": site_url(f"/me/deemed/{application.pk}/"),
            **extra,
        },
    )


def _ja(day: dt.date) -> str:
    """A date in the reader's language, as the templates write it."""
    return date_format(day, _("Y年n月j日"))
