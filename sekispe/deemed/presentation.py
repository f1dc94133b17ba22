"""What the specialist's pages say about an application: what it is waiting
for, its history in words, and the short summary the registry page includes.

Reads only; every change goes through `services`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sekispe.deemed import services
from sekispe.deemed.models import (
    AuditState,
    CertificationRequest,
    DeemedApplication,
    DeemedEvent,
    DeemedStatus,
)
from sekispe.registry import rules
from sekispe.registry import services as registry
from sekispe.registry.models import RegistryRecord

EVENT_LABELS = {
    "applied": _("申請し、証明者に確認を依頼"),
    "applied_from_active_list": _("アクティブリストの完了確認をもとに申請"),
    "certification_resent": _("証明の依頼を再送"),
    "certified": _("証明者が証明"),
    "certification_declined": _("証明者が証明を辞退"),
    "withdrawn": _("申請を取下げ"),
    "info_requested": _("IPAから追加情報の依頼"),
    "info_answered": _("追加情報に回答"),
    "approved": _("承認"),
    "rejected": _("却下"),
    "audit_drawn": _("サンプル調査の対象に選定"),
    "audit_evidence": _("サンプル調査に回答"),
    "audit_confirmed": _("サンプル調査の結果、事実と確認"),
    "audit_false": _("サンプル調査の結果、虚偽と判明し承認を取消"),
    "registration_revoked": _("登録の取消"),
    "case_closed": _("登録取消の手続を終了"),
}
# The certifier's own actions carry their name; everything else not done by
# the applicant was done by IPA (operators are not named to the applicant).
CERTIFIER_ACTIONS = frozenset({"certified", "certification_declined"})
WITHDRAWABLE = frozenset(
    {
        DeemedStatus.AWAITING_CERTIFICATION,
        DeemedStatus.CERTIFICATION_DECLINED,
        DeemedStatus.SUBMITTED,
        DeemedStatus.INFO_REQUESTED,
    }
)


@dataclass(frozen=True)
class HistoryRow:
    at: dt.datetime
    label: str
    who: str
    note: str


def history(application: DeemedApplication) -> list[HistoryRow]:
    rows = []
    for event in DeemedEvent.objects.filter(application=application).order_by("at", "id"):
        if event.actor_id is not None and event.actor_id == application.applicant_id:
            who = str(_("あなた"))
        elif event.action in CERTIFIER_ACTIONS:
            who = event.actor_label or str(_("証明者"))
        else:
            who = str(_("IPA"))
        rows.append(
            HistoryRow(
                at=event.at,
                label=str(EVENT_LABELS.get(event.action, event.action)),
                who=who,
                note=event.note,
            )
        )
    return rows


def latest_certification(application: DeemedApplication) -> CertificationRequest | None:
    """The newest link sent for the application (uses a prefetch when there is one)."""
    requests = sorted(
        application.certifications.all(), key=lambda r: (r.created_at, r.pk), reverse=True
    )
    return requests[0] if requests else None


@dataclass(frozen=True)
class Waiting:
    """What an application is waiting for, in one word the template switches on.

    `kind`: certifier (link sent, not answered), certifier_link_expired,
    declined, info (a question to answer), evidence (the audit asks for
    evidence), review (IPA is reviewing), audit_review (evidence sent, IPA is
    checking), or done (nothing more to do).
    """

    kind: str
    certification: CertificationRequest | None = None
    link_expired: bool = False


def waiting_for(application: DeemedApplication, now: dt.datetime | None = None) -> Waiting:
    now = now or timezone.now()
    status = application.status
    under_audit = application.audit_state == AuditState.UNDER_AUDIT
    if under_audit and not application.audit_evidence:
        return Waiting("evidence")
    if status == DeemedStatus.AWAITING_CERTIFICATION:
        request = latest_certification(application)
        expired = request is None or request.expires_at <= now or request.revoked_at is not None
        return Waiting("certifier", request, link_expired=expired)
    if status == DeemedStatus.CERTIFICATION_DECLINED:
        return Waiting("declined", latest_certification(application))
    if status == DeemedStatus.INFO_REQUESTED:
        return Waiting("info")
    if under_audit:
        return Waiting("audit_review")
    if status == DeemedStatus.SUBMITTED:
        return Waiting("review")
    return Waiting("done")


def counts_for_period(application: DeemedApplication) -> bool:
    """Whether an approved application's credit meets the period's practical
    requirement: approved no later than the application deadline (rules)."""
    if application.status != DeemedStatus.APPROVED or application.decided_at is None:
        return False
    record = application.record
    extension = (
        registry.extension_for(record)
        if record.expires_on == application.period_expires_on
        else None
    )
    first, last = rules.deemed_window(application.period_expires_on, extension)
    return first <= timezone.localdate(application.decided_at) <= last


@dataclass(frozen=True)
class RegistrySummary:
    """Deemed attendance in the current period, for the registry page."""

    period: services.Period
    application: DeemedApplication | None
    met: bool
    refusal: str | None
    confirmations: int

    @property
    def can_apply(self) -> bool:
        return self.refusal is None


def summary_for(
    record: RegistryRecord | None, user: Any = None, today: dt.date | None = None
) -> RegistrySummary | None:
    """The current period's application (the one holding the period, else the
    latest made for it), whether it meets the practical requirement, and
    whether a new one can start. None without a record. `user` (the record's
    account) adds how many confirmed Active List engagements could be used."""
    if record is None:
        return None
    today = today or timezone.localdate()
    applications = services.applications_of(record).filter(period_expires_on=record.expires_on)
    application = services.holding_application(record) or applications.first()
    return RegistrySummary(
        period=services.period_of(record),
        application=application,
        met=application is not None and counts_for_period(application),
        refusal=services.refusal_to_apply(record, today),
        confirmations=services.confirmations_for(user).count() if user is not None else 0,
    )
