"""An SME's inquiry to a specialist and the engagement that may follow it.

`sent` → `accepted` | `declined` | `expired`; `accepted` → `consulting` →
`guidance_planned` → `in_guidance` → `completed` → `confirmed`; or `closed`
with an outcome reason from any open state. The rules live in
`inquiries.rules` (pure) and `inquiries.services` (the only writers).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InquiryState(models.TextChoices):
    SENT = "sent", _("返答待ち")
    ACCEPTED = "accepted", _("受諾")
    DECLINED = "declined", _("辞退")
    EXPIRED = "expired", _("期限切れ")
    CONSULTING = "consulting", _("個別相談済み")
    GUIDANCE_PLANNED = "guidance_planned", _("訪問指導の計画済み")
    IN_GUIDANCE = "in_guidance", _("訪問指導中")
    COMPLETED = "completed", _("完了報告済み")
    CONFIRMED = "confirmed", _("完了確認済み")
    CLOSED = "closed", _("終了")


class CloseReason(models.TextChoices):
    NO_LONGER_NEEDED = "no_longer_needed", _("必要がなくなった")
    COST = "cost", _("費用が合わない")
    CHOSE_ANOTHER = "chose_another", _("別の専門家に依頼した")
    SCHEDULE = "schedule", _("日程が合わない")
    NO_RESPONSE = "no_response", _("相手と連絡が取れない")
    OTHER = "other", _("その他")


class DeclineReason(models.TextChoices):
    CAPACITY = "capacity", _("対応できる件数を超えている")
    OUT_OF_SCOPE = "out_of_scope", _("相談内容が専門外")
    AREA = "area", _("対応地域外")
    SCHEDULE = "schedule", _("日程が合わない")
    OTHER = "other", _("その他")


class PreferredForm(models.TextChoices):
    """The service forms of the Active List, plus "either"."""

    VISIT = "visit", _("訪問")
    ONLINE = "online", _("オンライン")
    EITHER = "either", _("どちらでもよい")


class Inquiry(models.Model):
    listing = models.ForeignKey(
        "listings.Listing", on_delete=models.PROTECT, related_name="inquiries"
    )
    # The account that sent it: an SME, or an institution acting for one.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inquiries_sent"
    )
    # Set when an institution refers a company (the 相談会 path); the SME
    # account, if the company has one, can then follow and confirm it too.
    referred_by_institution = models.BooleanField(default=False)
    sme_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inquiries_as_company",
    )
    company_name = models.CharField(_("会社名"), max_length=100)
    contact_name = models.CharField(_("担当者名"), max_length=100)
    contact_email = models.EmailField(_("連絡先メールアドレス"))
    # prefecture, industry, employees, it_dependence, customer_demand (as in the diagnosis)
    company_profile = models.JSONField(_("会社の情報"), default=dict, blank=True)
    theme = models.PositiveSmallIntegerField(_("相談したいテーマ"), null=True, blank=True)
    preferred_form = models.CharField(
        _("希望する支援形態"), max_length=16, choices=PreferredForm.choices
    )
    message = models.TextField(_("相談内容"))
    wants_free_first_session = models.BooleanField(_("初回は無料の相談を希望する"), default=False)
    state = models.CharField(
        max_length=20, choices=InquiryState.choices, default=InquiryState.SENT, db_index=True
    )
    decline_reason = models.CharField(
        _("辞退の理由"), max_length=20, choices=DeclineReason.choices, blank=True
    )
    close_reason = models.CharField(
        _("終了の理由"), max_length=20, choices=CloseReason.choices, blank=True
    )
    state_note = models.TextField(_("理由の補足"), blank=True)
    completion_report = models.TextField(_("完了報告"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    # No answer by then: `expire-inquiries` moves it to expired.
    answer_by = models.DateTimeField(_("返答期限"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("相談の依頼")
        verbose_name_plural = _("相談の依頼")
        indexes = [models.Index(fields=["listing", "state"])]
        constraints = [
            # A second click on "send" finds the first inquiry still waiting.
            models.UniqueConstraint(
                fields=["sender", "listing", "company_name"],
                condition=models.Q(state="sent"),
                name="one_waiting_inquiry_per_company_and_specialist",
            )
        ]

    def __str__(self) -> str:
        return f"inquiry {self.pk} {self.company_name} → {self.listing_id} ({self.state})"


class InquiryTransition(models.Model):
    """Every state change, in order: who, when, from what, to what, why."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    actor_label = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.inquiry_id}: {self.from_state or '-'} → {self.to_state}"


class Consultation(models.Model):
    """The individual consultation (個別相談): the issues found and their priorities."""

    inquiry = models.OneToOneField(Inquiry, on_delete=models.CASCADE, related_name="consultation")
    held_on = models.DateField(_("実施日"))
    form = models.CharField(_("実施形態"), max_length=16, choices=PreferredForm.choices[:2])
    issues = models.TextField(_("見つかった課題"))
    priorities = models.TextField(_("優先して取り組むこと"))
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"consultation for inquiry {self.inquiry_id}"


class GuidancePlan(models.Model):
    """Visiting guidance (訪問指導): one theme, three visits."""

    inquiry = models.OneToOneField(Inquiry, on_delete=models.CASCADE, related_name="plan")
    theme = models.PositiveSmallIntegerField(_("指導テーマ"))
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"guidance plan for inquiry {self.inquiry_id} (theme {self.theme})"


class GuidanceVisit(models.Model):
    plan = models.ForeignKey(GuidancePlan, on_delete=models.CASCADE, related_name="visits")
    number = models.PositiveSmallIntegerField(_("回"))
    # One of the theme's achievement goals (reference GuidanceTheme.goals).
    goal = models.CharField(_("この回の目標"), max_length=200)
    scheduled_on = models.DateField(_("予定日"))
    form = models.CharField(_("実施形態"), max_length=16, choices=PreferredForm.choices[:2])
    held_on = models.DateField(_("実施日"), null=True, blank=True)
    notes = models.TextField(_("実施内容"), blank=True)
    goal_achieved = models.BooleanField(_("目標を達成した"), null=True, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="one_visit_per_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=3), name="visit_number_1_to_3"
            ),
        ]

    def __str__(self) -> str:
        return f"visit {self.number} of plan {self.plan_id}"


class CompletionConfirmation(models.Model):
    """The company's confirmation that the guidance was done: the client's
    certification of the work, kept as evidence of practical experience
    (deemed attendance). A snapshot, so it survives later edits elsewhere;
    never deleted (PROTECT), never edited after creation."""

    inquiry = models.OneToOneField(Inquiry, on_delete=models.PROTECT, related_name="confirmation")
    registration_number = models.CharField(max_length=6, db_index=True)
    specialist_name = models.CharField(max_length=100)
    company_name = models.CharField(max_length=100)
    theme = models.PositiveSmallIntegerField()
    # [{"number", "goal", "held_on", "goal_achieved"}] as confirmed.
    visits = models.JSONField()
    completion_report = models.TextField()
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # An institution confirming for a company without an account says so.
    confirmed_on_behalf = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"confirmation of inquiry {self.inquiry_id} ({self.registration_number})"
