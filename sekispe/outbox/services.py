"""Queue e-mail with the change that causes it; send it from the worker, once.

Writers call `queue_templated` (or `queue_message`) inside their own
transaction. The worker calls `deliver_due` in a loop:

1. claim: one transaction picks due rows (`SELECT … FOR UPDATE SKIP LOCKED` on
   PostgreSQL, so two workers never wait on or take the same rows; SQLite
   serialises writers anyway) and moves them to `sending` with a fresh claim
   token and `attempts + 1`. The conditional UPDATE only moves rows that are
   still due, so a row is claimed by one worker at a time.
2. send each claimed row over one SMTP connection.
3. confirm: `sent`, but only for the rows this claim token holds.
   A failure puts the row back in `queued` with an exponential back-off, or
   `failed` after OUTBOX_MAX_ATTEMPTS, where operators see it (/ops/outbox/).

The one window in which a mail can go out twice: a worker that dies after the
SMTP server accepted a message and before step 3 committed. Its rows stay in
`sending`; after OUTBOX_CLAIM_TIMEOUT_SECONDS another worker claims and sends
them again. Each row keeps one Message-ID, so the copy is recognisable. A
worker stopped by SIGTERM finishes the mail in hand and hands the rest of its
claim back at once (`release`), so a clean shutdown never waits out the timeout.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sekispe.audit.services import record_event
from sekispe.core.mail import site_url
from sekispe.outbox.models import MailState, OutgoingMail

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 60


class OutboxError(Exception):
    """An operator action the mail's state does not allow; `message` is shown."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


# ------------------------------------------------------------------ queueing


def _single_line(text: str) -> str:
    # A header cannot hold a line break; whitespace runs collapse to one space.
    return " ".join(text.split())


def _message_id(from_email: str) -> str:
    domain = from_email.rsplit("@", 1)[-1].strip(" >") or "sekispe.invalid"
    return make_msgid(domain=domain)


def queue_message(to: str, subject: str, body: str, *, template: str) -> OutgoingMail:
    """Queue one rendered e-mail. Call inside the transaction of the change it reports."""
    if any(ch in to for ch in "\r\n\0") or "@" not in to:
        raise ValueError(f"not a single e-mail address: {to!r}")
    from_email = settings.DEFAULT_FROM_EMAIL
    return OutgoingMail.objects.create(
        template=template,
        to=to.strip(),
        from_email=from_email,
        subject=_single_line(subject)[:998],
        body=body,
        message_id=_message_id(from_email),
    )


def render_templated(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of `emails/<template>_subject.txt` and `_body.txt`, in Japanese."""
    with translation.override("ja"):
        ctx = {"site_url": site_url(""), **context}
        subject = render_to_string(f"emails/{template}_subject.txt", ctx)
        body = render_to_string(f"emails/{template}_body.txt", ctx)
    return _single_line(subject), body


def queue_templated(template: str, to: str, context: dict[str, Any]) -> OutgoingMail:
    """Render a templated e-mail now and queue it in the caller's transaction."""
    subject, body = render_templated(template, context)
    return queue_message(to, subject, body, template=template)


# ------------------------------------------------------------------ delivery


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)


def _due(now: dt.datetime) -> Q:
    stale_claim = now - dt.timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS)
    return Q(state=MailState.QUEUED, next_attempt_at__lte=now) | Q(
        state=MailState.SENDING, claimed_at__lt=stale_claim
    )


def claim_due(
    *, now: dt.datetime | None = None, limit: int | None = None
) -> tuple[str, list[OutgoingMail]]:
    """Claim up to `limit` due mails for this caller; returns the claim token and the rows."""
    now = now or timezone.now()
    limit = limit or settings.OUTBOX_BATCH_SIZE
    token = secrets.token_hex(16)
    with transaction.atomic():
        candidates = OutgoingMail.objects.filter(_due(now)).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            return token, []
        OutgoingMail.objects.filter(_due(now), pk__in=ids).update(
            state=MailState.SENDING,
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
    claimed = OutgoingMail.objects.filter(claim_token=token, state=MailState.SENDING)
    return token, list(claimed.order_by("pk"))


def retry_delay(attempts: int) -> dt.timedelta:
    """Back-off after the `attempts`-th failed attempt: 1 min, 2, 4, … capped."""
    seconds = FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_CAP_SECONDS))


def _mark_sent(mail: OutgoingMail, token: str) -> bool:
    return bool(
        OutgoingMail.objects.filter(pk=mail.pk, claim_token=token, state=MailState.SENDING).update(
            state=MailState.SENT, sent_at=timezone.now(), last_error=""
        )
    )


def _mark_failed_attempt(mail: OutgoingMail, token: str, error: str) -> str:
    """Back to the queue with a back-off, or failed for good; returns the new state."""
    final = mail.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    state = MailState.FAILED if final else MailState.QUEUED
    OutgoingMail.objects.filter(pk=mail.pk, claim_token=token, state=MailState.SENDING).update(
        state=state,
        next_attempt_at=timezone.now() + retry_delay(mail.attempts),
        last_error=error[:500],
    )
    return state


def release(token: str) -> int:
    """Hand back the mails of a claim not yet sent (a clean shutdown), as if never tried."""
    return OutgoingMail.objects.filter(claim_token=token, state=MailState.SENDING).update(
        state=MailState.QUEUED, attempts=F("attempts") - 1, claim_token=""
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def deliver_due(
    *,
    now: dt.datetime | None = None,
    limit: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryReport:
    """Claim and send one batch of due mail; the worker's loop body (also used by tests)."""
    report = DeliveryReport()
    token, mails = claim_due(now=now, limit=limit)
    report.claimed = len(mails)
    if not mails:
        return report
    smtp = get_connection(fail_silently=False)
    try:
        smtp.open()
    except Exception as exc:  # SMTP down: every claimed mail waits for its retry
        for mail in mails:
            _count_failure(report, mail, _mark_failed_attempt(mail, token, _describe(exc)))
        report.errors.append(_describe(exc))
        logger.warning("outbox: cannot connect to the mail server: %s", _describe(exc))
        return report
    try:
        for position, mail in enumerate(mails):
            if position and should_stop():
                report.released = release(token)
                break
            headers = {"Message-ID": mail.message_id}
            if mail.list_unsubscribe:
                headers["List-Unsubscribe"] = f"<{mail.list_unsubscribe}>"
                headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message = EmailMessage(
                mail.subject,
                mail.body,
                mail.from_email,
                [mail.to],
                headers=headers,
                connection=smtp,
            )
            try:
                message.send()
            except Exception as exc:  # this address or message failed; the rest go on
                logger.warning(
                    "outbox: mail %s (%s) attempt %s failed: %s",
                    mail.pk,
                    mail.template,
                    mail.attempts,
                    _describe(exc),
                )
                state = _mark_failed_attempt(mail, token, _describe(exc))
                _count_failure(report, mail, state)
                report.errors.append(f"{mail.pk}: {_describe(exc)}")
                continue
            if _mark_sent(mail, token):
                report.sent += 1
            else:
                # Only if this send outlived the claim timeout and another worker
                # took the row over: the documented duplicate window.
                logger.error("outbox: mail %s was sent after its claim expired", mail.pk)
    finally:
        smtp.close()
    return report


def _count_failure(report: DeliveryReport, mail: OutgoingMail, state: str) -> None:
    if state == MailState.FAILED:
        report.failed += 1
        logger.error("outbox: mail %s (%s) failed for good", mail.pk, mail.template)
    else:
        report.retried += 1


def deliver_all(*, now: dt.datetime | None = None) -> DeliveryReport:
    """Deliver until nothing is due (tests, and `sekispe worker --once`)."""
    total = DeliveryReport()
    while True:
        report = deliver_due(now=now)
        if not report.claimed:
            return total
        for name in ("claimed", "sent", "retried", "failed", "released"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.errors += report.errors
        if report.retried or report.failed:
            return total  # what failed now is not due again in this pass


# ---------------------------------------------------------- operators' actions


def retry_mail(mail_id: int, *, actor: Any) -> OutgoingMail:
    """Queue a failed or cancelled mail again, with a fresh set of attempts."""
    with transaction.atomic():
        moved = OutgoingMail.objects.filter(
            pk=mail_id, state__in=[MailState.FAILED, MailState.CANCELLED]
        ).update(state=MailState.QUEUED, attempts=0, next_attempt_at=timezone.now(), claim_token="")
        if moved != 1:
            raise OutboxError(_("送信失敗または取消のメールだけを再送できます。"))
        record_event("outbox.retry", actor=actor, target_type="outgoing_mail", target_id=mail_id)
    return OutgoingMail.objects.get(pk=mail_id)


def cancel_mail(mail_id: int, *, actor: Any) -> OutgoingMail:
    """Never send this mail (queued or failed ones only: one in `sending` may be on its way)."""
    with transaction.atomic():
        moved = OutgoingMail.objects.filter(
            pk=mail_id, state__in=[MailState.QUEUED, MailState.FAILED]
        ).update(state=MailState.CANCELLED, claim_token="")
        if moved != 1:
            raise OutboxError(_("送信待ちまたは送信失敗のメールだけを取り消せます。"))
        record_event("outbox.cancel", actor=actor, target_type="outgoing_mail", target_id=mail_id)
    return OutgoingMail.objects.get(pk=mail_id)


# ------------------------------------------------------------ housekeeping


@dataclass(frozen=True)
class OutboxHealth:
    counts: dict[str, int]
    oldest_queued_at: dt.datetime | None


def outbox_health() -> OutboxHealth:
    """Counts per state and the oldest mail still waiting (two indexed queries)."""
    counts = dict.fromkeys(MailState.values, 0)
    for row in OutgoingMail.objects.values("state").annotate(n=Count("pk")).order_by():
        counts[row["state"]] = row["n"]
    oldest = OutgoingMail.objects.filter(state__in=[MailState.QUEUED, MailState.SENDING]).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    return OutboxHealth(counts, oldest)


def purge_sent(*, now: dt.datetime | None = None) -> int:
    """Delete sent mail older than OUTBOX_KEEP_SENT_DAYS, in batches (the daily job)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.OUTBOX_KEEP_SENT_DAYS)
    deleted = 0
    while True:
        ids = list(
            OutgoingMail.objects.filter(state=MailState.SENT, sent_at__lt=cutoff).values_list(
                "pk", flat=True
            )[:1000]
        )
        if not ids:
            return deleted
        deleted += OutgoingMail.objects.filter(pk__in=ids).delete()[0]
