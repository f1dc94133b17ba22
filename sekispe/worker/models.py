"""What the worker's daily jobs last did, and who holds each job now."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobOutcome(models.TextChoices):
    RUNNING = "running", _("実行中")
    OK = "ok", _("成功")
    ERROR = "error", _("失敗")


class JobRun(models.Model):
    """One row per daily job: its lease and its last run.

    The lease makes a job run once per day however many workers run: a worker
    takes it with a conditional UPDATE that only succeeds while the day's run
    is not done (`last_slot` before the day) and nobody else holds an unexpired
    lease. A worker that dies mid-job loses the lease when it expires, and the
    job runs again (every job is idempotent). A failed run keeps the lease for
    a back-off period, so it is retried later that day, not in a tight loop.
    """

    name = models.CharField(max_length=64, unique=True)
    # The day of the scheduled run that last succeeded.
    last_slot = models.DateField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=16, choices=JobOutcome.choices, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_summary = models.JSONField(default=dict, blank=True)
    # Failures since the last success; sets the retry back-off.
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.last_outcome or '—'}"
