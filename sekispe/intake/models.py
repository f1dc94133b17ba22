"""Registration applications (登録申請) taken in online at /register/ and
reviewed by operators at /ops/applications/.

An application is what the applicant declared; approval turns it into a
verified registry record (`intake.services.approve_application`). A sent-back
application stays as it was: the applicant corrects it by applying again.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sekispe.registry.models import ExamSeason, ExemptionBasis


class Qualification(models.TextChoices):
    EXAM = "exam", _("試験に合格した")
    EXEMPTION = "exemption", _("試験の免除を受けた")


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("審査中")
    SENT_BACK = "sent_back", _("差し戻し")
    APPROVED = "approved", _("承認済み")


# Letters that cannot be misread for one another on a phone or on paper.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    """The applicant's reference number, e.g. "R-7KQ2-M9XD"."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"R-{chars[:4]}-{chars[4:]}"


class RegistrationApplication(models.Model):
    reference = models.CharField(_("受付番号"), max_length=16, unique=True, default=new_reference)
    status = models.CharField(
        _("状態"),
        max_length=16,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.SUBMITTED,
    )
    name = models.CharField(_("氏名"), max_length=64)
    name_kana = models.CharField(_("氏名（カナ）"), max_length=128)
    birth_date = models.DateField(_("生年月日"))
    overseas = models.BooleanField(_("海外在住"), default=False)
    home_prefecture = models.ForeignKey(
        "reference.Prefecture",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("都道府県"),
    )
    address = models.CharField(_("住所"), max_length=200)
    email = models.EmailField(_("メールアドレス"))
    qualification = models.CharField(_("登録の資格"), max_length=16, choices=Qualification.choices)
    exam_year = models.PositiveSmallIntegerField(_("合格した試験の年度"), null=True, blank=True)
    exam_season = models.CharField(
        _("合格した試験の期"), max_length=8, choices=ExamSeason.choices, blank=True
    )
    examinee_number = models.CharField(_("受験番号"), max_length=20, blank=True)
    exemption_basis = models.CharField(
        _("試験免除の根拠"), max_length=16, choices=ExemptionBasis.choices, blank=True
    )
    exemption_detail = models.CharField(_("免除の根拠の詳細"), max_length=200, blank=True)
    employer = models.CharField(_("勤務先"), max_length=100, blank=True)
    employer_industry = models.ForeignKey(
        "reference.Industry",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("勤務先の業種"),
    )
    published_items = models.JSONField(_("公開に同意した項目"), default=list, blank=True)
    # The pledge is required to submit; the time says when it was given.
    pledged_at = models.DateTimeField(_("誓約日時"))
    submitted_at = models.DateTimeField(_("申請日時"), auto_now_add=True)
    decided_at = models.DateTimeField(_("判断日時"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("判断した運営者"),
    )
    send_back_message = models.TextField(_("差し戻しの理由"), blank=True)
    record = models.OneToOneField(
        "registry.RegistryRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="application",
        verbose_name=_("登録簿レコード"),
    )

    class Meta:
        ordering = ["submitted_at", "pk"]
        verbose_name = _("登録申請")
        indexes = [models.Index(fields=["status", "submitted_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(overseas=True, home_prefecture__isnull=True)
                | models.Q(overseas=False, home_prefecture__isnull=False),
                name="application_prefecture_or_overseas",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"


class RegistrationNumberCounter(models.Model):
    """One row: the last registration number handed out by approval.

    Approvals lock this row (select_for_update; on SQLite the IMMEDIATE
    transaction serialises writers), so two operators approving at once never
    get the same number. Numbers already in the registry (imports) are skipped.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("登録番号の採番")

    def __str__(self) -> str:
        return f"{self.last_number:06d}"
