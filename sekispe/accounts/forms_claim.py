"""Forms of the claim pages: a registration number, and the contact-change request.

The claim form has no e-mail field on purpose: the link only ever goes to
the registry's address, so an `email` posted by hand is never read.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from sekispe.accounts.claim import normalize_number
from sekispe.accounts.models import ContactChangeRequest, normalize_email
from sekispe.core.forms import TextRuleMixin


def _number_field() -> forms.CharField:
    return forms.CharField(
        label=_("登録番号"),
        help_text=_("6桁の数字です。登録証に記載されています。"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )


def _clean_number(value: str) -> str:
    number = normalize_number(value)
    if not (len(number) == 6 and number.isascii() and number.isdigit()):
        raise ValidationError(_("登録番号は6桁の数字で入力してください。"), code="format")
    return number


class ClaimForm(TextRuleMixin, forms.Form):
    registration_number = _number_field()

    def clean_registration_number(self) -> str:
        return _clean_number(self.cleaned_data["registration_number"])


class ContactChangeForm(TextRuleMixin, forms.ModelForm):
    registration_number = _number_field()

    class Meta:
        model = ContactChangeRequest
        fields = ["registration_number", "name", "name_kana", "new_email", "phone", "reason"]
        labels = {"new_email": _("届け出る新しいメールアドレス")}
        help_texts = {
            "name_kana": _("全角カタカナで入力してください。"),
            "phone": _("本人確認のため、運営者からお電話することがあります。"),
            "reason": _(
                "例：登録時のメールアドレスを使わなくなった、登録簿にメールアドレスがない など"
            ),
        }
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "name_kana": forms.TextInput(attrs={"autocomplete": "off"}),
            "new_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
            "reason": forms.Textarea(attrs={"rows": 4}),
        }

    def clean_registration_number(self) -> str:
        return _clean_number(self.cleaned_data["registration_number"])

    def clean_new_email(self) -> str:
        return normalize_email(self.cleaned_data["new_email"])


class ContactChangeDecisionForm(TextRuleMixin, forms.Form):
    APPLY = "apply"
    DISMISS = "dismiss"
    decision = forms.ChoiceField(
        label=_("対応"),
        choices=[
            (APPLY, _("本人確認ができたので、登録簿のメールアドレスを更新する")),
            (DISMISS, _("対応しない（本人確認ができない、重複など）")),
        ],
        # The two submit buttons post it.
        widget=forms.HiddenInput,
    )
    note = forms.CharField(
        label=_("メモ（本人確認の方法など）"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
