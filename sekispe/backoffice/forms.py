"""Back-office forms. They only parse and validate; the views call the services.

Fields are rendered with `as_field_group`, which in Django 5.2 links each
widget to its help text and error list with `aria-describedby`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sekispe.accounts.models import normalize_email
from sekispe.backoffice.services import CRITERIA_FIELDS
from sekispe.core.forms import TextRuleMixin
from sekispe.listings.models import ListingCriteria, ListingStatus
from sekispe.registry.models import RegistryStatus


class OpsForm(TextRuleMixin, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Japanese labels read without a trailing colon.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _any(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", _("すべて")), *choices]


class ListingSearchForm(OpsForm):
    q = forms.CharField(
        label=_("登録番号・氏名・カナ"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(
        label=_("掲載状態"), required=False, choices=_any(ListingStatus.choices)
    )
    freshness = forms.ChoiceField(
        label=_("更新からの経過"),
        required=False,
        choices=_any(
            [
                ("stale", _("180日以上更新なし（更新のお願いの対象）")),
                ("hidden", _("365日以上更新なし（検索に表示されません）")),
            ]
        ),
    )


class RegistrySearchForm(OpsForm):
    q = forms.CharField(
        label=_("登録番号・氏名・カナ"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(
        label=_("登録の状態"), required=False, choices=_any(RegistryStatus.choices)
    )


class SendBackForm(OpsForm):
    message = forms.CharField(
        label=_("差し戻しの理由"),
        help_text=_(
            "登録セキスペ本人にメールでそのまま届きます。直してほしい点を具体的に書いてください。"
        ),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("差し戻しの理由を入力してください。")},
    )


class SuspendForm(OpsForm):
    reason = forms.CharField(
        label=_("掲載停止の理由"),
        help_text=_("登録セキスペ本人にメールでそのまま届きます。"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("掲載停止の理由を入力してください。")},
    )


class InviteForm(OpsForm):
    email = forms.EmailField(
        label=_("招待を送るメールアドレス"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text=_("招待リンクは一度だけ使えます。以前に送った未使用の招待は無効になります。"),
    )

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


class StaffAccountForm(OpsForm):
    """An account an operator creates for someone outside the registry; the
    owner sets a password through the mailed link."""

    organization = forms.CharField(label=_("団体名"), max_length=100)
    display_name = forms.CharField(label=_("担当者名"), max_length=100)
    email = forms.EmailField(
        label=_("担当者のメールアドレス"),
        max_length=254,
        help_text=_("このアドレスに、パスワードを設定するためのリンクをお送りします。"),
    )

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


class InstitutionForm(StaffAccountForm):
    pass


class AnalystForm(StaffAccountForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].label = _("所属")
        self.fields["organization"].help_text = _("例：経済産業省 サイバーセキュリティ課")
        self.fields["display_name"].label = _("氏名")
        self.fields["email"].label = _("メールアドレス")


class CriteriaForm(TextRuleMixin, forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    class Meta:
        model = ListingCriteria
        fields = CRITERIA_FIELDS
        help_texts = {
            "min_themes": _("0 にするとこの基準を確認しません。"),
            "min_regions": _("0 にするとこの基準を確認しません。"),
            "min_profile_chars": _("空白を除いた文字数です。0 にするとこの基準を確認しません。"),
        }

    BOOLEAN_FIELDS = (
        "require_active_registration",
        "require_courses_current",
        "require_contact",
        "require_employer_permission",
    )
    NUMBER_FIELDS = ("min_themes", "min_regions", "min_profile_chars")

    def boolean_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.BOOLEAN_FIELDS]

    def number_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.NUMBER_FIELDS]
