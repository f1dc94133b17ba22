"""The consultation-event pages' forms. They parse and check what was typed;
`events.services` decides whether the write is allowed and makes it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import PlainLabelForm, with_blank
from sekispe.diagnosis import services as diagnosis_services
from sekispe.events import services
from sekispe.events.models import MAX_CAPACITY
from sekispe.inquiries.forms import theme_choices, theme_label
from sekispe.inquiries.models import PreferredForm
from sekispe.listings.models import Listing
from sekispe.reference import data

UNDECIDED = "undecided"
OTHER = "other"


def _themes_field(label: Any, codes: list[int], *, required: bool) -> forms.Field:
    return forms.TypedMultipleChoiceField(
        label=label,
        coerce=int,
        required=required,
        choices=[(str(c), theme_label(c)) for c in codes],
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("テーマを1つ以上選んでください。"),
            "invalid_choice": _("テーマを選び直してください。"),
        },
    )


# ------------------------------------------------------------------ events


class EventForm(PlainLabelForm):
    title = forms.CharField(
        label=_("相談会の名前"),
        max_length=100,
        help_text=_("例：中小企業のための情報セキュリティ個別相談会"),
        error_messages={"required": _("相談会の名前を入力してください。")},
    )
    held_on = forms.DateField(
        label=_("開催日"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("開催日を入力してください。"),
            "invalid": _("日付は 2026-04-01 のように入力してください。"),
        },
    )
    starts_at = forms.TimeField(
        label=_("開始時刻（任意）"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("時刻は 13:30 のように入力してください。")},
    )
    ends_at = forms.TimeField(
        label=_("終了時刻（任意）"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("時刻は 16:00 のように入力してください。")},
    )
    place = forms.CharField(
        label=_("会場"),
        max_length=200,
        required=False,
        help_text=_("会場の名前と所在地。オンラインのみの場合は空欄でかまいません。"),
    )
    online = forms.BooleanField(label=_("オンラインで開催する（会場と併用も可）"), required=False)
    capacity = forms.IntegerField(
        label=_("定員（社）"),
        min_value=1,
        max_value=MAX_CAPACITY,
        help_text=_("定員に達すると、申し込みリンクからの申し込みを締め切ります。"),
        error_messages={
            "required": _("定員を入力してください。"),
            "invalid": _("定員は数字で入力してください。"),
            "min_value": _("定員は1社以上にしてください。"),
            "max_value": _("定員は%(limit_value)s社以下にしてください。"),
        },
    )
    description = forms.CharField(
        label=_("案内文（任意）"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("申し込みページに表示されます。持ち物や当日の流れなど。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["themes"] = _themes_field(
            _("相談できるテーマ"), [t.code for t in data.GUIDANCE_THEMES], required=True
        )
        self.fields["themes"].error_messages["required"] = _(
            "相談できるテーマを1つ以上選んでください。"
        )
        # Keep the themes after the capacity, before the description.
        order = ["title", "held_on", "starts_at", "ends_at", "place", "online", "capacity"]
        self.order_fields([*order, "themes", "description"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not (cleaned.get("place") or "").strip() and not cleaned.get("online"):
            self.add_error(
                "place", _("会場を入力するか、オンラインで開催することを選んでください。")
            )
        start, end = cleaned.get("starts_at"), cleaned.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", _("終了時刻は開始時刻より後にしてください。"))
        return cleaned

    def details(self) -> services.EventDetails:
        d = self.cleaned_data
        return services.EventDetails(
            title=d["title"],
            held_on=d["held_on"],
            capacity=d["capacity"],
            themes=tuple(d["themes"]),
            place=d["place"],
            online=d["online"],
            starts_at=d["starts_at"],
            ends_at=d["ends_at"],
            description=d["description"],
        )

    @staticmethod
    def initial_from(event: Any) -> dict[str, Any]:
        return {
            "title": event.title,
            "held_on": event.held_on,
            "starts_at": event.starts_at,
            "ends_at": event.ends_at,
            "place": event.place,
            "online": event.online,
            "capacity": event.capacity,
            "themes": [str(t) for t in event.themes],
            "description": event.description,
        }


# ------------------------------------------------------------ participants


class ParticipantForm(PlainLabelForm):
    """A company taking part: registered by the staff, or by itself through
    the public link (`public=True` adds the consent to share the details)."""

    company_name = forms.CharField(
        label=_("会社名"),
        max_length=100,
        error_messages={"required": _("会社名を入力してください。")},
    )
    contact_name = forms.CharField(
        label=_("担当者名"),
        max_length=100,
        error_messages={"required": _("担当者名を入力してください。")},
    )
    email = forms.EmailField(
        label=_("メールアドレス"),
        error_messages={
            "required": _("メールアドレスを入力してください。"),
            "invalid": _("メールアドレスの形式で入力してください。"),
        },
    )
    phone = forms.RegexField(
        label=_("電話番号（任意）"),
        required=False,
        max_length=20,
        regex=r"^[0-9０-９+\-ー－() ]*$",
        error_messages={"invalid": _("電話番号は数字とハイフンで入力してください。")},
    )

    def __init__(self, *args: Any, event: Any, public: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["prefecture"] = forms.ChoiceField(
            label=_("所在地（都道府県）"),
            choices=[("", _("選んでください")), *((p.code, p.name) for p in data.PREFECTURES)],
            error_messages={"required": _("所在地の都道府県を選んでください。")},
        )
        self.fields["industry"] = forms.ChoiceField(
            label=_("業種（任意）"),
            required=False,
            choices=with_blank((c, ja) for c, ja, _en in data.INDUSTRIES),
        )
        self.fields["employees"] = forms.ChoiceField(
            label=_("従業員数（任意）"),
            required=False,
            choices=with_blank(diagnosis_services.EMPLOYEE_BANDS),
        )
        self.fields["themes"] = _themes_field(
            _("関心のあるテーマ（任意・複数可）"), list(event.themes), required=False
        )
        self.fields["themes"].help_text = _(
            "まだ分からない場合は選ばなくてかまいません。当日、専門家と一緒に考えます。"
        )
        if public:
            self.fields["agree"] = forms.BooleanField(
                label=_(
                    "入力した内容を、主催する支援機関と、紹介を受ける専門家に提供することに同意します。"
                ),
                error_messages={"required": _("申し込むには、同意にチェックを入れてください。")},
            )

    def details(self) -> services.ParticipantDetails:
        d = self.cleaned_data
        return services.ParticipantDetails(
            company_name=d["company_name"],
            contact_name=d["contact_name"],
            email=d["email"],
            phone=d["phone"],
            prefecture=d["prefecture"],
            industry=d["industry"],
            employees=d["employees"],
            themes=tuple(d["themes"]),
        )


# ----------------------------------------------------------- consultations


class ConsultationForm(PlainLabelForm):
    registration_number = forms.RegexField(
        label=_("担当した専門家の登録番号（任意）"),
        required=False,
        regex=r"^\d{6}$",
        max_length=6,
        help_text=_("登録セキスペの登録番号（6桁）。"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"invalid": _("登録番号は6桁の数字で入力してください。")},
    )
    theme = forms.TypedChoiceField(
        label=_("相談したテーマ（任意）"),
        required=False,
        coerce=int,
        empty_value=None,
    )
    notes = forms.CharField(
        label=_("見つかった課題"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("相談で分かった課題と、優先して取り組むことを書いてください。"),
        error_messages={"required": _("見つかった課題を記入してください。")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "consult")
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = with_blank(theme_choices())


# --------------------------------------------------------------- referrals


class ReferralForm(PlainLabelForm):
    """Refer the company to a specialist: chosen from the shortlist, or by
    registration number. The specialist must be on the Active List now."""

    specialist = forms.CharField(
        label=_("紹介する専門家"),
        widget=forms.RadioSelect,
        error_messages={"required": _("紹介する専門家を選んでください。")},
    )
    registration_number = forms.CharField(
        label=_("登録番号で指定する場合の登録番号"),
        required=False,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        help_text=_(
            "上の一覧にいない専門家を紹介するときは、「登録番号で指定する」を選んで入力してください。"
        ),
    )
    theme = forms.ChoiceField(
        label=_("相談するテーマ"),
        widget=forms.RadioSelect,
        error_messages={"required": _("相談するテーマを選んでください。")},
    )
    preferred_form = forms.ChoiceField(
        label=_("希望する支援形態"),
        choices=PreferredForm.choices,
        widget=forms.RadioSelect,
        initial=PreferredForm.EITHER.value,
        error_messages={"required": _("希望する支援形態を選んでください。")},
    )
    message = forms.CharField(
        label=_("専門家へのメッセージ"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "相談会で分かった課題や、会社の希望を書いてください。会社の情報は自動で添えます。"
        ),
        error_messages={"required": _("専門家へのメッセージを入力してください。")},
    )
    wants_free_first_session = forms.BooleanField(
        label=_("初回は無料の相談を希望する"), required=False
    )

    def __init__(
        self, *args: Any, shortlist: list[dict[str, Any]], participant: Any, **kwargs: Any
    ) -> None:
        kwargs.setdefault("prefix", "refer")
        super().__init__(*args, **kwargs)
        choices = [(row["registration_number"], row["name"]) for row in shortlist]
        choices.append((OTHER, _("登録番号で指定する")))
        self.fields["specialist"].widget.choices = choices
        if not shortlist:
            self.fields["specialist"].initial = OTHER
        self.fields["theme"].choices = [*theme_choices(), (UNDECIDED, _("まだ決まっていない"))]
        if participant.themes:
            self.fields["theme"].initial = str(participant.themes[0])
        self.listing: Listing | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        chosen = cleaned.get("specialist")
        if not chosen:
            return cleaned
        number = (cleaned.get("registration_number") or "").strip() if chosen == OTHER else chosen
        if chosen == OTHER and not number:
            self.add_error("registration_number", _("紹介する専門家の登録番号を入力してください。"))
            return cleaned
        if not (len(number) == 6 and number.isdecimal()):
            field = "registration_number" if chosen == OTHER else "specialist"
            self.add_error(field, _("登録番号は6桁の数字で入力してください。"))
            return cleaned
        self.listing = services.visible_listing(number)
        if self.listing is None:
            field = "registration_number" if chosen == OTHER else "specialist"
            self.add_error(
                field, _("この登録番号の専門家は、現在アクティブリストに掲載されていません。")
            )
        return cleaned

    def request(self) -> services.ReferralRequest:
        d = self.cleaned_data
        theme = d["theme"]
        return services.ReferralRequest(
            theme=None if theme == UNDECIDED else int(theme),
            preferred_form=d["preferred_form"],
            message=d["message"],
            wants_free_first_session=d["wants_free_first_session"],
        )
