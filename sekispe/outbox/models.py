"""The mail outbox: every e-mail sekispe sends is first a row here.

A change and the mail it causes are written in one transaction, so a
rolled-back change mails nobody and a committed one is never without its mail.
`sekispe worker` sends the rows (see `services.deliver_due`); a request never
talks to SMTP.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MailState(models.TextChoices):
    QUEUED = "queued", _("送信待ち")
    SENDING = "sending", _("送信中")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("送信失敗")
    CANCELLED = "cancelled", _("取消")


class OutgoingMail(models.Model):
    """One e-mail to one address, rendered when it was queued.

    Rendered at queue time (not at send time) so the mail says what was true
    when the change was made, and the worker needs nothing but this row.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The e-mail template it was rendered from, for operators to filter on.
    template = models.CharField(max_length=100)
    to = models.CharField(max_length=254)
    from_email = models.CharField(max_length=254)
    subject = models.CharField(max_length=998)
    body = models.TextField()
    # Fixed when queued, so a copy sent twice (the one window in which that can
    # happen, see services) carries the same Message-ID and mail clients and
    # servers may drop the duplicate.
    message_id = models.CharField(max_length=200, unique=True)
    # Optional news only: the recipient's one-click unsubscribe URL, sent as
    # List-Unsubscribe with List-Unsubscribe-Post (RFC 2369, RFC 8058), so
    # mailbox providers offer their own button. Empty for every other mail.
    list_unsubscribe = models.URLField(max_length=500, blank=True, default="")
    state = models.CharField(max_length=16, choices=MailState.choices, default=MailState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set when a worker claims the row; the token names that one claim, so a
    # worker only ever confirms what it claimed itself.
    claim_token = models.CharField(max_length=64, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.template} → {self.to} ({self.state})"
