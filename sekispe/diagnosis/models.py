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


class SecurityActionLevel(models.IntegerChoices):
    ONE_STAR = 1, _("一つ星（★）")
    TWO_STARS = 2, _("二つ星（★★）")


class SecurityActionDeclaration(models.Model):
    """An SME's SECURITY ACTION self-declaration (issue 17, part 3), as the
    company recorded it. Append-only: a new declaration is a new row, so a
    step-up from ★ to ★★ stays visible as two rows of one account."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="security_action_declarations",
    )
    level = models.PositiveSmallIntegerField(_("宣言した段階"), choices=SecurityActionLevel.choices)
    declared_on = models.DateField(_("宣言日"))
    # The self-declaration ID IPA issues (自己宣言ID).
    declaration_id = models.CharField(_("自己宣言ID"), max_length=32)
    # Where the company is, for the statistics by prefecture; never shown with the company.
    prefecture = models.ForeignKey(
        "reference.Prefecture",
        verbose_name=_("所在地（都道府県）"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-declared_on", "-id"]
        verbose_name = _("SECURITY ACTION の宣言")

    def __str__(self) -> str:
        return f"declaration {self.pk} level {self.level} on {self.declared_on}"
