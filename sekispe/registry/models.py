"""The registry: verified facts maintained by IPA. Specialists never edit these."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

registration_number_validator = RegexValidator(
    r"^\d{6}$", _("登録番号は6桁の数字で入力してください。")
)


class RegistryStatus(models.TextChoices):
    ACTIVE = "active", _("登録中")
    EXPIRED = "expired", _("失効")
    DEREGISTERED = "deregistered", _("登録抹消")


class CourseKind(models.TextChoices):
    COMMON = "common", _("共通講習（オンライン）")
    PRACTICAL = "practical", _("実践講習（IPA）")
    SPECIFIC = "specific", _("特定講習")


class RegistryRecord(models.Model):
    registration_number = models.CharField(
        _("登録番号"), max_length=6, unique=True, validators=[registration_number_validator]
    )
    name = models.CharField(_("氏名"), max_length=64)
    name_kana = models.CharField(_("氏名（カナ）"), max_length=128)
    registered_on = models.DateField(_("登録日"))
    expires_on = models.DateField(_("有効期限"))
    renewal_count = models.PositiveSmallIntegerField(_("更新回数"), default=0)
    status = models.CharField(
        _("状態"), max_length=16, choices=RegistryStatus.choices, default=RegistryStatus.ACTIVE
    )
    home_prefecture = models.ForeignKey(
        "reference.Prefecture",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("自宅都道府県"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["registration_number"]
        verbose_name = _("登録簿レコード")
        indexes = [models.Index(fields=["status", "expires_on"])]

    def __str__(self) -> str:
        return f"{self.registration_number} {self.name}"


class CourseCompletion(models.Model):
    record = models.ForeignKey(RegistryRecord, on_delete=models.CASCADE, related_name="courses")
    kind = models.CharField(_("講習種別"), max_length=16, choices=CourseKind.choices)
    # Fiscal year (April-March) the completion counts for; derived from completed_on.
    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    provider = models.CharField(_("実施機関"), max_length=64, blank=True)
    course_code = models.CharField(_("講習コード"), max_length=32, blank=True)
    completed_on = models.DateField(_("修了日"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["record", "completed_on"]
        verbose_name = _("講習修了")
        constraints = [
            models.UniqueConstraint(
                fields=["record", "kind", "course_code", "completed_on"], name="course_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_id} {self.kind} {self.completed_on}"
