"""The Active List listing: the specialist's own opt-in profile (self-declared)."""

from __future__ import annotations

import datetime as dt

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sekispe.reference.models import Affiliation, ServiceForm
from sekispe.registry.models import RegistryStatus


class Availability(models.TextChoices):
    ACCEPTING = "accepting", _("受付中")
    NOT_ACCEPTING = "not_accepting", _("受付停止中")


class ListingQuerySet(models.QuerySet["Listing"]):
    def visible(self, today: dt.date | None = None) -> ListingQuerySet:
        """The one rule for public visibility: the registry record is active.

        An expiry date in the past hides the listing even before the daily
        expiry job has flipped the status, so a lagging job never shows a
        lapsed registrant.
        """
        today = today or timezone.localdate()
        return self.filter(record__status=RegistryStatus.ACTIVE, record__expires_on__gte=today)


class Listing(models.Model):
    record = models.OneToOneField(
        "registry.RegistryRecord", on_delete=models.CASCADE, related_name="listing"
    )
    prefectures = models.ManyToManyField(
        "reference.Prefecture", related_name="+", verbose_name=_("支援地域")
    )
    themes = models.ManyToManyField(
        "reference.GuidanceTheme", related_name="+", verbose_name=_("支援実績のある指導テーマ")
    )
    syllabus_items = models.ManyToManyField(
        "reference.SyllabusItem", related_name="+", blank=True,
        verbose_name=_("支援実績のある業務（シラバス小項目）"),
    )  # fmt: skip
    industries = models.ManyToManyField(
        "reference.Industry", related_name="+", blank=True, verbose_name=_("支援実績のある業界")
    )
    periods = models.ManyToManyField(
        "reference.SupportPeriod", related_name="+", blank=True, verbose_name=_("支援可能期間")
    )
    qualifications = models.ManyToManyField(
        "reference.Qualification", related_name="+", blank=True, verbose_name=_("他資格")
    )
    other_qualifications = models.CharField(_("その他の資格"), max_length=200, blank=True)
    first_free = models.BooleanField(_("初回相談無料"), default=False)
    affiliation = models.CharField(
        _("所属形態"), max_length=16, choices=Affiliation.choices, default=Affiliation.SOLE
    )
    company_name = models.CharField(_("所属企業名"), max_length=100, blank=True)
    email = models.EmailField(_("メールアドレス"), blank=True)
    phone = models.CharField(_("電話番号"), max_length=32, blank=True)
    web = models.URLField(_("ウェブサイト"), blank=True)
    profile = models.TextField(_("プロフィール"), blank=True)
    track_record = models.TextField(_("支援実績"), blank=True)
    availability = models.CharField(
        _("受付状況"), max_length=16, choices=Availability.choices, default=Availability.ACCEPTING
    )
    # The availability holds until this date (inclusive), then flips.
    availability_until = models.DateField(_("受付状況の期限"), null=True, blank=True)
    updated_at = models.DateTimeField(_("最終更新日時"), default=timezone.now)

    objects = ListingQuerySet.as_manager()

    class Meta:
        verbose_name = _("掲載情報")
        verbose_name_plural = _("掲載情報")

    def __str__(self) -> str:
        return f"{self.record}"

    def is_accepting(self, today: dt.date) -> bool:
        return effective_accepting(self.availability, self.availability_until, today)


def effective_accepting(availability: str, until: dt.date | None, today: dt.date) -> bool:
    accepting = availability == Availability.ACCEPTING
    if until is not None and today > until:
        return not accepting
    return accepting


class ServiceOffer(models.Model):
    """A service form the specialist offers, with its fee per visit or session."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="offers")
    form = models.CharField(_("支援形態"), max_length=16, choices=ServiceForm.choices)
    fee_yen = models.PositiveIntegerField(
        _("1回あたりの料金（円）"), validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["listing", "form"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "form"], name="one_offer_per_form")
        ]

    def __str__(self) -> str:
        return f"{self.form}: {self.fee_yen}"
