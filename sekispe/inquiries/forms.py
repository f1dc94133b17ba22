"""The inquiry pages' forms: the inquiry itself, and one form per action on it.

Forms only parse and check what was typed; the services decide whether the
action is allowed and write it. Each action form has the action's name as its
prefix, so several can share the detail page without clashing ids.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import PlainLabelForm, with_blank
from sekispe.diagnosis import services as diagnosis_services
from sekispe.inquiries import services
from sekispe.inquiries.models import CloseReason, DeclineReason, PreferredForm
from sekispe.reference import data

CIRCLED = "①②③④⑤"
UNDECIDED = "undecided"
# The forms a consultation or a visit can take (PreferredForm without "either").
HELD_FORMS = [
    (PreferredForm.VISIT.value, PreferredForm.VISIT.label),
    (PreferredForm.ONLINE.value, PreferredForm.ONLINE.label),
]
DATE_WIDGET = {"attrs": {"type": "date"}, "format": "%Y-%m-%d"}


def english() -> bool:
    return (get_language() or "").startswith("en")


def theme_label(code: int) -> str:
    theme = next(t for t in data.GUIDANCE_THEMES if t.code == code)
    return (
        f"{CIRCLED[code - 1]}{' ' if english() else ''}{theme.name_en if english() else theme.name}"
    )


def theme_choices() -> list[tuple[str, str]]:
    return [(str(t.code), theme_label(t.code)) for t in data.GUIDANCE_THEMES]


def _date_field(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=forms.DateInput(**DATE_WIDGET),
        error_messages={
            "required": _("日付を入力してください。"),
            "invalid": _("日付は 2026-04-01 のように入力してください。"),
        },
    )


class InquiryForm(PlainLabelForm):
    """What an SME (or an institution for one) sends to a specialist."""

    PROFILE_FIELDS = ("prefecture", "industry", "employees", "it_dependence", "customer_demand")

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
    contact_email = forms.EmailField(
        label=_("連絡先メールアドレス"),
        help_text=_("専門家からの連絡と、依頼の状況のお知らせが届きます。"),
        error_messages={
            "required": _("連絡先メールアドレスを入力してください。"),
            "invalid": _("メールアドレスの形式で入力してください。"),
        },
    )
    theme = forms.ChoiceField(
        label=_("相談したいテーマ"),
        widget=forms.RadioSelect,
        error_messages={"required": _("相談したいテーマを選んでください。")},
    )
    preferred_form = forms.ChoiceField(
        label=_("希望する支援形態"),
        choices=PreferredForm.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("希望する支援形態を選んでください。")},
    )
    message = forms.CharField(
        label=_("相談内容"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("困っていること、知りたいこと、希望する時期などを書いてください。"),
        error_messages={"required": _("相談内容を入力してください。")},
    )
    wants_free_first_session = forms.BooleanField(
        label=_("初回は無料の相談を希望する"), required=False
    )

    def __init__(
        self,
        *args: Any,
        for_institution: bool = False,
        specialist_themes: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # The themes the specialist has guided before are marked, not enforced:
        # a company may still ask about another.
        self.fields["theme"].choices = [
            *(
                (code, _("%(theme)s（この専門家の支援実績あり）") % {"theme": label})
                if int(code) in specialist_themes
                else (code, label)
                for code, label in theme_choices()
            ),
            (UNDECIDED, _("まだ決まっていない")),
        ]
        in_english = english()
        self.fields["prefecture"] = forms.ChoiceField(
            label=_("所在地（都道府県）"),
            choices=[
                ("", _("選んでください")),
                *((p.code, p.name_en if in_english else p.name) for p in data.PREFECTURES),
            ],
            error_messages={"required": _("所在地の都道府県を選んでください。")},
        )
        self.fields["industry"] = forms.ChoiceField(
            label=_("業種（日本標準産業分類の大分類）"),
            required=False,
            choices=with_blank((c, en if in_english else ja) for c, ja, en in data.INDUSTRIES),
        )
        self.fields["employees"] = forms.ChoiceField(
            label=_("従業員数"),
            required=False,
            choices=with_blank(diagnosis_services.EMPLOYEE_BANDS),
        )
        self.fields["it_dependence"] = forms.ChoiceField(
            label=_("仕事でのITの使い方"),
            required=False,
            choices=with_blank(diagnosis_services.IT_DEPENDENCE),
        )
        self.fields["customer_demand"] = forms.ChoiceField(
            label=_("取引先からセキュリティ対策を求められていますか"),
            required=False,
            choices=with_blank(diagnosis_services.CUSTOMER_DEMAND),
        )
        if for_institution:
            # The institution fills in the company's details, not its own.
            self.fields["company_name"].help_text = _("相談する会社の名前を入力してください。")
            self.fields["contact_name"].help_text = _("相談する会社の担当者の名前です。")

    def contact_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("company_name", "contact_name", "contact_email")]

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.PROFILE_FIELDS]

    def request_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("theme", "preferred_form", "message", "wants_free_first_session")]

    def draft(self) -> services.InquiryDraft:
        d = self.cleaned_data
        theme = d["theme"]
        return services.InquiryDraft(
            company_name=d["company_name"].strip(),
            contact_name=d["contact_name"].strip(),
            contact_email=d["contact_email"],
            theme=None if theme == UNDECIDED else int(theme),
            preferred_form=d["preferred_form"],
            message=d["message"],
            wants_free_first_session=d["wants_free_first_session"],
            company_profile={n: d[n] for n in self.PROFILE_FIELDS if d.get(n)},
        )


# ------------------------------------------------------------- the actions


class AcceptForm(PlainLabelForm):
    """Accepting needs no input."""


class DeclineForm(PlainLabelForm):
    reason = forms.ChoiceField(
        label=_("辞退の理由"),
        choices=DeclineReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("辞退の理由を選んでください。")},
    )
    note = forms.CharField(
        label=_("会社へのひとこと（任意）"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("会社へのお知らせのメールにも載ります。"),
    )


class ConsultationForm(PlainLabelForm):
    held_on = _date_field(_("実施日"))
    form = forms.ChoiceField(
        label=_("実施形態"),
        choices=HELD_FORMS,
        widget=forms.RadioSelect,
        error_messages={"required": _("実施形態を選んでください。")},
    )
    issues = forms.CharField(
        label=_("見つかった課題"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("見つかった課題を記入してください。")},
    )
    priorities = forms.CharField(
        label=_("優先して取り組むこと"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("優先して取り組むことを記入してください。")},
    )


class PlanForm(PlainLabelForm):
    """Three visits on one theme. The theme is chosen first (a GET form on the
    page), so each visit's goal list is that theme's goals without JavaScript."""

    theme = forms.TypedChoiceField(
        label=_("指導テーマ"),
        coerce=int,
        widget=forms.HiddenInput,
        error_messages={
            "required": _("指導テーマを選んでください。"),
            "invalid_choice": _("指導テーマを選んでください。"),
        },
    )

    def __init__(self, *args: Any, theme: int, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {"theme": theme, **kwargs["initial"]}
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = theme_choices()
        if self.is_bound:
            # A posted theme wins: the goals must be the ones the form was
            # shown with. Without one (a hand-made request), the page's theme
            # is kept, so the form shown again can be sent as it is.
            key = self.add_prefix("theme")
            posted = str(self.data.get(key, ""))
            if posted.isdecimal() and int(posted) in {t.code for t in data.GUIDANCE_THEMES}:
                theme = int(posted)
            else:
                self.data = self.data.copy()
                self.data[key] = str(theme)
        self.theme = theme
        goals = services.theme_goals(theme)
        for n in range(1, 4):
            self.fields[f"goal_{n}"] = forms.ChoiceField(
                label=_("%(n)d回目の目標") % {"n": n},
                choices=[(g, g) for g in goals],
                initial=goals[n - 1],
                error_messages={
                    "required": _("この回の目標を選んでください。"),
                    "invalid_choice": _("この回の目標は、テーマの達成目標から選んでください。"),
                },
            )
            self.fields[f"date_{n}"] = _date_field(_("%(n)d回目の予定日") % {"n": n})
            self.fields[f"form_{n}"] = forms.ChoiceField(
                label=_("%(n)d回目の実施形態") % {"n": n},
                choices=HELD_FORMS,
                initial=PreferredForm.VISIT.value,
                widget=forms.RadioSelect,
                error_messages={"required": _("実施形態を選んでください。")},
            )

    def visit_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "number": n,
                "goal": self[f"goal_{n}"],
                "date": self[f"date_{n}"],
                "form": self[f"form_{n}"],
            }
            for n in range(1, 4)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        dates = [cleaned.get(f"date_{n}") for n in range(1, 4)]
        if all(dates) and dates != sorted(dates):
            raise forms.ValidationError(_("訪問の予定日は1回目から順に並べてください。"))
        return cleaned

    def visits(self) -> list[services.PlannedVisit]:
        d = self.cleaned_data
        return [
            services.PlannedVisit(
                goal=d[f"goal_{n}"], scheduled_on=d[f"date_{n}"], form=d[f"form_{n}"]
            )
            for n in range(1, 4)
        ]


class VisitForm(PlainLabelForm):
    number = forms.TypedChoiceField(
        label=_("記録する回"),
        coerce=int,
        error_messages={
            "required": _("記録する回を選んでください。"),
            "invalid_choice": _("まだ記録していない回を選んでください。"),
        },
    )
    held_on = _date_field(_("実施日"))
    notes = forms.CharField(
        label=_("実施内容"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("実施内容を記入してください。")},
    )
    goal_achieved = forms.TypedChoiceField(
        label=_("この回の目標を達成しましたか"),
        choices=[("yes", _("達成した")), ("no", _("達成していない"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("目標を達成したかどうかを選んでください。")},
    )

    def __init__(self, *args: Any, open_visits: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Visits are recorded in order (services.record_visit): only the next
        # one not yet recorded is offered.
        self.fields["number"].choices = [
            (str(v.number), _("%(n)d回目：%(goal)s") % {"n": v.number, "goal": v.goal})
            for v in open_visits[:1]
        ]
        if open_visits:
            self.fields["number"].initial = str(open_visits[0].number)


class CompleteForm(PlainLabelForm):
    report = forms.CharField(
        label=_("完了報告"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "3回の訪問指導で取り組んだこと、達成できたこと、会社が今後続けることを書いてください。"
        ),
        error_messages={"required": _("完了報告を記入してください。")},
    )


class ConfirmForm(PlainLabelForm):
    certify = forms.BooleanField(
        label=_("上記の訪問指導が実施され、完了報告の内容に相違ないことを確認します。"),
        error_messages={"required": _("内容を確認したら、チェックを入れてください。")},
    )


class CloseForm(PlainLabelForm):
    reason = forms.ChoiceField(
        label=_("終了の理由"),
        choices=CloseReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("終了の理由を選んでください。")},
    )
    note = forms.CharField(
        label=_("補足（任意）"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


ACTION_FORMS: dict[str, type[forms.Form]] = {
    "accept": AcceptForm,
    "decline": DeclineForm,
    "record_consultation": ConsultationForm,
    "plan_guidance": PlanForm,
    "record_visit": VisitForm,
    "complete": CompleteForm,
    "confirm": ConfirmForm,
    "close": CloseForm,
}
