"""Claiming an account: a registrant asks for a link by registration number.

The link goes to the e-mail address in the registry record, never to one
typed into the form, and it is an ordinary `Invitation` (hash stored,
single-use, CLAIM_VALID_HOURS instead of 14 days), so accepting it is the
invitation page: it sets a password and binds the account to that record.

Nothing the caller sees depends on the number: unknown, inactive, already
claimed, without an e-mail or valid, `request_claim` returns nothing and the
page answers the same redirect, so nobody can probe the registry.

Someone whose registry e-mail is missing or wrong files a
`ContactChangeRequest` (no account); an operator verifies them offline and
`apply_contact_change` corrects the record through `registry.services.update_record`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sekispe.accounts.models import (
    ContactChangeRequest,
    ContactChangeState,
    Invitation,
    User,
    normalize_email,
)
from sekispe.accounts.services import AccountError
from sekispe.audit.services import record_event
from sekispe.core import ratelimit
from sekispe.core.mail import site_url
from sekispe.outbox.services import queue_templated, render_templated
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.registry.services import update_record

# Defaults; a deployment may override them in settings.
DEFAULT_CLAIMS_PER_IP = (10, 3600)
DEFAULT_CLAIMS_PER_NUMBER = (3, 24 * 3600)
DEFAULT_CONTACT_CHANGES_PER_IP = (5, 3600)
DEFAULT_CLAIM_VALID_HOURS = 24


def _limit(setting: str, default: tuple[int, int]) -> ratelimit.Limit:
    count, seconds = getattr(settings, setting, default)
    return ratelimit.Limit(count, dt.timedelta(seconds=seconds))


def claim_valid_hours() -> int:
    return int(getattr(settings, "CLAIM_VALID_HOURS", DEFAULT_CLAIM_VALID_HOURS))


def normalize_number(raw: str) -> str:
    # Full-width digits and stray spaces are common when typed on a phone.
    return unicodedata.normalize("NFKC", raw).strip().replace(" ", "").replace("-", "")


def _number_key(number: str) -> str:
    # Keyed hash: the counter table does not list which numbers were asked for.
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:claim:{number}".encode()).hexdigest()
    return f"claim:number:{digest[:32]}"


def claim_address_allowed(request: HttpRequest) -> ratelimit.Decision:
    """Take one claim from the client address's budget (the page answers 429 past it)."""
    return ratelimit.consume(
        ratelimit.ip_key("claim", request), _limit("CLAIMS_PER_IP", DEFAULT_CLAIMS_PER_IP)
    )


def _claimable(number: str) -> RegistryRecord | None:
    record = RegistryRecord.objects.filter(registration_number=number).first()
    if record is None or record.status != RegistryStatus.ACTIVE or not record.email:
        return None
    if User.objects.filter(record=record).exists():
        return None
    return record


def request_claim(number: str) -> None:
    """Queue a claim link to the registry e-mail of `number`, if it may have one.

    Returns nothing on purpose: the caller must answer the same either way.
    Past the per-number budget nothing is queued (so nobody floods a
    registrant's mailbox); the number's counter moves for unknown numbers too.
    """
    number = normalize_number(number)
    if not ratelimit.consume(
        _number_key(number), _limit("CLAIMS_PER_NUMBER", DEFAULT_CLAIMS_PER_NUMBER)
    ).allowed:
        return
    record = _claimable(number)
    if record is None:
        _same_work_as_a_link()
        return
    send_claim_link(record)


def _same_work_as_a_link() -> None:
    """Roughly the cost of `send_claim_link` without writing anything: the token,
    its hash and the mail's rendering, so an unknown number does not answer
    measurably faster than a real one."""
    token = secrets.token_urlsafe(32)
    Invitation.hash_token(token)
    render_templated(
        "claim",
        {
            "name": "",
            "url": site_url(f"/accounts/invitation/{token}/"),
            "expires_at": timezone.now() + dt.timedelta(hours=claim_valid_hours()),
        },
    )
    with transaction.atomic():
        # The real path's transaction; empty here, it still costs a round trip.
        Invitation.objects.filter(pk=0).exists()


def send_claim_link(record: RegistryRecord, *, actor: User | None = None) -> str:
    """Create a claim invitation for `record` and queue it to the record's e-mail.

    Earlier links stay usable until they expire: a stranger asking for
    this number must not be able to cancel an operator's invitation. The
    first one accepted binds the record; the others then fail.
    """
    email = normalize_email(record.email)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            record=record,
            email=email,
            token_hash=Invitation.hash_token(token),
            created_by=actor,
            created_at=now,
            expires_at=now + dt.timedelta(hours=claim_valid_hours()),
        )
        record_event(
            "accounts.claim_sent",
            actor=actor,
            actor_label="" if actor else "claim",
            target_type="registry_record",
            target_id=record.pk,
            data={"invitation": invitation.pk},
        )
        queue_templated(
            "claim",
            email,
            {
                "name": record.name,
                "url": site_url(f"/accounts/invitation/{token}/"),
                "expires_at": invitation.expires_at,
            },
        )
    return token


# ------------------------------------------------------ contact-change requests


def contact_change_address_allowed(request: HttpRequest) -> ratelimit.Decision:
    return ratelimit.consume(
        ratelimit.ip_key("contact_change", request),
        _limit("CONTACT_CHANGES_PER_IP", DEFAULT_CONTACT_CHANGES_PER_IP),
    )


def submit_contact_change(
    *,
    registration_number: str,
    name: str,
    name_kana: str,
    new_email: str,
    phone: str,
    reason: str,
) -> ContactChangeRequest:
    """Store the request as typed; nothing here looks the number up."""
    return ContactChangeRequest.objects.create(
        registration_number=normalize_number(registration_number),
        name=name.strip(),
        name_kana=name_kana.strip(),
        new_email=normalize_email(new_email),
        phone=phone.strip(),
        reason=reason.strip(),
    )


def record_for(request: ContactChangeRequest) -> RegistryRecord | None:
    """The record the request names, for the operator's comparison."""
    return RegistryRecord.objects.filter(registration_number=request.registration_number).first()


def _close(
    item: ContactChangeRequest, state: str, *, actor: User, note: str
) -> ContactChangeRequest:
    now = timezone.now()
    # Conditional UPDATE: of two operators deciding at once, one wins.
    closed = ContactChangeRequest.objects.filter(pk=item.pk, state=ContactChangeState.OPEN).update(
        state=state, handled_at=now, handled_by=actor, operator_note=note.strip()
    )
    if closed != 1:
        raise AccountError(_("この依頼はすでに対応済みです。"))
    item.refresh_from_db()
    return item


def apply_contact_change(item: ContactChangeRequest, *, actor: User, note: str) -> RegistryRecord:
    """After verifying the person offline: set the record's e-mail to the requested
    one (audited, with history) and, if the record has no account yet, send a
    claim link to the new address."""
    if not actor.is_operator:
        raise AccountError(_("この操作は運営者だけが行えます。"))
    with transaction.atomic():
        record = record_for(item)
        if record is None:
            raise AccountError(
                _("この登録番号の登録はありません。対応しないとして閉じてください。")
            )
        _close(item, ContactChangeState.APPLIED, actor=actor, note=note)

        update_record(
            record,
            {"email": item.new_email},
            actor=actor,
            reason=f"連絡先変更の依頼 #{item.pk}（本人確認済み）",
        )
        record_event(
            "accounts.contact_change_applied",
            actor=actor,
            target_type="registry_record",
            target_id=record.pk,
            data={"request": item.pk},
        )
        if (
            record.status == RegistryStatus.ACTIVE
            and not User.objects.filter(record=record).exists()
        ):
            send_claim_link(record, actor=actor)
    return record


def dismiss_contact_change(item: ContactChangeRequest, *, actor: User, note: str) -> None:
    if not actor.is_operator:
        raise AccountError(_("この操作は運営者だけが行えます。"))
    with transaction.atomic():
        _close(item, ContactChangeState.DISMISSED, actor=actor, note=note)
        record_event(
            "accounts.contact_change_dismissed",
            actor=actor,
            target_type="contact_change_request",
            target_id=item.pk,
        )
