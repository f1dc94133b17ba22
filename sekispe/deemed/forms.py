"""Forms of deemed attendance: the specialist's application and answers, and
the certifier's two answers.

Forms check shapes (required, lengths, dates, numbers); the rules (the period,
the 400 characters, copied examples, the oath) belong to `services`, whose
`DeemedRefused` the views put back on the field it names. Required messages
say what to do, in the words of the field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import PlainLabelForm
from sekispe.deemed import services
from sekispe.deemed.models import CertifierRelation
from sekispe.listings.forms import AccessibleFormMixin
from sekispe.reference.models import SyllabusItem

DATE_WIDGET = {"attrs": {"type": "date"}, "format": "%Y-%m-%d"}
# The rule counts characters without spaces and line breaks (services); the
# field itself only stops a runaway paste.
DESCRIPTION_FIELD_MAX = services.DESCRIPTION_MAX_CHARS * 2
ANSWER_MAX_CHARS = 4000
OATH_ID = "oath-text"


def _required(field: forms.Field) -> str:
    if isinstance(field, forms.ChoiceField):
        return gettext("%(label)sを選んでください。") % {"label": field.label}
    return gettext("%(label)sを入力してください。") % {"label": field.label}


class DeemedForm(AccessibleFormMixin, PlainLabelForm):
    """Required messages in the field's words; help and errors linked to inputs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # A checkbox declares its own message: "…を入力してください" fits no box.
            if not isinstance(field, forms.BooleanField):
                field.error_messages["required"] = _required(field)
        self.describe()

    def describe(self) -> None:
        # A bound form is described after cleaning (AccessibleFormMixin.full_clean):
        # reading its errors here would clean it before a subclass sets its choices.
        if self.is_bound and self._errors is None:
            return
        # A BoundField copies its field's help text when first made: start afresh,
        # as a subclass may have changed fields since an earlier call.
        self._bound_fields_cache.clear()
        super().describe()

    def refuse(self, refused: services.DeemedRefused) -> None:
        """Put a service's refusal on the field it names (or on the form)."""
        field = refused.field if refused.field in self.fields else None
        if field is not None and self.fields[field].widget.is_hidden:
            field = None  # a hidden field has no place to show its error
        self.add_error(field, refused.message)
        self.describe()


def item_choices(items: list[SyllabusItem] | None = None) -> list[tuple[Any, Any]]:
    """Sub-items grouped by major item (1–4) for a <select> with <optgroup>s."""
    if items is None:
        items = list(SyllabusItem.objects.select_related("major").order_by("major", "order"))
    groups: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for item in items:
        label = f"{item.major.code} {item.major.name}"
        groups.setdefault(item.major.code, (label, []))[1].append(
            (item.code, f"{item.code} {item.name}")
        )
    return [("", _("選んでください")), *groups.values()]


class WorkForm(DeemedForm):
    """The work, its description and the oath: common to both ways of applying."""

    syllabus_item = forms.ChoiceField(label=_("シラバスの小項目"))
    organisation = forms.CharField(
        label=_("業務を行った組織"),
        max_length=100,
        help_text=_("業務の対象となった組織の名称（例：株式会社〇〇、〇〇市役所）。"),
    )
    relation = forms.ChoiceField(
        label=_("その組織とあなたの関係"),
        choices=CertifierRelation.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "勤務先の業務なら「所属組織」、独立して顧客から受けた業務なら「顧客」を選びます。"
            "証明するのはこの組織です。"
        ),
    )
    role = forms.CharField(
        label=_("担当した役割"),
        max_length=100,
        help_text=_("例：リスク分析の責任者、外部アドバイザー。"),
    )
    started_on = forms.DateField(label=_("業務の開始日"), widget=forms.DateInput(**DATE_WIDGET))
    ended_on = forms.DateField(label=_("業務の終了日"), widget=forms.DateInput(**DATE_WIDGET))
    hours = forms.IntegerField(
        label=_("従事時間（時間）"),
        min_value=1,
        max_value=services.MAX_HOURS,
        help_text=_("この業務に従事したおおよその合計時間。"),
    )
    work_summary = forms.CharField(
        label=_("業務の名称・概要"),
        max_length=200,
        help_text=_("一行で。例：取引先管理システムの情報セキュリティリスクアセスメント。"),
    )
    description = forms.CharField(
        label=_("業務の内容（ご自身の言葉で）"),
        max_length=DESCRIPTION_FIELD_MAX,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "何を目的に、どのような状況で、あなたが何を調べ、分析・評価し、助言・指導したか、"
            "その結果どうなったかを具体的に書いてください。"
            "文字数は空白と改行を除いて数え、%(min)d字以上%(max)d字以内が必要です"
            "（送信したときに数えます）。記載例を写した内容は受け付けられません。"
        )
        % {"min": services.DESCRIPTION_MIN_CHARS, "max": services.DESCRIPTION_MAX_CHARS},
    )
    oath = forms.BooleanField(
        label=_("上記の宣誓文を読み、その内容に同意して宣誓します"),
        error_messages={"required": _("宣誓に同意しないと申請できません。")},
    )

    def __init__(self, *args: Any, items: list[SyllabusItem] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["syllabus_item"].choices = item_choices(items)
        self.describe()

    def describe(self) -> None:
        super().describe()
        # The checkbox is described by the full oath printed next to it.
        if "oath" in self.fields:
            attrs = self.fields["oath"].widget.attrs
            ids = [OATH_ID, *attrs.get("aria-describedby", "").split()]
            attrs["aria-describedby"] = " ".join(ids)

    def work(self, **overrides: Any) -> services.WorkDeclaration:
        data = {**self.cleaned_data, **overrides}
        return services.WorkDeclaration(
            syllabus_item=data["syllabus_item"],
            organisation=data["organisation"],
            relation=data["relation"],
            role=data["role"],
            started_on=data["started_on"],
            ended_on=data["ended_on"],
            hours=data["hours"],
            work_summary=data["work_summary"],
            description=data["description"],
        )


class ApplicationForm(WorkForm):
    """A new application whose certifier is mailed a link."""

    certifier_name = forms.CharField(label=_("証明者の氏名"), max_length=64)
    certifier_title = forms.CharField(
        label=_("証明者の役職"),
        max_length=64,
        help_text=_("業務を証明できる立場の方（上長、部門長、顧客の担当役員など）。"),
    )
    certifier_organisation = forms.CharField(label=_("証明者の組織"), max_length=100)
    certifier_email = forms.EmailField(
        label=_("証明者のメールアドレス"),
        help_text=_("証明をお願いするリンクをこのアドレスに送ります（30日間有効、1回限り）。"),
    )

    WORK_FIELDS = (
        "organisation",
        "relation",
        "role",
        "started_on",
        "ended_on",
        "hours",
        "work_summary",
    )
    CERTIFIER_FIELDS = (
        "certifier_name",
        "certifier_title",
        "certifier_organisation",
        "certifier_email",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Chosen on the step before and carried in the page; a changed value is
        # checked by the service like any other.
        self.fields["syllabus_item"].widget = forms.HiddenInput()

    def certifier(self) -> services.Certifier:
        data = self.cleaned_data
        return services.Certifier(
            name=data["certifier_name"],
            title=data["certifier_title"],
            organisation=data["certifier_organisation"],
            email=data["certifier_email"],
        )


class ConfirmationApplicationForm(WorkForm):
    """From a confirmed Active List engagement: the company is the client and
    certifier, the dates come from the visits it confirmed."""

    WORK_FIELDS = ("role", "hours", "work_summary")

    def __init__(self, *args: Any, items: list[SyllabusItem], prefill: dict[str, Any], **kwargs):
        super().__init__(*args, items=items, **kwargs)
        self.prefill = prefill
        field = self.fields["syllabus_item"]
        field.choices = [(i.code, f"{i.code} {i.name}") for i in items]
        field.widget = forms.RadioSelect(choices=field.choices)
        field.help_text = _(
            "この指導テーマに対応する小項目から、行った業務に最も近いものを選びます。"
        )
        # What the engagement already answers is shown, not asked.
        for name in ("organisation", "relation", "started_on", "ended_on"):
            del self.fields[name]
        self.describe()

    def work(self, **overrides: Any) -> services.WorkDeclaration:
        return super().work(**{**self.prefill, **overrides})


class ChooseItemForm(PlainLabelForm):
    """Step one of a new application (GET): which sub-item the work falls under."""

    item = forms.ChoiceField(label=_("シラバスの小項目"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = item_choices()
        self.fields["item"].error_messages["required"] = gettext(
            "シラバスの小項目を選んでください。"
        )
        self.fields["item"].error_messages["invalid_choice"] = gettext(
            "シラバスの小項目を一覧から選んでください。"
        )


class AnswerForm(DeemedForm):
    """The one answer to the operator's question."""

    answer = forms.CharField(
        label=_("回答"),
        max_length=ANSWER_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("回答できるのは1回だけです。送信すると審査に戻ります。"),
    )


class EvidenceForm(DeemedForm):
    """The one answer to the sample audit's request for evidence."""

    evidence = forms.CharField(
        label=_("業務を行ったことを示す資料・説明"),
        max_length=ANSWER_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "報告書・議事録・契約書などの名称と日付、業務の成果物の概要を書いてください。"
            "提出できるのは1回だけです。IPAから資料の送付をお願いすることがあります。"
        ),
    )


class CertifyForm(DeemedForm):
    """The certifier confirms the work as declared."""

    name = forms.CharField(label=_("証明者の氏名"), max_length=64)
    title = forms.CharField(label=_("証明者の役職"), max_length=64)
    confirm = forms.BooleanField(
        label=_("記載の業務を申請者が行ったことを証明します"),
        error_messages={"required": _("証明する場合は、チェックを入れてください。")},
    )


class DeclineForm(DeemedForm):
    """The certifier declines, with the reason the applicant will read."""

    reason = forms.CharField(
        label=_("辞退の理由"),
        max_length=ANSWER_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "申請者にそのまま伝わります。例：記載の期間に当社の業務は行っていない、"
            "業務内容が事実と異なる、私には判断できない。"
        ),
    )
