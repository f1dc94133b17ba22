"""Forms of the operators' bulk invitation and mailing pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import PlainLabelForm
from sekispe.onboarding.models import MailingKind, Segment
from sekispe.onboarding.services import InvitationFilters
from sekispe.reference.models import Prefecture
from sekispe.registry.models import DisasterMeasure, RegistryStatus


class InvitationFilterForm(PlainLabelForm):
    mark_required_fields = False

    status = forms.ChoiceField(
        label=_("登録の状態"), required=False, choices=[("", _("すべて")), *RegistryStatus.choices]
    )
    cohort = forms.RegexField(
        label=_("登録の期（例：2024-04、2024-10）"),
        required=False,
        regex=r"^\d{4}-(04|10)$",
        error_messages={
            "invalid": _("登録の期は「2024-04」または「2024-10」の形で入力してください。")
        },
    )
    prefecture = forms.ModelChoiceField(
        label=_("都道府県"),
        required=False,
        queryset=Prefecture.objects.all(),
        empty_label=_("すべて"),
    )
    expires_from = forms.DateField(
        label=_("有効期限（から）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    expires_to = forms.DateField(
        label=_("有効期限（まで）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    no_account = forms.BooleanField(label=_("アカウントがない人だけ"), required=False, initial=True)
    no_listing = forms.BooleanField(label=_("掲載情報がない人だけ"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("expires_from"), data.get("expires_to")
        if start and end and start > end:
            self.add_error(
                "expires_to", _("有効期限（まで）は有効期限（から）以降の日付にしてください。")
            )
        return data

    def filters(self) -> InvitationFilters:
        data = self.cleaned_data
        prefecture = data.get("prefecture")
        return InvitationFilters(
            status=data.get("status") or "",
            cohort=data.get("cohort") or "",
            prefecture=prefecture.pk if prefecture else "",
            expires_from=data.get("expires_from"),
            expires_to=data.get("expires_to"),
            no_account=bool(data.get("no_account")),
            no_listing=bool(data.get("no_listing")),
        )


class MailingForm(PlainLabelForm):
    kind = forms.ChoiceField(label=_("種類"), choices=MailingKind.choices, widget=forms.RadioSelect)
    segment = forms.ChoiceField(label=_("宛先"), choices=Segment.choices, widget=forms.RadioSelect)
    measure = forms.ModelChoiceField(
        label=_("災害特例（宛先が災害特例の対象地域のとき）"),
        required=False,
        queryset=DisasterMeasure.objects.order_by("-created_at"),
    )
    subject = forms.CharField(label=_("件名"), max_length=200)
    body = forms.CharField(
        label=_("本文（プレーンテキスト）"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 14}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("segment") == Segment.DISASTER_AREA and not data.get("measure"):
            self.add_error("measure", _("災害特例を選んでください。"))
        if (
            data.get("segment") == Segment.PASSED_NOT_REGISTERED
            and data.get("kind") == MailingKind.NEWS
        ):
            self.add_error("kind", _("登録していない合格者には、法定のお知らせだけを送れます。"))
        return data
