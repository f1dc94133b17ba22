"""The request workflow: submit, approve, reject. Plain functions, no HTTP.

Every change an approval makes goes through `registry.services.update_record`
(or `approve_renewal`), so it is audited and historied like any other
registry change. A decision claims the request with a conditional UPDATE, so
two operators deciding at once cannot both apply it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sekispe.audit.services import record_event
from sekispe.lib.dates import fiscal_year
from sekispe.listings.prompt import active_list_prompt, listing_of
from sekispe.outbox.services import queue_templated
from sekispe.registrant_requests import kinds
from sekispe.registrant_requests.models import (
    OPERATOR_FILED_KINDS,
    RegistrantRequest,
    RequestKind,
    RequestStatus,
)
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.registry.services import (
    RegistryError,
    approve_renewal,
    renewal_status_of,
    update_record,
)


class RequestError(Exception):
    """A request the rules refuse. `message` is Japanese, for the user; `errors`
    maps form fields to their messages when the payload itself is invalid."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


def describe_payload(req: RegistrantRequest) -> list[tuple[str, str]]:
    """(label, value) rows of what the request asks for, in Japanese."""
    return kinds.describe(req.kind, req.payload)


def open_request(record: RegistryRecord, kind: str) -> RegistrantRequest | None:
    return RegistrantRequest.objects.filter(
        record=record, kind=kind, status=RequestStatus.SUBMITTED
    ).first()


def renewal_refusal(record: RegistryRecord) -> str | None:
    """Why the renewal cannot be applied for today, or None when it can."""
    if record.status != RegistryStatus.ACTIVE:
        return _not_active(record)
    status = renewal_status_of(record)
    if status.can_apply:
        return None
    deadline = kinds.ja_date(status.application_deadline)
    if not status.application_open:
        return _(
            "更新申請の期限（%(deadline)s）を過ぎているため、申請できません。"
            "事務局にお問い合わせください。"
        ) % {"deadline": deadline}
    missing = _("、").join(
        _("%(label)s（受講期限 %(due)s）") % {"label": r.label, "due": kinds.ja_date(r.due)}
        for r in status.missing
    )
    return _(
        "未受講の講習があるため、まだ更新を申請できません。%(missing)s を受講してから、"
        "更新申請の期限（%(deadline)s）までに申請してください。"
    ) % {"missing": missing, "deadline": deadline}


def submit_request(
    record: RegistryRecord, kind: str, payload: dict[str, Any], *, actor: Any
) -> RegistrantRequest:
    """File a request for `record`; raises RequestError with the reason when refused.

    A contact change of e-mail and phone only is approved and applied at once
    while `REGISTRY_CONTACT_CHANGES_APPLY_IMMEDIATELY` is on: nothing verified changes.
    """
    if kind not in kinds.SPECS:
        raise RequestError(_("この種別の申請・届出は受け付けていません。"))
    label = kinds.spec_for(kind).label
    is_operator = getattr(actor, "is_operator", False)
    if kind in OPERATOR_FILED_KINDS:
        if not is_operator:
            raise RequestError(_("%(kind)sは事務局が提出します。") % {"kind": label})
        if record.status == RegistryStatus.DECEASED:
            raise RequestError(_("この登録者はすでに死亡として登録されています。"))
    elif not is_operator and getattr(actor, "record_id", None) != record.pk:
        # Only the registrant, or an operator on their behalf, files for a record.
        raise RequestError(_("ご本人の登録についてのみ申請・届出ができます。"))
    elif record.status != RegistryStatus.ACTIVE:
        raise RequestError(_not_active(record))

    form = kinds.spec_for(kind).form_class(data=payload, record=record)
    if not form.is_valid():
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        first = next(iter(errors.values()))[0]
        raise RequestError(first, errors)
    if kind == RequestKind.RENEWAL and (reason := renewal_refusal(record)):
        raise RequestError(reason)
    clean_payload = form.to_payload()

    if open_request(record, kind) is not None:
        raise RequestError(_already_open(label))
    immediate = (
        kind == RequestKind.CONTACT_CHANGE
        and not kinds.touches_verified_fields(kind, clean_payload)
        and getattr(settings, "REGISTRY_CONTACT_CHANGES_APPLY_IMMEDIATELY", True)
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            req = RegistrantRequest.objects.create(
                record=record,
                kind=kind,
                payload=clean_payload,
                fiscal_year=fiscal_year(timezone.localdate()),
                submitted_at=now,
                submitted_by=actor if getattr(actor, "is_authenticated", False) else None,
                status=RequestStatus.APPROVED if immediate else RequestStatus.SUBMITTED,
                decided_at=now if immediate else None,
                auto_applied=immediate,
            )
            record_event(
                "requests.submit",
                actor=actor,
                target_type="registrant_request",
                target_id=req.pk,
                data={
                    "kind": kind,
                    "registration_number": record.registration_number,
                    "auto_applied": immediate,
                },
            )
            if immediate:
                update_record(
                    record,
                    kinds.record_changes(req, record, timezone.localdate()),
                    actor=actor,
                    reason=_reason(req, _("即時反映")),
                )
    except IntegrityError:
        # Another submission of the same kind won the race for the one open slot.
        raise RequestError(_already_open(label)) from None
    return req


def approve_request(req: RegistrantRequest, *, actor: Any, comment: str = "") -> RegistrantRequest:
    """Approve and apply `req` in one transaction; RequestError if it cannot be."""
    _require_operator(actor)
    comment = comment.strip()
    today = timezone.localdate()
    try:
        with transaction.atomic():
            _claim(req, RequestStatus.APPROVED, actor, comment)
            record = RegistryRecord.objects.select_for_update().get(pk=req.record_id)
            req.record = record
            _apply(req, record, actor, today)
            record_event(
                "requests.approve",
                actor=actor,
                target_type="registrant_request",
                target_id=req.pk,
                data={
                    "kind": req.kind,
                    "registration_number": record.registration_number,
                    "comment": comment,
                },
            )
            _notify(req, record)
    except (RequestError, RegistryError) as exc:
        req.refresh_from_db()
        if isinstance(exc, RegistryError):
            raise RequestError(str(exc)) from exc
        raise
    return req


def reject_request(req: RegistrantRequest, *, actor: Any, comment: str) -> RegistrantRequest:
    """Reject `req`; the comment, required, tells the registrant why."""
    _require_operator(actor)
    comment = (comment or "").strip()
    if not comment:
        raise RequestError(_("却下する場合は、理由をコメントに書いてください。"))
    try:
        with transaction.atomic():
            _claim(req, RequestStatus.REJECTED, actor, comment)
            record_event(
                "requests.reject",
                actor=actor,
                target_type="registrant_request",
                target_id=req.pk,
                data={
                    "kind": req.kind,
                    "registration_number": req.record.registration_number,
                    "comment": comment,
                },
            )
            _notify(req, req.record)
    except RequestError:
        req.refresh_from_db()
        raise
    return req


def _claim(req: RegistrantRequest, status: str, actor: Any, comment: str) -> None:
    now = timezone.now()
    claimed = RegistrantRequest.objects.filter(pk=req.pk, status=RequestStatus.SUBMITTED).update(
        status=status, decided_at=now, decided_by=actor, operator_comment=comment
    )
    if not claimed:
        raise RequestError(_("この申請・届出はすでに判断済みです。"))
    req.status = status
    req.decided_at = now
    req.decided_by = actor
    req.operator_comment = comment


def _apply(req: RegistrantRequest, record: RegistryRecord, actor: Any, today: Any) -> None:
    if req.kind == RequestKind.RENEWAL:
        expires_on = req.payload.get("expires_on")
        if expires_on and expires_on != record.expires_on.isoformat():
            raise RequestError(
                _("申請後に有効期限が変わっています。登録簿を確認してから判断してください。")
            )
        approve_renewal(record, actor=actor, reason=_reason(req))
        return
    if req.kind == RequestKind.DEATH:
        if record.status == RegistryStatus.DECEASED:
            raise RequestError(_("この登録者はすでに死亡として登録されています。"))
    elif record.status != RegistryStatus.ACTIVE:
        raise RequestError(_not_active(record))
    changes = kinds.record_changes(req, record, today)
    if changes:
        update_record(record, changes, actor=actor, reason=_reason(req))


def _reason(req: RegistrantRequest, note: str = "") -> str:
    """The history row's reason: the kind and request number, and the registrant's reason."""
    parts = [f"{kinds.spec_for(req.kind).label}（No.{req.pk}）"]
    if note:
        parts.append(note)
    if req.kind == RequestKind.DETAILS_CHANGE:
        parts.append(req.payload.get("reason", ""))
    elif req.kind == RequestKind.DEREGISTRATION:
        parts.extend(row[1] for row in kinds.describe(req.kind, req.payload)[:1])
    return " ".join(part for part in parts if part)


def _notify(req: RegistrantRequest, record: RegistryRecord) -> bool:
    """E-mail the decision to the registrant; False when there is nobody to write to.

    A death notice is not e-mailed: the address is the deceased's, and the
    office answers the family directly.
    """
    if req.kind == RequestKind.DEATH:
        return False
    account = getattr(record, "account", None)
    to = record.email or (account.email if account is not None else "")
    if not to:
        return False
    # E-mails are Japanese whatever language the deciding operator browses in.
    with translation.override("ja"):
        context = {
            "name": record.name,
            "kind": kinds.spec_for(req.kind).label,
            "approved": req.status == RequestStatus.APPROVED,
            "approved_note": kinds.approved_note(req, record),
            "decision": str(RequestStatus(req.status).label),
            "comment": req.operator_comment,
            "submitted_on": timezone.localtime(req.submitted_at).date(),
            "path": reverse("registrant:request", args=[req.pk]),
        }
        if req.kind == RequestKind.RENEWAL and req.status == RequestStatus.APPROVED:
            # The renewal moment prompts an Active List listing or its update.
            context["active_list"] = active_list_prompt(listing_of(record))
    queue_templated("request_decided", to, context)
    return True


def _require_operator(actor: Any) -> None:
    if not getattr(actor, "is_operator", False):
        raise RequestError(_("申請・届出の判断は事務局の運営者だけが行えます。"))


def _not_active(record: RegistryRecord) -> str:
    return _("登録の状態が「%(status)s」のため、申請・届出はできません。") % {
        "status": record.get_status_display()
    }


def _already_open(label: str) -> str:
    return _(
        "審査中の%(kind)sがあります。結果が出るまで、同じ種別の申請・届出は提出できません。"
    ) % {"kind": label}
