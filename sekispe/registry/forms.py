"""Operators' forms for the renewal list and disaster measures. They only parse
and validate; the views call the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import TextRuleMixin
from sekispe.reference import data
from sekispe.reference.labels import labels
from sekispe.registry.models import RegistryStatus

COURSES_ANY = ""
COURSES_MISSING = "missing"
COURSES_OVERDUE = "overdue"
STATUS_ALL = "all"
WAIVABLE_COURSES = (
    ("common", _("共通講習（オンライン）")),
    ("practical", _("実践講習・特定講習")),
)


class _OpsForm(TextRuleMixin, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Japanese labels read without a trailing colon.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _prefecture_choices() -> list[tuple[str, str]]:
    names = labels().pref
    return [(p.code, names[p.code]) for p in data.PREFECTURES]


class RenewalFilterForm(_OpsForm):
    q = forms.CharField(
        label=_("登録番号・氏名・カナ"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    courses = forms.ChoiceField(
        label=_("講習の状況"),
        required=False,
        choices=[
            (COURSES_ANY, _("すべて")),
            (COURSES_MISSING, _("未受講の講習あり")),
            (COURSES_OVERDUE, _("受講期限を過ぎた講習あり")),
        ],
    )
    within = forms.TypedChoiceField(
        label=_("更新申請期限まで"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[
            ("", _("指定しない")),
            ("30", _("30日以内")),
            ("60", _("60日以内")),
            ("90", _("90日以内")),
        ],
    )
    status = forms.ChoiceField(
        label=_("登録の状態"),
        required=False,
        choices=[*RegistryStatus.choices, (STATUS_ALL, _("すべて"))],
    )
    prefecture = forms.ChoiceField(label=_("自宅都道府県"), required=False)
    extended = forms.BooleanField(label=_("災害特例の対象者のみ"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["prefecture"].choices = [("", _("すべて")), *_prefecture_choices()]

    @classmethod
    def from_query(cls, params: Any) -> RenewalFilterForm:
        """Bound to the query string; with no status given, active registrants only."""
        data = params.copy()
        data.setdefault("status", RegistryStatus.ACTIVE)
        return cls(data)


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class _GroupedCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes whose group the template labels itself (a fieldset per region).

    Django gives a checkbox group no id to point at; the error summary needs
    one, so this answers with the first box's.
    """

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class DisasterMeasureForm(_OpsForm):
    title = forms.CharField(
        label=_("措置の名称"),
        max_length=100,
        help_text=_("例：令和2年7月豪雨に伴う更新申請期限の延長"),
        error_messages={"required": _("措置の名称を入力してください。")},
    )
    prefectures = forms.MultipleChoiceField(
        label=_("対象の都道府県"),
        widget=_GroupedCheckboxes,
        help_text=_("自宅の都道府県がここに含まれる登録者が対象です。"),
        error_messages={"required": _("対象の都道府県を1つ以上選んでください。")},
    )
    deadline_from = forms.DateField(
        label=_("対象となる更新申請期限（から）"),
        widget=_DateInput(),
        help_text=_("本来の更新申請期限がこの日からの登録者が対象です。"),
        error_messages={"required": _("対象となる更新申請期限の始まりの日を入力してください。")},
    )
    deadline_to = forms.DateField(
        label=_("対象となる更新申請期限（まで）"),
        widget=_DateInput(),
        help_text=_("本来の更新申請期限がこの日までの登録者が対象です。"),
        error_messages={"required": _("対象となる更新申請期限の終わりの日を入力してください。")},
    )
    new_deadline = forms.DateField(
        label=_("延長後の更新申請期限"),
        widget=_DateInput(),
        help_text=_("登録は、この日の60日後まで有効になります。"),
        error_messages={"required": _("延長後の更新申請期限を入力してください。")},
    )
    waived_courses = forms.MultipleChoiceField(
        label=_("免除する講習"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=WAIVABLE_COURSES,
        help_text=_(
            "選んだ種類の講習のうち、対象となる期限の始まりの日以後に受講期限が来るものを免除します。"
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["prefectures"].choices = _prefecture_choices()

    def prefecture_groups(self) -> list[tuple[str, list[Any]]]:
        """The prefecture checkboxes, by region, for one sub-fieldset each."""
        by_value = {str(option.data["value"]): option for option in self["prefectures"]}
        block_names = labels().block
        return [
            (
                block_names[block.code],
                [by_value[p.code] for p in data.PREFECTURES if p.block == block.code],
            )
            for block in data.BLOCKS
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start: dt.date | None = cleaned.get("deadline_from")
        end: dt.date | None = cleaned.get("deadline_to")
        new: dt.date | None = cleaned.get("new_deadline")
        if start and end and start > end:
            self.add_error(
                "deadline_to",
                _("「まで」の日付は「から」の日付と同じか、それより後にしてください。"),
            )
        if start and new and new <= start:
            self.add_error(
                "new_deadline",
                _("延長後の更新申請期限は、対象となる期限の始まりの日より後にしてください。"),
            )
        return cleaned
