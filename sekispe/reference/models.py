"""Code lists that listings and the registry point at. Codes are primary keys,
so through tables carry the public codes (JIS "13", JSIC "E", syllabus "1-4")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceForm(models.TextChoices):
    VISIT = "visit", _("訪問コンサルティング")
    ONLINE = "online", _("オンラインコンサルティング")
    TRAINING = "training", _("講習・研修")
    PRODUCT = "product", _("セキュリティ製品の選定・導入支援")


class Affiliation(models.TextChoices):
    SOLE = "sole", _("個人事業主")
    COMPANY = "company", _("企業所属")


class SyllabusSource(models.TextChoices):
    # Labels are codes, not prose: pages word the notice themselves.
    REPORT_003 = "003", "003"
    SEKISPE = "sekispe", "sekispe"


class RegionBlock(models.Model):
    code = models.CharField(max_length=16, primary_key=True)
    name = models.CharField(max_length=16)
    name_en = models.CharField(max_length=32)
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["order"]
        verbose_name = _("地方ブロック")

    def __str__(self) -> str:
        return self.name


class Prefecture(models.Model):
    code = models.CharField(max_length=2, primary_key=True, help_text="JIS X 0401")
    name = models.CharField(max_length=8, unique=True)
    short_name = models.CharField(max_length=8)
    name_en = models.CharField(max_length=16)
    block = models.ForeignKey(RegionBlock, on_delete=models.PROTECT, related_name="prefectures")

    class Meta:
        ordering = ["code"]
        verbose_name = _("都道府県")

    def __str__(self) -> str:
        return self.name


class Industry(models.Model):
    code = models.CharField(max_length=1, primary_key=True, help_text="JSIC major group")
    name = models.CharField(max_length=64)
    name_en = models.CharField(max_length=96)

    class Meta:
        ordering = ["code"]
        verbose_name = _("業種")

    def __str__(self) -> str:
        return self.name


class SyllabusMajor(models.Model):
    code = models.CharField(max_length=1, primary_key=True)
    name = models.CharField(max_length=64)
    name_en = models.CharField(max_length=96)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SyllabusItem(models.Model):
    code = models.CharField(max_length=5, primary_key=True)
    major = models.ForeignKey(SyllabusMajor, on_delete=models.PROTECT, related_name="items")
    name = models.CharField(max_length=64)
    name_en = models.CharField(max_length=96)
    order = models.PositiveSmallIntegerField()
    # 概要, 要求される知識, 要求される技能 (reference.data.SYLLABUS_DETAILS).
    summary = models.TextField(blank=True, default="")
    knowledge = models.JSONField(default=list, blank=True)
    skills = models.JSONField(default=list, blank=True)
    # "003": the items are listed in 003; "sekispe": sekispe's own summary of
    # the IPA syllabus, which pages must say and point to the official text.
    source = models.CharField(max_length=16, choices=SyllabusSource.choices, blank=True, default="")

    class Meta:
        ordering = ["order"]
        verbose_name = _("シラバス小項目")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def summarised_by_sekispe(self) -> bool:
        return self.source == SyllabusSource.SEKISPE


class GuidanceTheme(models.Model):
    code = models.PositiveSmallIntegerField(primary_key=True)
    name = models.CharField(max_length=64)
    short_name = models.CharField(max_length=32)
    name_en = models.CharField(max_length=96)
    # Exactly three achievement goals, one per guidance visit.
    goals = models.JSONField(default=list)
    syllabus_items = models.ManyToManyField(SyllabusItem, related_name="themes")

    class Meta:
        ordering = ["code"]
        verbose_name = _("指導テーマ")

    def __str__(self) -> str:
        return f"{self.code}. {self.name}"


class SupportPeriod(models.Model):
    code = models.CharField(max_length=8, primary_key=True)
    name = models.CharField(max_length=16)
    name_en = models.CharField(max_length=32)
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["order"]
        verbose_name = _("支援可能期間")

    def __str__(self) -> str:
        return self.name


class Qualification(models.Model):
    code = models.CharField(max_length=16, primary_key=True)
    name = models.CharField(max_length=32)
    name_en = models.CharField(max_length=64)
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["order"]
        verbose_name = _("他資格")

    def __str__(self) -> str:
        return self.name
