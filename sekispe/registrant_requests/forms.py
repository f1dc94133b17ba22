"""Forms of the post-registration requests, the operator's decision and the queue filter.

A request form is also the payload validator: `services.submit_request` runs
the kind's form over the payload it is given, so a request filed from a page,
from a test or from a future API is checked by the same rules. Each form
declares only what its kind may change; anything else a client posts never
reaches the service.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import TextRuleMixin
from sekispe.listings.forms import phone_validator
from sekispe.reference.models import Prefecture
from sekispe.registrant_requests.models import DeregistrationReason, RequestKind, RequestStatus
from sekispe.registry.models import PublishedItem, RegistryRecord

MAX_NOTE_CHARS = 1000
# Full-width katakana, the prolonged sound mark, the middle dot and spaces (after NFKC).
KANA_RE = re.compile(r"^[\u30a0-\u30ff ]+$")


class CardReissueReason(models.TextChoices):
    LOST = "lost", _("紛失")
    DAMAGED = "damaged", _("汚損・破損")
    OTHER = "other", _("その他")


class LogoMedium(models.TextChoices):
    WEBSITE = "website", _("ウェブサイト")
    BROCHURE = "brochure", _("パンフレット・チラシ")
    BUSINESS_CARD = "business_card", _("名刺")
    RECRUITMENT = "recruitment", _("採用活動")
    OTHER = "other", _("その他")


def _note(label: Any, *, required: bool = False, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_NOTE_CHARS,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class RequestForm(TextRuleMixin, forms.Form):
    """One kind's form. `to_payload()` gives the JSON stored on the request."""

    def __init__(self, data: Any = None, *, record: RegistryRecord, **kwargs: Any) -> None:
        # Japanese labels read without a trailing colon.
        kwargs.setdefault("label_suffix", "")
        self.record = record
        super().__init__(data, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = _required_message(field)

    def to_payload(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class RenewalForm(RequestForm):
    """No fields: the renewal application is a button. The payload records the
    period it renews, so the decision can be checked against the record."""

    def to_payload(self) -> dict[str, Any]:
        return {"expires_on": self.record.expires_on.isoformat()}


class DetailsChangeForm(RequestForm):
    name = forms.CharField(label=_("新しい氏名"), max_length=64)
    name_kana = forms.CharField(
        label=_("新しい氏名（カナ）"),
        max_length=128,
        help_text=_("全角カタカナで入力してください。姓と名の間は空白で区切ります。"),
    )
    reason = _note(
        _("変更の理由"),
        required=True,
        help_text=_("例：婚姻により姓が変わったため。戸籍の記載に合わせる場合はその旨も。"),
    )

    def clean_name(self) -> str:
        return _squash_spaces(self.cleaned_data["name"])

    def clean_name_kana(self) -> str:
        kana = _squash_spaces(unicodedata.normalize("NFKC", self.cleaned_data["name_kana"]))
        if not KANA_RE.match(kana):
            raise forms.ValidationError(_("氏名（カナ）は全角カタカナで入力してください。"))
        return kana

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            cleaned.get("name") == self.record.name
            and cleaned.get("name_kana") == self.record.name_kana
        ):
            raise forms.ValidationError(
                _("氏名・氏名（カナ）が現在の登録内容と同じです。変更後の内容を入力してください。")
            )
        return cleaned


class ContactChangeForm(RequestForm):
    """Only the fields present in the data are changes: the page posts all three,
    a caller of the service may pass just the one it changes."""

    email = forms.EmailField(label=_("メールアドレス"), required=False)
    phone = forms.CharField(
        label=_("電話番号"), required=False, max_length=32, validators=[phone_validator]
    )
    home_prefecture = forms.ChoiceField(
        label=_("自宅の都道府県"),
        required=False,
        help_text=_("都道府県の変更は事務局が確認してから反映されます。"),
    )

    FIELDS = ("email", "phone", "home_prefecture")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["home_prefecture"].choices = [
            ("", _("選んでください")),
            *Prefecture.objects.order_by("code").values_list("code", "name"),
        ]

    @classmethod
    def initial_for(cls, record: RegistryRecord) -> dict[str, Any]:
        return {
            "email": record.email,
            "phone": record.phone,
            "home_prefecture": record.home_prefecture_id,
        }

    def current(self, name: str) -> str:
        if name == "home_prefecture":
            return self.record.home_prefecture_id or ""
        return getattr(self.record, name) or ""

    def clean_home_prefecture(self) -> str:
        value = self.cleaned_data["home_prefecture"]
        if "home_prefecture" in self.data and not value:
            raise forms.ValidationError(_("自宅の都道府県を選んでください。"))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not self.to_payload():
            raise forms.ValidationError(
                _("変更された項目がありません。変更後の連絡先を入力してください。")
            )
        return cleaned

    def to_payload(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in self.FIELDS
            if name in self.data
            and name in self.cleaned_data
            and self.cleaned_data[name] != self.current(name)
        }


class PublicationForm(RequestForm):
    published_items = forms.MultipleChoiceField(
        label=_("公開する項目"),
        choices=PublishedItem.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "チェックした項目が登録セキスペ検索サービスに表示されます。"
            "何もチェックしなければ、次の常に公開される項目だけが表示されます。"
        ),
    )

    @classmethod
    def initial_for(cls, record: RegistryRecord) -> dict[str, Any]:
        return {"published_items": list(record.published_items or [])}

    def clean_published_items(self) -> list[str]:
        chosen = set(self.cleaned_data["published_items"])
        # Stored in the choices' order, so the same choice always compares equal.
        return [value for value in PublishedItem.values if value in chosen]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        current = [v for v in PublishedItem.values if v in (self.record.published_items or [])]
        if cleaned.get("published_items") == current:
            raise forms.ValidationError(
                _("公開する項目が現在と同じです。変更したい項目のチェックを付け外ししてください。")
            )
        return cleaned


class CardReissueForm(RequestForm):
    reason = forms.ChoiceField(
        label=_("再発行の理由"), choices=CardReissueReason.choices, widget=forms.RadioSelect
    )
    note = _note(
        _("補足（任意）"),
        help_text=_("「その他」を選んだ場合は、理由を書いてください。"),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("reason") == CardReissueReason.OTHER and not cleaned.get("note"):
            self.add_error("note", _("「その他」を選んだ場合は、理由を書いてください。"))
        return cleaned


class DeregistrationForm(RequestForm):
    reason = forms.ChoiceField(
        label=_("消除の理由"), choices=DeregistrationReason.choices, widget=forms.RadioSelect
    )
    note = _note(_("補足（任意）"))


class DeathForm(RequestForm):
    date_of_death = forms.DateField(
        label=_("死亡日"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    filer_name = forms.CharField(label=_("届出人の氏名"), max_length=64)
    filer_relationship = forms.CharField(
        label=_("届出人と登録者の関係"), max_length=32, help_text=_("例：配偶者、長男")
    )

    def clean_date_of_death(self) -> Any:
        day = self.cleaned_data["date_of_death"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("死亡日に未来の日付は指定できません。"))
        return day

    def to_payload(self) -> dict[str, Any]:
        return {
            "date_of_death": self.cleaned_data["date_of_death"].isoformat(),
            "filer_name": self.cleaned_data["filer_name"],
            "filer_relationship": self.cleaned_data["filer_relationship"],
        }


class BadgeLoanForm(RequestForm):
    note = _note(
        _("補足（任意）"),
        help_text=_("使用する予定の行事や期間など、事務局に伝えたいことがあれば書いてください。"),
    )


class LogoUseForm(RequestForm):
    intended_use = _note(
        _("利用目的"),
        required=True,
        help_text=_("どこで、どのようにロゴを使うかを具体的に書いてください。"),
    )
    medium = forms.ChoiceField(
        label=_("利用する媒体"), choices=LogoMedium.choices, widget=forms.RadioSelect
    )


class DecisionForm(TextRuleMixin, forms.Form):
    """The operator's decision: the two submit buttons post `decision`."""

    APPROVE = "approve"
    REJECT = "reject"

    decision = forms.ChoiceField(
        choices=[(APPROVE, _("承認")), (REJECT, _("却下"))],
        required=False,
        widget=forms.HiddenInput,
    )
    comment = forms.CharField(
        label=_("登録者へのコメント"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("登録者にメールでそのまま届きます。却下する場合は理由を必ず書いてください。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        decision = cleaned.get("decision")
        if not decision:
            raise forms.ValidationError(_("「承認する」か「却下する」を押してください。"))
        if decision == self.REJECT and not cleaned.get("comment", "").strip():
            self.add_error("comment", _("却下する場合は、理由をコメントに書いてください。"))
        return cleaned


ALL = "all"


class QueueFilterForm(TextRuleMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("種別"), required=False, choices=[("", _("すべて")), *RequestKind.choices]
    )
    status = forms.ChoiceField(
        label=_("状態"),
        required=False,
        choices=[*RequestStatus.choices, (ALL, _("すべて"))],
    )
    fiscal_year = forms.TypedChoiceField(
        label=_("年度"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, years: list[int], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["fiscal_year"].choices = [
            ("", _("すべて")),
            *((year, gettext("%(year)s年度") % {"year": year}) for year in years),
        ]


def _required_message(field: forms.Field) -> str:
    """「…を選んでください」 for choices, 「…を入力してください」 otherwise, instead of Django's generic message."""
    if isinstance(field, forms.ChoiceField):
        return gettext("%(label)sを選んでください。") % {"label": field.label}
    return gettext("%(label)sを入力してください。") % {"label": field.label}


def _squash_spaces(value: str) -> str:
    return " ".join(value.replace("\u3000", " ").split())


# Each request kind's form, in one place for `kinds`.
FORM_CLASSES: dict[str, type[RequestForm]] = {
    RequestKind.RENEWAL: RenewalForm,
    RequestKind.DETAILS_CHANGE: DetailsChangeForm,
    RequestKind.CONTACT_CHANGE: ContactChangeForm,
    RequestKind.PUBLICATION: PublicationForm,
    RequestKind.CARD_REISSUE: CardReissueForm,
    RequestKind.DEREGISTRATION: DeregistrationForm,
    RequestKind.DEATH: DeathForm,
    RequestKind.BADGE_LOAN: BadgeLoanForm,
    RequestKind.LOGO_USE: LogoUseForm,
}
