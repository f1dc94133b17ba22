"""Consultation events (相談会) run by support institutions, the companies that
take part, the individual consultations held there, and the referrals of those
companies to specialists.

Every row belongs to one institution account through `ConsultationEvent.owner`;
`events.services` is the only writer and scopes every lookup to that owner.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_CAPACITY = 1000


def new_signup_token() -> str:
    return secrets.token_urlsafe(24)


class ConsultationEvent(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="consultation_events",
        verbose_name=_("主催する支援機関のアカウント"),
    )
    title = models.CharField(_("相談会の名前"), max_length=100)
    held_on = models.DateField(_("開催日"))
    starts_at = models.TimeField(_("開始時刻"), null=True, blank=True)
    ends_at = models.TimeField(_("終了時刻"), null=True, blank=True)
    place = models.CharField(_("会場"), max_length=200, blank=True)
    online = models.BooleanField(_("オンラインで開催する"), default=False)
    capacity = models.PositiveSmallIntegerField(
        _("定員（社）"), validators=[MinValueValidator(1), MaxValueValidator(MAX_CAPACITY)]
    )
    # Guidance theme codes (reference data.GUIDANCE_THEMES), sorted, 1 to 5 of them.
    themes = models.JSONField(_("相談できるテーマ"), default=list)
    description = models.TextField(_("案内文"), blank=True)
    # The public sign-up link /events/join/<token>/; unguessable, so sharing it
    # is the only way in.
    signup_token = models.CharField(
        max_length=64, unique=True, default=new_signup_token, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("相談会")
        verbose_name_plural = _("相談会")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(capacity__gte=1), name="event_capacity_at_least_one"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.held_on})"


class RegisteredVia(models.TextChoices):
    STAFF = "staff", _("支援機関が登録")
    LINK = "link", _("申し込みリンクから")


class EventParticipant(models.Model):
    event = models.ForeignKey(
        ConsultationEvent, on_delete=models.CASCADE, related_name="participants"
    )
    company_name = models.CharField(_("会社名"), max_length=100)
    contact_name = models.CharField(_("担当者名"), max_length=100)
    # Stored lower-cased: one company signs up once per event.
    email = models.EmailField(_("メールアドレス"))
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    prefecture = models.CharField(_("所在地（都道府県）"), max_length=2)
    industry = models.CharField(_("業種"), max_length=1, blank=True)
    employees = models.CharField(_("従業員数"), max_length=8, blank=True)
    themes = models.JSONField(_("関心のあるテーマ"), default=list, blank=True)
    # Set when a signed-in SME account signs up through the link: referrals
    # are then sent for that account, which can follow and confirm them.
    sme_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="event_participations",
    )
    registered_via = models.CharField(_("登録の方法"), max_length=8, choices=RegisteredVia.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("相談会の参加企業")
        verbose_name_plural = _("相談会の参加企業")
        constraints = [
            models.UniqueConstraint(fields=["event", "email"], name="one_signup_per_email"),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} @ event {self.event_id}"


class IndividualConsultation(models.Model):
    """An individual consultation (個別相談) held at the event, recorded by the
    institution's staff: which specialist, which theme, what was found."""

    participant = models.ForeignKey(
        EventParticipant, on_delete=models.CASCADE, related_name="consultations"
    )
    # As typed; the listing is linked when that number is on the Active List.
    registration_number = models.CharField(_("専門家の登録番号"), max_length=6, blank=True)
    listing = models.ForeignKey(
        "listings.Listing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="event_consultations",
    )
    theme = models.PositiveSmallIntegerField(_("相談したテーマ"), null=True, blank=True)
    notes = models.TextField(_("見つかった課題"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("個別相談の記録")
        verbose_name_plural = _("個別相談の記録")

    def __str__(self) -> str:
        return f"consultation {self.pk} of participant {self.participant_id}"


class Referral(models.Model):
    """The institution referred this participant to a specialist: the inquiry it sent."""

    participant = models.ForeignKey(
        EventParticipant, on_delete=models.PROTECT, related_name="referrals"
    )
    inquiry = models.OneToOneField(
        "inquiries.Inquiry", on_delete=models.PROTECT, related_name="event_referral"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("専門家への紹介")
        verbose_name_plural = _("専門家への紹介")

    def __str__(self) -> str:
        return f"referral of participant {self.participant_id} → inquiry {self.inquiry_id}"
