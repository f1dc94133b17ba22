"""The registry: verified facts maintained by IPA. Specialists never edit these."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from sekispe.registry.rules import APPLICATION_DAYS_BEFORE_EXPIRY, card_colour

registration_number_validator = RegexValidator(
    r"^\d{6}$", _("登録番号は6桁の数字で入力してください。")
)


class RegistryStatus(models.TextChoices):
    ACTIVE = "active", _("登録中")
    EXPIRED = "expired", _("失効")
    DEREGISTERED = "deregistered", _("登録抹消")
    DECEASED = "deceased", _("死亡")
    # The minister's revocation (取消), e.g. after a false deemed-attendance claim:
    # only through registry.services.revoke_registration.
    REVOKED = "revoked", _("登録取消")


class PublishedItem(models.TextChoices):
    """Items a registrant may choose to show on the public search service (公開届).

    The registration number, renewal deadline, renewal count and practical-course
    history are always shown and so are not listed here.
    """

    NAME = "name", _("氏名")
    NAME_KANA = "name_kana", _("氏名（カナ）")
    BIRTH_YEAR = "birth_year", _("生年")
    HOME_PREFECTURE = "home_prefecture", _("自宅都道府県")
    REGISTERED_ON = "registered_on", _("登録年月日")
    EMAIL = "email", _("メールアドレス")


class ExamSeason(models.TextChoices):
    """The two sittings of the RISS exam a year (the statistics count passers by season)."""

    SPRING = "spring", _("春期")
    AUTUMN = "autumn", _("秋期")


class ExemptionBasis(models.TextChoices):
    """Why a registrant may register without passing the exam (000, the RISS chapter):
    completion of a course the METI minister approved (full exemption), or recognition
    under article 7 of the Act as at least as able as a passer."""

    APPROVED_COURSE = "approved_course", _("経済産業大臣が認定する講習の修了（試験の全部免除）")
    EQUIVALENT = (
        "equivalent",
        _(
            "試験に合格した者と同等以上の能力を有すると認められた者（情報処理の促進に関する法律第7条）"
        ),
    )


class CardColour(models.TextChoices):
    BLUE = "blue", _("ブルー")
    GOLD = "gold", _("ゴールド")


class CourseKind(models.TextChoices):
    COMMON = "common", _("共通講習（オンライン）")
    PRACTICAL = "practical", _("実践講習（IPA）")
    SPECIFIC = "specific", _("特定講習")
    # Deemed attendance: certified practical work approved by IPA. Written and
    # deleted only by registry.services.grant_deemed_credit / withdraw_deemed_credit.
    DEEMED = "deemed", _("みなし受講（実務経験）")


def valid_on(today: dt.date, prefix: str = "") -> models.Q:
    """Registration not run out on `today`: within the period, or within a
    disaster extension (valid until 60 days after the extended deadline)."""
    extended_from = today - dt.timedelta(days=APPLICATION_DAYS_BEFORE_EXPIRY)
    return models.Q(**{f"{prefix}expires_on__gte": today}) | models.Q(
        **{f"{prefix}extension_measure__new_deadline__gte": extended_from}
    )


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
    # Empty only for a registrant living overseas (`overseas`), who has no prefecture.
    home_prefecture = models.ForeignKey(
        "reference.Prefecture",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("自宅都道府県"),
    )
    overseas = models.BooleanField(_("海外在住"), default=False)
    # What the registration rests on, for the statistics of new registrations
    # (by exam season, exemption, employer industry). Set from the online
    # application (sekispe.intake); empty for imported records.
    exam_year = models.PositiveSmallIntegerField(_("合格した試験の年度"), null=True, blank=True)
    exam_season = models.CharField(
        _("合格した試験の期"), max_length=8, choices=ExamSeason.choices, blank=True
    )
    exemption_basis = models.CharField(
        _("試験免除の根拠"), max_length=16, choices=ExemptionBasis.choices, blank=True
    )
    employer_industry = models.ForeignKey(
        "reference.Industry",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("勤務先の業種"),
    )
    birth_year = models.PositiveSmallIntegerField(_("生年"), null=True, blank=True)
    email = models.EmailField(_("メールアドレス"), blank=True)
    phone = models.CharField(_("電話番号"), max_length=32, blank=True)
    published_items = models.JSONField(_("公開する項目"), default=list, blank=True)
    # Set while a disaster measure extends this registrant's deadlines; cleared on renewal.
    extension_measure = models.ForeignKey(
        "DisasterMeasure",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="records",
        verbose_name=_("適用中の災害特例"),
    )
    # Optional news mailings skip this registrant (a signed link in every such
    # mail sets it; statutory notices ignore it). A preference, not a registry fact.
    news_opt_out = models.BooleanField(_("任意のお知らせの配信停止"), default=False)
    # The day the registration ended by deregistration, death or revocation.
    ended_on = models.DateField(_("登録終了日"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["registration_number"]
        verbose_name = _("登録簿レコード")
        indexes = [models.Index(fields=["status", "expires_on"])]

    def __str__(self) -> str:
        return f"{self.registration_number} {self.name}"

    @property
    def card_colour(self) -> str:
        return CardColour(card_colour(self.renewal_count))

    def get_card_colour_display(self) -> str:
        return str(CardColour(self.card_colour).label)


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


class DisasterMeasure(models.Model):
    """A deadline extension for registrants whose home is in a disaster area.

    Registrants whose renewal-application deadline falls within
    [deadline_from, deadline_to] and whose home prefecture is listed get
    `new_deadline` as their application deadline; their registration stays
    valid until 60 days after it. Courses of the kinds in `waived_courses`
    that fall due on or after `deadline_from` in the current period are waived.
    """

    title = models.CharField(_("措置の名称"), max_length=100)
    prefectures = models.ManyToManyField(
        "reference.Prefecture", related_name="+", verbose_name=_("対象の都道府県")
    )
    deadline_from = models.DateField(_("対象となる更新申請期限（から）"))
    deadline_to = models.DateField(_("対象となる更新申請期限（まで）"))
    new_deadline = models.DateField(_("延長後の更新申請期限"))
    waived_courses = models.JSONField(_("免除する講習"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-deadline_from", "-id"]
        verbose_name = _("災害特例措置")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(deadline_from__lte=models.F("deadline_to")),
                name="disaster_range_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(new_deadline__gt=models.F("deadline_from")),
                name="disaster_deadline_later",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ReminderKind(models.TextChoices):
    DEADLINE_30 = "deadline_30", _("更新申請期限の30日前")
    DEADLINE_15 = "deadline_15", _("更新申請期限の15日前")
    COURSES = "courses", _("今年度の講習が未受講")


class ReminderState(models.TextChoices):
    PENDING = "pending", _("送信待ち")
    SENDING = "sending", _("送信中")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("送信失敗")


class Reminder(models.Model):
    """One reminder e-mail, claimed before it is sent so it is never sent twice.

    `key` names the occasion (the deadline date, or the fiscal year for a course
    reminder); the unique constraint makes a second run find the first run's row.
    A row left in `sending` means the process died between claiming and
    confirming: it is not retried, because the message may have gone out.
    """

    record = models.ForeignKey(RegistryRecord, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("種別"), max_length=16, choices=ReminderKind.choices)
    key = models.CharField(max_length=32)
    state = models.CharField(
        _("状態"), max_length=8, choices=ReminderState.choices, default=ReminderState.PENDING
    )
    email = models.EmailField(_("宛先"))
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("リマインダー")
        constraints = [
            models.UniqueConstraint(fields=["record", "kind", "key"], name="reminder_once")
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.record_id} {self.kind} {self.key} {self.state}"
