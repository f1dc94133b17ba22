"""The operators' forms for deemed attendance (/ops/deemed/): the queue filter,
the decisions, the audit outcome, the revocation case and the audit draw.

They only parse; every rule is in `services`, whose refusals the views show
as form errors.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sekispe.core.forms import PlainLabelForm
from sekispe.deemed.models import DeemedStatus
from sekispe.reference.models import SyllabusItem, SyllabusMajor

MAX_TEXT = 2000
# Pending: what the operator still has to decide (submitted + info requested).
PENDING = "pending"
ALL = "all"
FLAG_SIMILAR = "similar"
FLAG_ACTIVE_LIST = "active_list"
FLAG_UNDER_AUDIT = "under_audit"
FLAG_AUDITED = "audited"
FLAGS = (
    (FLAG_SIMILAR, _("類似した記述あり")),
    (FLAG_ACTIVE_LIST, _("アクティブリストの完了確認が証明")),
    (FLAG_UNDER_AUDIT, _("サンプル調査中")),
    (FLAG_AUDITED, _("サンプル調査の対象（結果が出たものを含む）")),
)
# A seed fits in 32 bits (secrets.randbits(32)) but any non-negative integer up to
# the column's 63 bits reproduces a draw.
MAX_SEED = 2**63 - 1


def _text(label: Any, *, required: bool, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_TEXT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class OpsForm(PlainLabelForm):
    """「…を入力してください」/「…を選んでください」 instead of Django's generic message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.BooleanField):
                continue
            template = (
                gettext("%(label)sを選んでください。")
                if isinstance(field, forms.ChoiceField)
                else gettext("%(label)sを入力してください。")
            )
            field.error_messages["required"] = template % {"label": field.label}


class QueueFilterForm(PlainLabelForm):
    status = forms.ChoiceField(label=_("状態"), required=False)
    item = forms.ChoiceField(label=_("シラバスの分野・小項目"), required=False)
    flag = forms.ChoiceField(label=_("フラグ"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (PENDING, _("審査待ち（審査待ち・追加情報の依頼中）")),
            *DeemedStatus.choices,
            (ALL, _("すべて")),
        ]
        majors = [(f"major-{m.code}", f"{m.code} {m.name}") for m in SyllabusMajor.objects.all()]
        items = [(i.code, f"{i.code} {i.name}") for i in SyllabusItem.objects.order_by("order")]
        self.fields["item"].choices = [
            ("", _("すべて")),
            (_("分野（大項目）"), majors),
            (_("小項目"), items),
        ]
        self.fields["flag"].choices = [("", _("指定しない")), *FLAGS]


class ApproveForm(OpsForm):
    note = _text(
        _("承認のメモ（任意）"),
        required=False,
        help_text=_("申請の履歴に残り、申請者のページにも表示されます。"),
    )


class RejectForm(OpsForm):
    reason = _text(
        _("却下の理由"),
        required=True,
        help_text=_("申請者へのメールにそのまま記載されます。"),
    )


class InformationForm(OpsForm):
    question = _text(
        _("申請者への質問"),
        required=True,
        help_text=_("申請者は1回だけ回答できます。回答があると審査待ちに戻ります。"),
    )


class AuditOutcomeForm(OpsForm):
    CONFIRMED = "confirmed"
    FALSE = "false"

    outcome = forms.ChoiceField(
        label=_("調査の結果"),
        choices=[
            (CONFIRMED, _("事実と確認した")),
            (FALSE, _("虚偽と判明した（承認を取り消し、登録取消の手続を開始）")),
        ],
        widget=forms.RadioSelect,
    )
    note = _text(
        _("調査結果の内容"),
        required=True,
        help_text=_("確認した資料、証明者への照会の結果など。虚偽の場合は判明した事実を書きます。"),
    )


class RevokeRegistrationForm(OpsForm):
    checked = forms.BooleanField(
        label=_("判明した事実と、登録取消の手続を確認しました。"),
        required=True,
        error_messages={
            "required": _("判明した事実と手続を確認したら、チェックを入れてください。")
        },
    )
    reason = _text(
        _("取消の理由（根拠と経緯）"),
        required=True,
        help_text=_(
            "情報処理の促進に関する法律第19条第2項に基づく取消の根拠と、手続の経緯を書きます。"
        ),
    )


class CloseCaseForm(OpsForm):
    note = _text(_("取消をせずに終了する理由"), required=True)


class AuditDrawForm(OpsForm):
    rate = forms.DecimalField(
        label=_("抽出率"),
        min_value=Decimal("0.001"),
        max_value=Decimal("1"),
        max_digits=4,
        decimal_places=3,
        help_text=_("0.10 で母集団の1割を抽出します（端数は四捨五入）。"),
    )
    seed = forms.IntegerField(
        label=_("乱数の種（シード）"),
        min_value=0,
        max_value=MAX_SEED,
        help_text=_(
            "既定は無作為に生成した値です。同じ種と母集団からは同じ抽出結果になり、後から検証できます。"
        ),
    )
    # The population size the operator saw on the confirmation page: the draw is
    # refused (shown again) if it changed in between.
    population = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    @staticmethod
    def initial_values() -> dict[str, Any]:
        return {"rate": Decimal("0.10"), "seed": secrets.randbits(32)}
