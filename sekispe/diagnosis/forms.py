"""The questionnaire page's form, built from the current questionnaire version."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import PlainLabelForm, names_itself, with_blank
from sekispe.diagnosis import rules, services
from sekispe.diagnosis.models import SecurityActionLevel
from sekispe.reference import data

ANSWER_LABELS: dict[str, Any] = {
    "done": _("できている"),
    "partly": _("一部できている"),
    "not_done": _("できていない"),
    "unknown": _("分からない"),
}


def english() -> bool:
    return (get_language() or "").startswith("en")


def question_text(question: rules.Question) -> str:
    return question.text_en if english() and question.text_en else question.text


def question_why(question: rules.Question) -> str:
    return question.why_en if english() and question.why_en else question.why


def part_label(part: rules.Part) -> str:
    return part.label_en if english() and part.label_en else part.label


class DiagnosisForm(PlainLabelForm):
    """One radio group per question, then the optional company profile."""

    def __init__(self, *args: Any, questionnaire: rules.Questionnaire, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        for number, question in enumerate(questionnaire.questions, start=1):
            # The message names the question by its number: glued after the
            # question's own text it read 「…していますか。：回答を選んでください。」.
            missing = gettext(
                "設問%(number)dに答えてください。分からないときは「分からない」を選んでください。"
            ) % {"number": number}
            self.fields[question.id] = names_itself(
                forms.ChoiceField(
                    label=f"{number}. {question_text(question)}",
                    help_text=question_why(question),
                    choices=list(ANSWER_LABELS.items()),
                    widget=forms.RadioSelect,
                    error_messages={"required": missing},
                )
            )
        english_names = english()
        self.fields["prefecture"] = forms.ChoiceField(
            label=_("所在地（都道府県）"),
            required=False,
            choices=with_blank(
                (p.code, p.name_en if english_names else p.name) for p in data.PREFECTURES
            ),
        )
        self.fields["industry"] = forms.ChoiceField(
            label=_("業種（日本標準産業分類の大分類）"),
            required=False,
            choices=with_blank((c, en if english_names else ja) for c, ja, en in data.INDUSTRIES),
        )
        self.fields["employees"] = forms.ChoiceField(
            label=_("従業員数"), required=False, choices=with_blank(services.EMPLOYEE_BANDS)
        )
        self.fields["it_dependence"] = forms.ChoiceField(
            label=_("仕事でのITの使い方"),
            required=False,
            choices=with_blank(services.IT_DEPENDENCE),
        )
        self.fields["customer_demand"] = forms.ChoiceField(
            label=_("取引先からセキュリティ対策を求められていますか"),
            required=False,
            choices=with_blank(services.CUSTOMER_DEMAND),
        )

    def parts(self) -> list[dict[str, Any]]:
        """The question fields grouped by part, for the template."""
        return [
            {
                "code": part.code,
                "label": part_label(part),
                "fields": [self[q.id] for q in self.questionnaire.in_part(part.code)],
            }
            for part in self.questionnaire.parts
        ]

    def question_count(self) -> int:
        return len(self.questionnaire.questions)

    def answered_count(self) -> int:
        """Questions with an answer: what was sent back (a submit with errors),
        else what the form starts from (a retake starts from the last answers)."""
        valid = set(ANSWER_LABELS)
        if self.is_bound:
            given = {q.id: self.data.get(q.id) for q in self.questionnaire.questions}
        else:
            given = {q.id: self.initial.get(q.id) for q in self.questionnaire.questions}
        return sum(1 for value in given.values() if value in valid)

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in rules.PROFILE_FIELDS]

    def answers(self) -> dict[str, str]:
        return {q.id: self.cleaned_data[q.id] for q in self.questionnaire.questions}

    def profile(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in rules.PROFILE_FIELDS}


class SecurityActionForm(PlainLabelForm):
    """An SME account's SECURITY ACTION declaration (security_action.record checks it)."""

    level = forms.TypedChoiceField(
        label=_("宣言した段階"),
        coerce=int,
        choices=[("", _("選んでください"))],
        error_messages={"required": _("宣言した段階を選んでください。")},
    )
    declared_on = forms.DateField(
        label=_("宣言日"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("IPAから宣言の受付を知らせるメールが届いた日です。例：2026-04-01"),
        error_messages={
            "required": _("宣言日を入力してください。"),
            "invalid": _("宣言日は「2026-04-01」の形で入力してください。"),
        },
    )
    declaration_id = forms.CharField(
        label=_("自己宣言ID"),
        max_length=32,
        help_text=_("宣言後にIPAから届くメールに書かれている番号です。"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"required": _("自己宣言IDを入力してください。")},
    )
    prefecture = forms.ChoiceField(
        label=_("所在地（都道府県）"),
        help_text=_("都道府県別の統計にだけ使います。会社名と一緒に公開することはありません。"),
        error_messages={"required": _("所在地の都道府県を選んでください。")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = [("", _("選んでください")), *SecurityActionLevel.choices]
        english_names = english()
        self.fields["prefecture"].choices = [
            ("", _("選んでください")),
            *((p.code, p.name_en if english_names else p.name) for p in data.PREFECTURES),
        ]
