"""The Active List listing: the specialist's own opt-in profile (self-declared)."""

from __future__ import annotations

import datetime as dt

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from sekispe.reference.models import Affiliation, ServiceForm
from sekispe.registry.models import RegistryStatus, valid_on


class Availability(models.TextChoices):
    ACCEPTING = "accepting", _("受付中")
    NOT_ACCEPTING = "not_accepting", _("受付停止中")


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    SUBMITTED = "submitted", _("審査待ち")
    PUBLISHED = "published", _("掲載中")
    SUSPENDED = "suspended", _("掲載停止")
    WITHDRAWN = "withdrawn", _("掲載取り下げ")


# Freshness rules (003: listings must stay fresh to be trusted).
STALE_AFTER_DAYS = 180
HIDDEN_AFTER_DAYS = 365


def stale_cutoff(today: dt.date, days: int) -> dt.datetime:
    """The instant before which an update counts as older than `days` days on `today`."""
    day = today - dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def is_stale(updated_at: dt.datetime, today: dt.date) -> bool:
    return updated_at < stale_cutoff(today, STALE_AFTER_DAYS)


class ListingQuerySet(models.QuerySet["Listing"]):
    def visible(self, today: dt.date | None = None) -> ListingQuerySet:
        """The one rule for public visibility.

        Published, the registry record active and not run out (past expiry
        and any disaster extension), and updated
        within HIDDEN_AFTER_DAYS. Dates are compared here rather than flipped
        by the daily job alone, so a lagging job never shows a lapsed
        registrant or a year-old listing.
        """
        today = today or timezone.localdate()
        return self.filter(
            valid_on(today, prefix="record__"),
            status=ListingStatus.PUBLISHED,
            record__status=RegistryStatus.ACTIVE,
            updated_at__gte=stale_cutoff(today, HIDDEN_AFTER_DAYS),
        )


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
    # The availability holds until this date (inclusive), then flips; for
    # "not accepting" the day after is when the specialist accepts again.
    availability_until = models.DateField(_("受付状況の期限"), null=True, blank=True)
    not_accepting_reason = models.CharField(_("受付停止の理由"), max_length=200, blank=True)
    capacity = models.PositiveSmallIntegerField(
        _("同時に対応できる案件数"), default=1, validators=[MinValueValidator(1)]
    )
    # 003: specialists whose employer forbids side work are not eligible.
    employer_permits_outside_work = models.BooleanField(
        _("勤務先が社外での支援活動（兼業）を認めている"), default=False
    )
    status = models.CharField(
        _("掲載状態"),
        max_length=16,
        choices=ListingStatus.choices,
        default=ListingStatus.DRAFT,
        db_index=True,
    )
    # The operator's last message or reason (send-back, suspension), shown to the specialist.
    status_note = models.TextField(_("運営者からのメッセージ"), blank=True)
    # Last update or confirmation by the specialist: freshness counts from here.
    updated_at = models.DateTimeField(_("最終更新日時"), default=timezone.now)
    # Set by the daily maintenance so each freshness e-mail goes out once per
    # stale spell; cleared by the next update.
    stale_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    hidden_notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ListingQuerySet.as_manager()
    history = HistoricalRecords(
        m2m_fields=["prefectures", "themes", "syllabus_items", "industries", "periods",
                    "qualifications"],
        excluded_fields=["stale_notified_at", "hidden_notified_at"],
    )  # fmt: skip

    class Meta:
        verbose_name = _("掲載情報")
        verbose_name_plural = _("掲載情報")

    def __str__(self) -> str:
        return f"{self.record}"

    def is_accepting(self, today: dt.date) -> bool:
        return effective_accepting(self.availability, self.availability_until, today)

    def is_stale(self, today: dt.date) -> bool:
        return is_stale(self.updated_at, today)


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

    history = HistoricalRecords()

    class Meta:
        ordering = ["listing", "form"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "form"], name="one_offer_per_form")
        ]

    def __str__(self) -> str:
        return f"{self.form}: {self.fee_yen}"


class ListingTransition(models.Model):
    """One change of a listing's status: who moved it, from where to where, and why."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=ListingStatus.choices)
    to_status = models.CharField(max_length=16, choices=ListingStatus.choices)
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("掲載状態の変更")
        verbose_name_plural = _("掲載状態の変更")

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.from_status} → {self.to_status}"


class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("審査待ち")
    APPROVED = "approved", _("承認済み")
    RETURNED = "returned", _("差し戻し")
    SUPERSEDED = "superseded", _("新しい変更に差し替え")
    CANCELLED = "cancelled", _("取りやめ")


class ListingRevision(models.Model):
    """A change to review-gated items of a live listing, kept apart until approved.

    The Listing row stays the last approved version, so search, the detail
    page and the API keep showing it while the change waits. `values` and
    `sets` hold the complete proposed state of every gated item (not a
    delta), so approving is a plain copy. A revision is never edited: a new
    proposal supersedes it. At most one per listing is open (closed_at is
    null): the pending one, or the returned one the specialist still sees.
    """

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="revisions")
    status = models.CharField(
        _("審査の状態"),
        max_length=16,
        choices=RevisionStatus.choices,
        default=RevisionStatus.PENDING,
        db_index=True,
    )
    values = models.JSONField(default=dict)
    sets = models.JSONField(default=dict)
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The operator's message when sent back, shown to the specialist.
    note = models.TextField(_("運営者からのメッセージ"), blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("審査待ちの変更")
        verbose_name_plural = _("審査待ちの変更")
        constraints = [
            models.UniqueConstraint(
                fields=["listing"],
                condition=models.Q(closed_at__isnull=True),
                name="one_open_revision_per_listing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.status}"


class ListingCriteria(models.Model):
    """The listing criteria (掲載基準), one row, editable by operators in the admin."""

    require_active_registration = models.BooleanField(_("登録が有効であること"), default=True)
    require_courses_current = models.BooleanField(
        _("今期の義務講習を受講済みであること"), default=True
    )
    min_themes = models.PositiveSmallIntegerField(_("指導テーマの最少数"), default=1)
    min_regions = models.PositiveSmallIntegerField(_("支援地域の最少数"), default=1)
    require_contact = models.BooleanField(_("連絡手段があること"), default=True)
    min_profile_chars = models.PositiveSmallIntegerField(_("プロフィールの最少文字数"), default=100)
    require_employer_permission = models.BooleanField(
        _("企業所属の場合、勤務先が兼業を認めていること"), default=True
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("掲載基準")
        verbose_name_plural = _("掲載基準")

    def __str__(self) -> str:
        return str(_("掲載基準"))

    @classmethod
    def current(cls) -> ListingCriteria:
        criteria, _created = cls.objects.get_or_create(pk=1)
        return criteria
