"""The specialist's self-service forms.

Only self-declared items are declared here, so anything else a client posts
(registration number, name, expiry, status…) never reaches the service layer.
Choices come from `reference.data`, the same tuples the reference tables are
synced from, with labels in the active language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import TextRuleMixin
from sekispe.listings.lifecycle import GATED_FIELDS, ListingChanges
from sekispe.listings.models import Availability, Listing
from sekispe.reference import data
from sekispe.reference.labels import labels
from sekispe.reference.models import Affiliation

MAX_FEE_YEN = 10_000_000
MAX_TEXT_CHARS = 4000
MAX_CAPACITY = 20
FORM_CODES = tuple(code for code, _name, _en in data.SERVICE_FORMS)

phone_validator = RegexValidator(
    r"^\+?[0-9()\- ]{6,32}$",
    _("電話番号は数字とハイフンで入力してください（例：03-1234-5678）。"),
)


class AccessibleFormMixin:
    """Links each input to its help, note and error text with aria-describedby.

    Templates render the texts with the ids built here, so a screen reader
    announces the error and the help when the input gets focus.
    """

    # Fields that carry a note (the review warning), rendered with id "<auto_id>_note".
    notes: frozenset[str] = frozenset()

    def describe(self) -> None:
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            bound = self[name]  # type: ignore[index]
            ids = []
            if bound.errors:
                ids.append(f"{bound.auto_id}_error")
            if field.help_text:
                ids.append(f"{bound.auto_id}_help")
            if name in self.notes:
                ids.append(f"{bound.auto_id}_note")
            attrs = field.widget.attrs
            attrs.pop("aria-invalid", None)
            attrs.pop("aria-describedby", None)
            # Option groups carry the ids on their <fieldset> (see me/_choices.html).
            if ids and not isinstance(field.widget, forms.RadioSelect):
                attrs["aria-describedby"] = " ".join(ids)
            if bound.errors:
                attrs["aria-invalid"] = "true"

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self.describe()

    def error_list(self) -> list[tuple[str, str, str]]:
        """(anchor id, label, message) for the error summary at the top of the page."""
        items: list[tuple[str, str, str]] = []
        for message in self.non_field_errors():  # type: ignore[attr-defined]
            items.append(("", "", message))
        for name, errors in self.errors.items():  # type: ignore[attr-defined]
            if name == "__all__":
                continue
            bound = self[name]  # type: ignore[index]
            anchor = bound.auto_id
            if isinstance(self.fields[name].widget, forms.RadioSelect):  # type: ignore[attr-defined]
                anchor = f"{bound.auto_id}_group"
            for message in errors:
                items.append((anchor, str(bound.label), message))
        return items


def _checkboxes(label: Any, choices: list[tuple[Any, str]], **kwargs: Any) -> forms.Field:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        **kwargs,
    )


class ListingForm(TextRuleMixin, AccessibleFormMixin, forms.Form):
    """Every self-declared item of a listing, grouped as in 003's mock table."""

    # (a) 支援内容
    themes = forms.TypedMultipleChoiceField(
        label=_("支援実績のある指導テーマ"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    syllabus_items = _checkboxes(_("支援実績のある業務（指導テーマ以外、シラバス小項目）"), [])
    industries = _checkboxes(_("支援実績のある業界"), [])
    prefectures = _checkboxes(_("支援地域"), [])
    periods = _checkboxes(_("支援可能期間"), [])
    first_free = forms.BooleanField(label=_("初回相談を無料で受け付ける"), required=False)

    # (b) 支援形態と料金: offer_<form> and fee_<form> per service form, added in __init__.

    # (c) 資格・所属
    qualifications = _checkboxes(_("他資格の保有状況"), [])
    other_qualifications = forms.CharField(
        label=_("その他の資格"),
        max_length=200,
        required=False,
        help_text=_("上の一覧にない資格があれば、読点（、）で区切って入力してください。"),
    )
    affiliation = forms.ChoiceField(
        label=_("所属形態"), choices=Affiliation.choices, widget=forms.RadioSelect
    )
    company_name = forms.CharField(
        label=_("所属企業名"),
        max_length=100,
        required=False,
        help_text=_("企業所属の場合は必須です。"),
    )
    employer_permits_outside_work = forms.BooleanField(
        label=_("勤務先が、社外での中小企業支援活動（兼業・副業）を認めている"),
        required=False,
        help_text=_(
            "企業所属の方は、勤務先が社外での支援活動を認めている場合（または勤務先自身が"
            "中小企業の支援を業務としている場合）にチェックしてください。"
            "企業所属でチェックがない場合は掲載基準を満たしません。"
        ),
    )

    # (d) 連絡先
    email = forms.EmailField(
        label=_("連絡用メールアドレス"),
        max_length=254,
        required=False,
        help_text=_("公開ページに表示されます。ログイン用のアドレスと同じでなくてもかまいません。"),
    )
    phone = forms.CharField(
        label=_("電話番号"), max_length=32, required=False, validators=[phone_validator]
    )
    web = forms.URLField(
        label=_("ウェブサイト"), max_length=200, required=False, assume_scheme="https"
    )

    # (e) プロフィールと実績
    profile = forms.CharField(
        label=_("プロフィール"),
        max_length=MAX_TEXT_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    track_record = forms.CharField(
        label=_("具体的な支援実績"),
        max_length=MAX_TEXT_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "支援した企業の業種・規模や内容など。企業名は先方の了承がある場合のみ記載してください。"
        ),
    )

    def __init__(
        self, *args: Any, published: bool = False, min_profile_chars: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        lab = labels()
        self.fields["themes"].choices = [
            (t.code, f"{t.code}. {lab.theme[t.code]}") for t in data.GUIDANCE_THEMES
        ]
        self.fields["syllabus_items"].choices = [
            (code, f"{code} {lab.syllabus[code]}") for code, _ja, _en in data.SYLLABUS_ITEMS
        ]
        self.fields["industries"].choices = [
            (code, lab.industry[code]) for code, _ja, _en in data.INDUSTRIES
        ]
        self.fields["prefectures"].choices = [(p.code, lab.pref[p.code]) for p in data.PREFECTURES]
        self.fields["periods"].choices = [
            (code, lab.period[code]) for code, _ja, _en in data.SUPPORT_PERIODS
        ]
        self.fields["qualifications"].choices = [
            (code, lab.qualification[code]) for code, _ja, _en in data.QUALIFICATIONS
        ]
        if min_profile_chars:
            self.fields["profile"].help_text = _(
                "掲載基準：空白を除いて%(n)d文字以上。得意分野、支援の進め方、対応できる内容などを書いてください。"
            ) % {"n": min_profile_chars}
        for code in FORM_CODES:
            name = lab.form[code]
            self.fields[f"offer_{code}"] = forms.BooleanField(label=name, required=False)
            self.fields[f"fee_{code}"] = forms.IntegerField(
                label=_("%(form)sの料金（1回あたり・円）") % {"form": name},
                min_value=0,
                max_value=MAX_FEE_YEN,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
            )
        # The review note only matters while published: elsewhere nothing is live to pause.
        self.published = published
        self.notes = frozenset(GATED_FIELDS & set(self.fields)) if published else frozenset()
        self.describe()

    @classmethod
    def initial_for(cls, listing: Listing) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(listing, name)
            for name in (
                "first_free",
                "other_qualifications",
                "affiliation",
                "company_name",
                "employer_permits_outside_work",
                "email",
                "phone",
                "web",
                "profile",
                "track_record",
            )
        }
        for name in ("themes", "syllabus_items", "industries", "prefectures", "periods",
                     "qualifications"):  # fmt: skip
            initial[name] = list(getattr(listing, name).values_list("pk", flat=True))
        for form, fee in listing.offers.values_list("form", "fee_yen"):
            initial[f"offer_{form}"] = True
            initial[f"fee_{form}"] = fee
        return initial

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("affiliation") == Affiliation.COMPANY and not cleaned.get("company_name"):
            self.add_error("company_name", _("企業所属の場合は所属企業名を入力してください。"))
        for code in FORM_CODES:
            # An invalid fee already has its own error; only a missing one gets this.
            fee_missing = f"fee_{code}" not in self.errors and cleaned.get(f"fee_{code}") is None
            if cleaned.get(f"offer_{code}") and fee_missing:
                self.add_error(
                    f"fee_{code}",
                    _("チェックした支援形態の料金を入力してください（無料の場合は0）。"),
                )
        return cleaned

    def offer_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"offer_{code}"], self[f"fee_{code}"]) for code in FORM_CODES]

    def _groups(self, name: str, groups: list[tuple[str, list[Any]]]) -> list[tuple[str, list]]:
        by_value = {str(option.data["value"]): option for option in self[name]}
        return [(label, [by_value[str(c)] for c in codes]) for label, codes in groups]

    def syllabus_groups(self) -> list[tuple[str, list]]:
        english = (get_language() or "").startswith("en")
        majors = [
            (f"{code} {en if english else ja}",
             [c for c, _n, _e in data.SYLLABUS_ITEMS if c.split("-")[0] == code])
            for code, ja, en in data.SYLLABUS_MAJORS
        ]  # fmt: skip
        return self._groups("syllabus_items", majors)

    def prefecture_groups(self) -> list[tuple[str, list]]:
        lab = labels()
        blocks = [
            (lab.block[b.code], [p.code for p in data.PREFECTURES if p.block == b.code])
            for b in data.BLOCKS
        ]
        return self._groups("prefectures", blocks)

    def to_changes(self) -> ListingChanges:
        c = self.cleaned_data
        values = {
            name: c[name]
            for name in ("first_free", "affiliation", "employer_permits_outside_work", "email",
                         "phone", "web")
        }  # fmt: skip
        # A sole proprietor's leftover company name is never shown; leaving it
        # alone keeps an unrelated save from counting as a gated change.
        if c["affiliation"] == Affiliation.COMPANY:
            values["company_name"] = c["company_name"]
        for name in ("other_qualifications", "profile", "track_record"):
            # Browsers post textarea line breaks as CRLF; an untouched text must
            # compare equal to the stored one, or a gated item (track record)
            # would send a published listing back to review on every save.
            text = c[name].replace("\r\n", "\n")
            if _normalised(text) != _normalised(self.initial.get(name) or ""):
                values[name] = text
        sets = {
            "themes": set(c["themes"]),
            "syllabus_items": set(c["syllabus_items"]),
            "industries": set(c["industries"]),
            "prefectures": set(c["prefectures"]),
            "periods": set(c["periods"]),
            "qualifications": set(c["qualifications"]),
        }
        fees = {code: c[f"fee_{code}"] for code in FORM_CODES if c.get(f"offer_{code}")}
        return ListingChanges(values=values, sets=sets, fees=fees)


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


class AvailabilityForm(TextRuleMixin, AccessibleFormMixin, forms.Form):
    availability = forms.ChoiceField(
        label=_("新しい相談の受付"), choices=Availability.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("受付停止の理由（任意）"),
        max_length=200,
        required=False,
        help_text=_("公開はされません。運営者が状況を把握するために使います。"),
    )
    resumes_on = forms.DateField(
        label=_("受付再開日（任意）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_(
            "受付停止中のみ有効です。指定した日に自動で「受付中」に戻ります。明日以降の日付を指定してください。"
        ),
    )
    capacity = forms.IntegerField(
        label=_("同時に対応できる案件数"), min_value=1, max_value=MAX_CAPACITY
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        self.today = today
        super().__init__(*args, **kwargs)
        self.describe()

    @classmethod
    def initial_for(cls, listing: Listing) -> dict[str, Any]:
        not_accepting = listing.availability == Availability.NOT_ACCEPTING
        until = listing.availability_until
        return {
            "availability": listing.availability,
            "reason": listing.not_accepting_reason if not_accepting else "",
            # Stored as the last day of the pause; the form speaks of the day work resumes.
            "resumes_on": until + dt.timedelta(days=1) if not_accepting and until else None,
            "capacity": listing.capacity,
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        resumes_on = cleaned.get("resumes_on")
        accepting = cleaned.get("availability") == Availability.ACCEPTING
        if resumes_on is not None and not accepting and resumes_on <= self.today:
            self.add_error("resumes_on", _("受付再開日は明日以降の日付を指定してください。"))
        return cleaned

    @property
    def accepting(self) -> bool:
        return self.cleaned_data["availability"] == Availability.ACCEPTING
