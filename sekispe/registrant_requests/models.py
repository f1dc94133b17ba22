"""Requests a registrant files after registration (届出・申請), and the renewal application.

Every kind shares one workflow, submitted → approved or rejected with the
operator's comment, so they share one model. What each kind asks for lives in
`payload`; `sekispe.registrant_requests.kinds` validates it and applies it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestKind(models.TextChoices):
    RENEWAL = "renewal", _("更新申請")
    DETAILS_CHANGE = "details_change", _("登録事項変更届")
    CONTACT_CHANGE = "contact_change", _("連絡先変更届")
    PUBLICATION = "publication", _("公開届")
    CARD_REISSUE = "card_reissue", _("登録証再発行届")
    DEREGISTRATION = "deregistration", _("消除届")
    DEATH = "death", _("死亡届")
    BADGE_LOAN = "badge_loan", _("徽章貸与申請")
    LOGO_USE = "logo_use", _("ロゴ利用申請")


# The eight kinds of 000's table of requests after registration, in its order.
POST_REGISTRATION_KINDS: tuple[str, ...] = (
    RequestKind.DETAILS_CHANGE,
    RequestKind.CARD_REISSUE,
    RequestKind.CONTACT_CHANGE,
    RequestKind.PUBLICATION,
    RequestKind.DEREGISTRATION,
    RequestKind.DEATH,
    RequestKind.BADGE_LOAN,
    RequestKind.LOGO_USE,
)
# Filed by an operator on behalf of the family, never by the registrant.
OPERATOR_FILED_KINDS: tuple[str, ...] = (RequestKind.DEATH,)


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("審査中")
    APPROVED = "approved", _("承認")
    REJECTED = "rejected", _("却下")


class DeregistrationReason(models.TextChoices):
    COST = "cost", _("費用負担が重い")
    COURSE_BURDEN = "course_burden", _("講習受講の負担が大きい")
    NOT_NEEDED = "not_needed", _("業務で資格が必要なくなった")
    EMPLOYER = "employer", _("勤務先の方針")
    RETIREMENT = "retirement", _("退職・引退")
    OTHER = "other", _("その他")


class RegistrantRequest(models.Model):
    record = models.ForeignKey(
        "registry.RegistryRecord",
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name=_("登録者"),
    )
    kind = models.CharField(_("種別"), max_length=16, choices=RequestKind.choices)
    status = models.CharField(
        _("状態"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED
    )
    payload = models.JSONField(_("内容"), default=dict, blank=True)
    # Fiscal year of submission: the annual report counts requests per kind per year.
    fiscal_year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    submitted_at = models.DateTimeField(_("提出日時"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("判断日時"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operator_comment = models.TextField(_("事務局からのコメント"), blank=True)
    # Approved on submission by the contact-change rule, without an operator.
    auto_applied = models.BooleanField(_("即時反映"), default=False)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("登録後の申請・届出")
        constraints = [
            # A second open request of the same kind would race the first on approval.
            models.UniqueConstraint(
                fields=["record", "kind"],
                condition=models.Q(status="submitted"),
                name="one_open_request_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.record_id} {self.get_status_display()}"
