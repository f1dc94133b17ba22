"""The operators' notice form. It only parses and validates; views call the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import PlainLabelForm
from sekispe.pages.models import Notice


def _field(name: str) -> Any:
    return Notice._meta.get_field(name)


class NoticeForm(PlainLabelForm):
    title = forms.CharField(label=_field("title").verbose_name, max_length=120)
    body = forms.CharField(
        label=_field("body").verbose_name,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        help_text=_("書式のない文章です。改行はそのまま表示されます。"),
    )
    published_at = forms.DateTimeField(
        label=_field("published_at").verbose_name,
        help_text=_field("published_at").help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    until = forms.DateField(
        label=_field("until").verbose_name,
        help_text=_field("until").help_text,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        published_at, until = data.get("published_at"), data.get("until")
        if published_at and until and until < published_at.date():
            self.add_error("until", _("表示の最終日は、公開日時の日付以降にしてください。"))
        return data
