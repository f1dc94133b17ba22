"""Deemed attendance (みなし受講): certified practical work that counts instead
of the period's practical course at renewal (seed 003, III-2 ③).

An application belongs to one registry record and one period (identified by
the expiry date it was made for). Its credit, once approved, is a registry
`CourseCompletion` of kind `deemed`, so every place that reads the course
status counts it; revoking the credit deletes that completion.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DeemedStatus(models.TextChoices):
    AWAITING_CERTIFICATION = "awaiting_certification", _("証明者の確認待ち")
    CERTIFICATION_DECLINED = "certification_declined", _("証明者が証明を辞退")
    SUBMITTED = "submitted", _("審査待ち")
    INFO_REQUESTED = "info_requested", _("追加情報の依頼中")
    APPROVED = "approved", _("承認")
    REJECTED = "rejected", _("却下")
    # Found false by the sample audit, approved or not yet.
    REVOKED = "revoked", _("取消（虚偽申請）")
    WITHDRAWN = "withdrawn", _("取下げ")


# States in which the application still holds the period: a second one is refused.
HOLDING_STATES = (
    DeemedStatus.AWAITING_CERTIFICATION,
    DeemedStatus.SUBMITTED,
    DeemedStatus.INFO_REQUESTED,
    DeemedStatus.APPROVED,
)
# States the operator still has to decide.
PENDING_STATES = (DeemedStatus.SUBMITTED, DeemedStatus.INFO_REQUESTED)


class CertifierRelation(models.TextChoices):
    EMPLOYER = "employer", _("所属組織（勤務先）")
    CLIENT = "client", _("顧客（独立して業務を行う場合）")


class AuditState(models.TextChoices):
    NONE = "", _("対象外")
    UNDER_AUDIT = "under_audit", _("サンプル調査中")
    CONFIRMED = "confirmed", _("調査の結果、事実と確認")
    FALSE = "false", _("調査の結果、虚偽と判明")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DeemedApplication(models.Model):
    record = models.ForeignKey(
        "registry.RegistryRecord", on_delete=models.PROTECT, related_name="deemed_applications"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deemed_applications"
    )
    # The period the application is for, named by its last day (RegistryRecord.expires_on).
    period_expires_on = models.DateField(_("対象期間の有効期限"))
    syllabus_item = models.ForeignKey(
        "reference.SyllabusItem",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("シラバスの小項目"),
    )
    organisation = models.CharField(_("業務を行った組織"), max_length=100)
    relation = models.CharField(
        _("証明する組織との関係"), max_length=16, choices=CertifierRelation.choices
    )
    role = models.CharField(_("担当した役割"), max_length=100)
    work_started_on = models.DateField(_("業務の開始日"))
    work_ended_on = models.DateField(_("業務の終了日"))
    hours = models.PositiveSmallIntegerField(_("従事時間（時間）"))
    work_summary = models.CharField(_("業務の名称・概要"), max_length=200)
    description = models.TextField(_("業務の内容（ご自身の言葉で）"))
    certifier_name = models.CharField(_("証明者の氏名"), max_length=64)
    certifier_title = models.CharField(_("証明者の役職"), max_length=64)
    certifier_organisation = models.CharField(_("証明者の組織"), max_length=100)
    certifier_email = models.EmailField(_("証明者のメールアドレス"))
    # The Active List engagement whose company confirmation is the certification.
    confirmation = models.OneToOneField(
        "inquiries.CompletionConfirmation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deemed_application",
        verbose_name=_("アクティブリストの完了確認"),
    )
    oath_text = models.TextField(_("宣誓文"))
    oath_signed_at = models.DateTimeField(_("宣誓日時"))
    # Another application whose description is too similar (flag for the operator).
    similar_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    similarity = models.FloatField(_("類似度"), null=True, blank=True)
    # similarity.fingerprint(description): the description never changes once applied.
    fingerprint = models.BinaryField(editable=False, default=b"")
    status = models.CharField(_("状態"), max_length=24, choices=DeemedStatus.choices, db_index=True)
    certified_at = models.DateTimeField(_("証明日時"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("審査開始日時"), null=True, blank=True)
    # The open question to the applicant, and the one answer it allows.
    info_request = models.TextField(_("追加情報の依頼"), blank=True)
    info_response = models.TextField(_("追加情報の回答"), blank=True)
    decided_at = models.DateTimeField(_("決定日時"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_reason = models.TextField(_("決定の理由"), blank=True)
    # The registry credit written on approval; cleared when it is revoked.
    credit = models.OneToOneField(
        "registry.CourseCompletion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deemed_application",
    )
    audit_state = models.CharField(
        _("サンプル調査"), max_length=16, choices=AuditState.choices, blank=True, default=""
    )
    audit_draw = models.ForeignKey(
        "AuditDraw", on_delete=models.PROTECT, null=True, blank=True, related_name="applications"
    )
    audit_evidence = models.TextField(_("調査への回答・証跡"), blank=True)
    audit_note = models.TextField(_("調査結果のメモ"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("みなし受講申請")
        constraints = [
            models.UniqueConstraint(
                fields=["record", "period_expires_on"],
                condition=models.Q(status__in=[s.value for s in HOLDING_STATES]),
                name="deemed_one_per_period",
            ),
            models.CheckConstraint(
                condition=models.Q(work_started_on__lte=models.F("work_ended_on")),
                name="deemed_work_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["status", "period_expires_on"])]

    def __str__(self) -> str:
        return f"deemed application {self.pk} ({self.record_id})"

    @property
    def reference(self) -> str:
        """The number quoted in mail, on the form and in the registry credit."""
        return f"D{self.pk:06d}"


class CertificationRequest(models.Model):
    """The e-mailed single-use link a certifier answers without an account.

    Only the SHA-256 of the token is stored. Answering it records the time and
    a keyed hash of the address the answer came from.
    """

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("証明した")
        DECLINED = "declined", _("証明を辞退した")

    application = models.ForeignKey(
        DeemedApplication, on_delete=models.CASCADE, related_name="certifications"
    )
    email = models.EmailField(_("送信先"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("有効期限"))
    used_at = models.DateTimeField(_("回答日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    confirmed_name = models.CharField(_("証明者の氏名"), max_length=64, blank=True)
    confirmed_title = models.CharField(_("証明者の役職"), max_length=64, blank=True)
    decline_reason = models.TextField(_("辞退の理由"), blank=True)
    address_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("業務証明の依頼")

    def __str__(self) -> str:
        return f"certification {self.pk} of application {self.application_id}"


class DeemedEvent(models.Model):
    """The history of one application, as the applicant and operators see it."""

    application = models.ForeignKey(
        DeemedApplication, on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action} {self.at:%Y-%m-%d}"


class AuditDraw(models.Model):
    """One reproducible sample draw: the seed, the population and what was drawn.

    `population` is the sorted list of eligible application ids at the time;
    re-running `random.Random(seed).sample(population, len(drawn))` gives `drawn`.
    """

    seed = models.BigIntegerField(_("乱数の種"))
    rate = models.DecimalField(_("抽出率"), max_digits=4, decimal_places=3)
    population = models.JSONField(_("母集団"))
    drawn = models.JSONField(_("抽出結果"))
    drawn_at = models.DateTimeField(default=timezone.now)
    drawn_by = models.CharField(_("実施者"), max_length=100)

    class Meta:
        ordering = ["-drawn_at", "-id"]
        verbose_name = _("サンプル調査の抽出")

    def __str__(self) -> str:
        return f"audit draw {self.pk} (seed {self.seed}, {len(self.drawn)}/{len(self.population)})"


class RevocationCase(models.Model):
    """The record that opens the revocation procedure after a false claim.

    The registration itself is revoked (registry status 取消) only by an
    operator's explicit, audited action on this case (法第19条第2項).
    """

    class State(models.TextChoices):
        OPEN = "open", _("手続中")
        REGISTRATION_REVOKED = "registration_revoked", _("登録を取消")
        CLOSED = "closed", _("取消なしで終了")

    application = models.OneToOneField(
        DeemedApplication, on_delete=models.PROTECT, related_name="revocation_case"
    )
    state = models.CharField(max_length=24, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    finding = models.TextField(_("判明した事実"))
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome_note = models.TextField(_("結果"), blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("登録取消の手続")

    def __str__(self) -> str:
        return f"revocation case {self.pk} ({self.state})"
