"""A company's answers to one version of the self-diagnosis, and what they gave.

The questions themselves are versioned data (`sekispe/diagnosis/questionnaires/`),
not rows: a result keeps the version it was answered under, so changing the
wording or the scoring never rewrites a past result.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Diagnosis(models.Model):
    version = models.PositiveSmallIntegerField(_("設問のバージョン"))
    # {question_id: "done" | "partly" | "not_done" | "unknown"}
    answers = models.JSONField(_("回答"))
    # Optional company profile: prefecture, industry, employees, it_dependence, customer_demand.
    profile = models.JSONField(_("企業の情報"), default=dict, blank=True)
    # What the rules gave when answered; re-derivable from version + answers.
    step = models.PositiveSmallIntegerField(_("ステップ"))
    total_score = models.PositiveSmallIntegerField(_("総合点"))
    # The unguessable part of the share link (secrets.token_urlsafe).
    share_token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="diagnoses",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("自己診断の結果")

    def __str__(self) -> str:
        return f"diagnosis {self.pk} v{self.version} step {self.step}"
