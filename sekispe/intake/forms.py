"""The registration application form (/register/) and the operator's decision form.

Every error message names its field (「氏名を入力してください。」), so the
error summary shows it alone and a screen-reader user hears what to fix.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import PlainLabelForm, names_itself, with_blank
from sekispe.intake.models import Qualification
from sekispe.reference import data as reference_data
from sekispe.registry.models import ExamSeason, ExemptionBasis, PublishedItem

OVERSEAS = "overseas"
# Required for one answer of 登録の資格 only (checked in clean()); the page
# groups them under that answer and tags them 必須 (forms/_marker.html).
CONDITIONAL = ("exam_year", "exam_season", "examinee_number", "exemption_basis", "exemption_detail")
# The RISS exam began in the spring of 2016 (平成28年度春期).
FIRST_EXAM_YEAR = 2016
# 令和2年度春期 was cancelled (COVID-19; 000, footnote 31): nobody passed it.
CANCELLED_SITTINGS = frozenset({(2020, ExamSeason.SPRING.value)})
# Full-width katakana, the long vowel mark, the middle dot and spaces.
KANA = re.compile(r"^[\u30a0-\u30ff\u3000 ]+$")
EXAMINEE_NUMBER = re.compile(r"^[A-Za-z0-9-]{4,20}$")

PLEDGE_TEXT = _(
    "私は、情報処理の促進に関する法律に定める登録を受けられない事由（欠格事由）に"
    "該当しないこと、及びこの申請の内容が事実と相違ないことを誓約します。"
)


def fiscal_year_label(year: int) -> str:
    """「令和7年度（2025年度）」: how the exam and its certificate name the year."""
    if year == 2019:
        era = "平成31年度・令和元年度"
    elif year > 2019:
        era = f"令和{year - 2018}年度"
    else:
        era = f"平成{year - 1988}年度"
    return f"{era}（{year}年度）"


def sitting_held_on(year: int, season: str) -> dt.date:
    """The exam day's month: April for spring, October for autumn."""
    return dt.date(year, 4 if season == ExamSeason.SPRING else 10, 1)


def _required(message: Any) -> dict[str, Any]:
    return {"required": message}


def _exam_years(today: dt.date) -> list[tuple[str, str]]:
    return [(str(y), fiscal_year_label(y)) for y in range(today.year, FIRST_EXAM_YEAR - 1, -1)]


class ApplicationForm(PlainLabelForm):
    name = names_itself(
        forms.CharField(
            label=_("氏名"),
            max_length=64,
            help_text=_("戸籍に記載の氏名。姓と名の間に空白を入れてください。"),
            error_messages={
                **_required(_("氏名を入力してください。")),
                "max_length": _("氏名は64文字以内で入力してください。"),
            },
        )
    )
    name_kana = names_itself(
        forms.CharField(
            label=_("氏名（カナ）"),
            max_length=128,
            help_text=_("全角カタカナ。例：ヤマダ タロウ"),
            error_messages={
                **_required(_("氏名（カナ）を入力してください。")),
                "max_length": _("氏名（カナ）は128文字以内で入力してください。"),
            },
        )
    )
    birth_date = names_itself(
        forms.DateField(
            label=_("生年月日"),
            help_text=_("例：1990-04-01"),
            widget=forms.DateInput(attrs={"type": "date"}),
            error_messages={
                **_required(_("生年月日を入力してください。")),
                "invalid": _("生年月日は 1990-04-01 の形で入力してください。"),
            },
        )
    )
    home_prefecture = names_itself(
        forms.ChoiceField(
            label=_("お住まいの都道府県"),
            help_text=_("日本国外にお住まいの場合は「海外」を選んでください。"),
            error_messages={
                **_required(_("お住まいの都道府県を選んでください。")),
                "invalid_choice": _("お住まいの都道府県を一覧から選んでください。"),
            },
        )
    )
    address = names_itself(
        forms.CharField(
            label=_("住所"),
            max_length=200,
            help_text=_("都道府県から（海外の場合は国名から）番地・建物名まで。"),
            error_messages={
                **_required(_("住所を入力してください。")),
                "max_length": _("住所は200文字以内で入力してください。"),
            },
        )
    )
    email = names_itself(
        forms.EmailField(
            label=_("メールアドレス"),
            help_text=_("審査の結果と、アカウント作成のご案内をお送りします。"),
            error_messages={
                **_required(_("メールアドレスを入力してください。")),
                "invalid": _("メールアドレスを name@example.jp の形で入力してください。"),
            },
        )
    )
    qualification = names_itself(
        forms.ChoiceField(
            label=_("登録の資格"),
            choices=Qualification.choices,
            widget=forms.RadioSelect,
            error_messages={**_required(_("登録の資格を選んでください。"))},
        )
    )
    exam_year = names_itself(
        forms.TypedChoiceField(
            label=_("合格した試験の年度"),
            coerce=int,
            required=False,
            help_text=_("合格証書に記載の年度です。"),
            error_messages={
                "invalid_choice": _("合格した試験の年度を一覧から選んでください。"),
            },
        )
    )
    exam_season = names_itself(
        forms.ChoiceField(
            label=_("合格した試験の期"),
            choices=ExamSeason.choices,
            required=False,
            widget=forms.RadioSelect,
            error_messages={"invalid_choice": _("合格した試験の期を選んでください。")},
        )
    )
    examinee_number = names_itself(
        forms.CharField(
            label=_("受験番号"),
            max_length=20,
            required=False,
            help_text=_("合格証書に記載の受験番号（半角英数字）。"),
            error_messages={"max_length": _("受験番号は20文字以内で入力してください。")},
        )
    )
    exemption_basis = names_itself(
        forms.ChoiceField(
            label=_("試験免除の根拠"),
            choices=ExemptionBasis.choices,
            required=False,
            widget=forms.RadioSelect,
            error_messages={"invalid_choice": _("試験免除の根拠を選んでください。")},
        )
    )
    exemption_detail = names_itself(
        forms.CharField(
            label=_("免除の根拠の詳細"),
            max_length=200,
            required=False,
            help_text=_("講習の名称と修了証の番号、または認定の番号。"),
            error_messages={"max_length": _("免除の根拠の詳細は200文字以内で入力してください。")},
        )
    )
    employer = names_itself(
        forms.CharField(
            label=_("勤務先"),
            max_length=100,
            required=False,
            error_messages={"max_length": _("勤務先は100文字以内で入力してください。")},
        )
    )
    employer_industry = names_itself(
        forms.ChoiceField(
            label=_("勤務先の業種"),
            required=False,
            help_text=_("日本標準産業分類の大分類。登録者の統計にだけ使います。"),
            error_messages={"invalid_choice": _("勤務先の業種を一覧から選んでください。")},
        )
    )
    published_items = names_itself(
        forms.MultipleChoiceField(
            label=_("登録セキスペ検索サービスで公開する項目"),
            choices=PublishedItem.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_(
                "選んだ項目だけを公開します。登録番号、有効期限、更新回数、"
                "講習の受講履歴は、法律に基づき常に公開されます。"
            ),
            error_messages={"invalid_choice": _("公開する項目を一覧から選んでください。")},
        )
    )
    pledge = names_itself(
        forms.BooleanField(
            label=PLEDGE_TEXT,
            error_messages={**_required(_("誓約の内容を確認して、チェックを入れてください。"))},
        )
    )

    def __init__(self, *args: Any, today: dt.date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in CONDITIONAL:
            self.fields[name].conditionally_required = True  # type: ignore[attr-defined]
        self.today = today or timezone.localdate()
        self.fields["home_prefecture"].choices = [
            ("", _("選んでください")),
            *((p.code, p.name) for p in reference_data.PREFECTURES),
            (OVERSEAS, _("海外")),
        ]
        self.fields["exam_year"].choices = [("", _("選んでください")), *_exam_years(self.today)]
        self.fields["employer_industry"].choices = with_blank(
            (code, f"{code} {name}") for code, name, _en in reference_data.INDUSTRIES
        )

    def clean_name_kana(self) -> str:
        kana = self.cleaned_data["name_kana"]
        if not KANA.match(kana):
            raise ValidationError(_("氏名（カナ）は全角カタカナで入力してください。"))
        return kana

    def clean_birth_date(self) -> dt.date:
        born = self.cleaned_data["birth_date"]
        if born >= self.today or born.year < 1900:
            raise ValidationError(_("生年月日が正しくありません。もう一度確かめてください。"))
        return born

    def clean_examinee_number(self) -> str:
        number = self.cleaned_data["examinee_number"].upper()
        if number and not EXAMINEE_NUMBER.match(number):
            raise ValidationError(
                _("受験番号は半角英数字とハイフン（4〜20文字）で入力してください。")
            )
        return number

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        qualification = data.get("qualification")
        if qualification == Qualification.EXAM:
            self._require("exam_year", _("合格した試験の年度を選んでください。"))
            self._require("exam_season", _("合格した試験の期を選んでください。"))
            self._require("examinee_number", _("受験番号を入力してください。"))
            year, season = data.get("exam_year"), data.get("exam_season")
            if year and season:
                if (year, season) in CANCELLED_SITTINGS:
                    self.add_error(
                        "exam_season",
                        _(
                            "令和2年度春期の試験は中止されました。合格した試験の期を確かめてください。"
                        ),
                    )
                elif sitting_held_on(year, season) > self.today:
                    self.add_error(
                        "exam_season", _("合格した試験の期が、まだ実施されていない試験です。")
                    )
        elif qualification == Qualification.EXEMPTION:
            self._require("exemption_basis", _("試験免除の根拠を選んでください。"))
            self._require("exemption_detail", _("免除の根拠の詳細を入力してください。"))
        return data

    def _require(self, name: str, message: Any) -> None:
        if name not in self.errors and not self.cleaned_data.get(name):
            self.add_error(name, message)

    def details(self) -> dict[str, Any]:
        """The fields of `RegistrationApplication`, from a valid form. Answers
        that belong to the other qualification are dropped."""
        data = self.cleaned_data
        exam = data["qualification"] == Qualification.EXAM
        overseas = data["home_prefecture"] == OVERSEAS
        return {
            "name": data["name"],
            "name_kana": data["name_kana"],
            "birth_date": data["birth_date"],
            "overseas": overseas,
            "home_prefecture_id": None if overseas else data["home_prefecture"],
            "address": data["address"],
            "email": data["email"],
            "qualification": data["qualification"],
            "exam_year": data["exam_year"] if exam else None,
            "exam_season": data["exam_season"] if exam else "",
            "examinee_number": data["examinee_number"] if exam else "",
            "exemption_basis": "" if exam else data["exemption_basis"],
            "exemption_detail": "" if exam else data["exemption_detail"],
            "employer": data["employer"],
            "employer_industry_id": data["employer_industry"] or None,
            "published_items": list(data["published_items"]),
        }

    def summary(self) -> list[tuple[Any, str]]:
        """(label, answer) rows for the confirmation page, as the applicant chose them."""
        rows: list[tuple[Any, str]] = []
        for name in self.fields:
            if name == "pledge":
                continue
            bound = self[name]
            value = self.cleaned_data.get(name)
            field = self.fields[name]
            if isinstance(field, forms.MultipleChoiceField):
                labels = dict(field.choices)
                shown = "、".join(str(labels[v]) for v in value) if value else str(_("なし"))
            elif isinstance(field, forms.ChoiceField):
                labels = {str(k): v for k, v in field.choices}
                shown = str(labels.get(str(value), "")) if value not in (None, "") else ""
            elif isinstance(value, dt.date):
                shown = value.isoformat()
            else:
                shown = str(value or "")
            if shown:
                rows.append((bound.label, shown))
        return rows


class DecisionForm(PlainLabelForm):
    APPROVE = "approve"
    SEND_BACK = "send_back"

    decision = forms.ChoiceField(
        choices=((APPROVE, _("承認する")), (SEND_BACK, _("差し戻す"))),
        widget=forms.HiddenInput,
    )
    message = forms.CharField(
        label=_("差し戻しの理由（申請者へのメールに載ります）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("decision") == self.SEND_BACK and not data.get("message", "").strip():
            self.add_error("message", _("差し戻しの理由を入力してください。"))
        return data


class FilterForm(PlainLabelForm):
    mark_required_fields = False
    status = forms.ChoiceField(label=_("状態"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from sekispe.intake.models import ApplicationStatus

        self.fields["status"].choices = [("all", _("すべて")), *ApplicationStatus.choices]
