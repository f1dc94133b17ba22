"""Bulk invitations and registrant mailings (issue 16, parts 2 and 3).

Both write one `OutgoingMail` per person; the rows here only say which run or
mailing a mail belongs to, so the outbox stays the one place that sends.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RunState(models.TextChoices):
    # Started from the page: waiting for `sekispe worker` to take it.
    QUEUED = "queued", _("開始待ち")
    RUNNING = "running", _("実行中")
    DONE = "done", _("完了")


class BulkInvitationRun(models.Model):
    """One bulk invitation: the filters, and counts written after every batch.

    `last_record_id` is the cursor: a run that stopped (a crash, a restart)
    resumes after it, and the per-record check skips anyone invited since.
    """

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filters = models.JSONField(default=dict)
    description = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    invited = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    last_record_id = models.BigIntegerField(default=0)
    # Written with each batch; a running run without a recent beat has stopped.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"bulk invitation {self.pk} ({self.state})"


class MailingKind(models.TextChoices):
    NOTICE = "notice", _("法定のお知らせ（全員に送る）")
    NEWS = "news", _("任意のお知らせ（配信停止した人には送らない）")


class Segment(models.TextChoices):
    ACTIVE = "active", _("登録が有効な登録セキスペ全員")
    MISSING_COURSE = "missing_course", _("今年度の共通講習が未受講の登録セキスペ")
    DISASTER_AREA = "disaster_area", _("災害特例の対象地域に住む登録セキスペ")
    PASSED_NOT_REGISTERED = "passed_not_registered", _("試験に合格したが登録していない申請者")


class MailingState(models.TextChoices):
    # Sent from the page: `sekispe worker` writes the recipients' mail
    # (50,000 take seconds, too long for a request).
    WAITING = "waiting", _("登録の順番待ち")
    QUEUING = "queuing", _("送信待ちに登録中")
    QUEUED = "queued", _("送信待ちに登録済み")


class Mailing(models.Model):
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("種類"), max_length=16, choices=MailingKind.choices)
    segment = models.CharField(_("宛先"), max_length=32, choices=Segment.choices)
    measure = models.ForeignKey(
        "registry.DisasterMeasure",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("災害特例"),
    )
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    state = models.CharField(
        max_length=16, choices=MailingState.choices, default=MailingState.WAITING
    )
    # Written with each batch; a queuing mailing without a recent beat has stopped.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    recipient_count = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    queue_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.subject


class MailingRecipient(models.Model):
    """One person a mailing went to; its delivery state is its mail's state.

    `key` ("r<record id>" or "a<application id>") is unique per mailing, so
    queueing a mailing again after a crash never adds anyone twice.
    """

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients")
    key = models.CharField(max_length=24)
    record = models.ForeignKey(
        "registry.RegistryRecord", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.CharField(max_length=254)
    # SET_NULL: the outbox purges sent mail after OUTBOX_KEEP_SENT_DAYS (sent, then).
    mail = models.ForeignKey(
        "outbox.OutgoingMail", null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing", "key"], name="mailing_recipient_once")
        ]

    def __str__(self) -> str:
        return f"{self.mailing_id} → {self.email}"
