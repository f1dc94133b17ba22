"""What each request kind asks for, what its approval changes, and how it reads.

One table (`SPECS`) names each kind's form, its URL slug and the sentences the
pages show; `record_changes` turns an approved payload into the fields
`registry.services.update_record` writes; `describe` and `compare` turn a
payload into Japanese label/value rows for the pages and e-mails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sekispe.reference.models import Prefecture
from sekispe.registrant_requests import forms
from sekispe.registrant_requests.models import (
    OPERATOR_FILED_KINDS,
    POST_REGISTRATION_KINDS,
    DeregistrationReason,
    RegistrantRequest,
    RequestKind,
)
from sekispe.registry import rules
from sekispe.registry.models import PublishedItem, RegistryRecord, RegistryStatus

# Shown next to the publication choices: the public search service always shows these.
ALWAYS_PUBLIC = (
    _("登録番号"),
    _("更新申請の期限"),
    _("更新回数"),
    _("実践講習・特定講習の受講歴"),
)


@dataclass(frozen=True)
class KindSpec:
    kind: str
    form_class: type[forms.RequestForm]
    # One sentence for the registrant: what the request is for.
    summary: Promise
    # One sentence for the operator: what approving it does to the registry.
    effect: Promise

    @property
    def slug(self) -> str:
        return self.kind.replace("_", "-")

    @property
    def label(self) -> str:
        return str(RequestKind(self.kind).label)

    @property
    def filed_by_specialist(self) -> bool:
        return self.kind not in OPERATOR_FILED_KINDS and self.kind != RequestKind.RENEWAL


SPECS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            RequestKind.RENEWAL,
            forms.RenewalForm,
            _("登録の更新を申請します。今期の講習をすべて受講していることが条件です。"),
            _("有効期限を次の期間の末日に延ばし、更新回数を1回増やします。"),
        ),
        KindSpec(
            RequestKind.DETAILS_CHANGE,
            forms.DetailsChangeForm,
            _("婚姻などで氏名が変わったときに届け出ます。"),
            _("登録簿の氏名と氏名（カナ）を届出の内容に変更します。"),
        ),
        KindSpec(
            RequestKind.CARD_REISSUE,
            forms.CardReissueForm,
            _("登録証をなくしたり、汚したりしたときに再発行を申し込みます。"),
            _("登録簿は変わりません。登録証を再発行してください。"),
        ),
        KindSpec(
            RequestKind.CONTACT_CHANGE,
            forms.ContactChangeForm,
            _("メールアドレス、電話番号、自宅の都道府県が変わったときに届け出ます。"),
            _("登録簿の連絡先を届出の内容に変更します。"),
        ),
        KindSpec(
            RequestKind.PUBLICATION,
            forms.PublicationForm,
            _("登録セキスペ検索サービスに表示する項目を選びます。"),
            _("登録セキスペ検索サービスに表示する項目を届出の内容に変更します。"),
        ),
        KindSpec(
            RequestKind.DEREGISTRATION,
            forms.DeregistrationForm,
            _(
                "登録の消除を届け出ます。承認されると登録が終了し、アクティブリストにも表示されなくなります。"
            ),
            _(
                "登録を抹消し、登録終了日を今日にします。アクティブリストの掲載も表示されなくなります。"
            ),
        ),
        KindSpec(
            RequestKind.DEATH,
            forms.DeathForm,
            _("登録者が亡くなったことを、ご家族に代わって事務局が届け出ます。"),
            _("登録の状態を「死亡」にし、登録終了日を死亡日にします。"),
        ),
        KindSpec(
            RequestKind.BADGE_LOAN,
            forms.BadgeLoanForm,
            _("登録セキスペの徽章の貸与を申し込みます。"),
            _("登録簿は変わりません。徽章を貸与してください。"),
        ),
        KindSpec(
            RequestKind.LOGO_USE,
            forms.LogoUseForm,
            _("登録セキスペのロゴの利用を申請します。"),
            _("登録簿は変わりません。ロゴの利用を許可します。"),
        ),
    )
}
_BY_SLUG = {spec.slug: spec for spec in SPECS.values()}


def spec_for(kind: str) -> KindSpec:
    return SPECS[kind]


def spec_for_slug(slug: str) -> KindSpec | None:
    return _BY_SLUG.get(slug)


def specialist_kinds() -> list[KindSpec]:
    """The kinds a registrant files from their page, in the order of 000's table."""
    return [SPECS[kind] for kind in POST_REGISTRATION_KINDS if SPECS[kind].filed_by_specialist]


APPROVED_NOTES: dict[str, Promise] = {
    RequestKind.DETAILS_CHANGE: _("登録簿の氏名を変更しました。"),
    RequestKind.CONTACT_CHANGE: _("登録簿の連絡先を変更しました。"),
    RequestKind.PUBLICATION: _("登録セキスペ検索サービスに表示する項目を変更しました。"),
    RequestKind.CARD_REISSUE: _("新しい登録証をお送りします。"),
    RequestKind.DEREGISTRATION: _("登録を消除しました。これまでのご活動に感謝申し上げます。"),
    RequestKind.BADGE_LOAN: _("徽章の貸与について、追って事務局からご連絡します。"),
    RequestKind.LOGO_USE: _("ロゴの利用を許可しました。ロゴの利用規程に従ってご利用ください。"),
}


def approved_note(req: RegistrantRequest, record: RegistryRecord) -> str:
    """What an approval means for the registrant, for the decision e-mail."""
    if req.kind == RequestKind.RENEWAL:
        return gettext("登録を更新しました。新しい有効期限は%(day)sです。") % {
            "day": ja_date(record.expires_on)
        }
    return str(APPROVED_NOTES.get(req.kind, ""))


def record_changes(req: RegistrantRequest, record: RegistryRecord, today: dt.date) -> dict:
    """The `update_record` changes an approved request makes; {} for audit-only kinds.

    Renewal is not here: `registry.services.approve_renewal` owns its rules.
    """
    payload = req.payload
    if req.kind == RequestKind.DETAILS_CHANGE:
        return {"name": payload["name"], "name_kana": payload["name_kana"]}
    if req.kind == RequestKind.CONTACT_CHANGE:
        changes = {name: payload[name] for name in ("email", "phone") if name in payload}
        if "home_prefecture" in payload:
            changes["home_prefecture_id"] = payload["home_prefecture"]
        return changes
    if req.kind == RequestKind.PUBLICATION:
        return {"published_items": list(payload.get("published_items", []))}
    if req.kind == RequestKind.DEREGISTRATION:
        return {"status": RegistryStatus.DEREGISTERED, "ended_on": today}
    if req.kind == RequestKind.DEATH:
        changes: dict[str, Any] = {"status": RegistryStatus.DECEASED}
        # A registration already ended by deregistration keeps the day it ended.
        if record.ended_on is None:
            changes["ended_on"] = dt.date.fromisoformat(payload["date_of_death"])
        return changes
    return {}


def touches_verified_fields(kind: str, payload: dict[str, Any]) -> bool:
    """Whether a contact change needs an operator: the home prefecture decides
    which disaster measures cover the registrant, so it is checked first."""
    return kind != RequestKind.CONTACT_CHANGE or "home_prefecture" in payload


def describe(kind: str, payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of a payload, with choice labels rather than codes."""
    rows: list[tuple[str, str]] = []
    if kind == RequestKind.RENEWAL:
        if payload.get("expires_on"):
            expires = dt.date.fromisoformat(payload["expires_on"])
            rows.append((gettext("申請時の有効期限"), ja_date(expires)))
            rows.append((gettext("更新後の有効期限"), ja_date(rules.next_expiry(expires))))
    elif kind == RequestKind.DETAILS_CHANGE:
        rows += [
            (gettext("新しい氏名"), payload.get("name", "")),
            (gettext("新しい氏名（カナ）"), payload.get("name_kana", "")),
            (gettext("変更の理由"), payload.get("reason", "")),
        ]
    elif kind == RequestKind.CONTACT_CHANGE:
        for name, label in CONTACT_LABELS.items():
            if name in payload:
                rows.append((str(label), _contact_value(name, payload[name])))
    elif kind == RequestKind.PUBLICATION:
        rows.append((gettext("公開する項目"), _published(payload.get("published_items", []))))
    elif kind == RequestKind.CARD_REISSUE:
        rows.append(
            (gettext("再発行の理由"), _choice(forms.CardReissueReason, payload.get("reason")))
        )
        rows.append((gettext("補足"), payload.get("note", "") or _blank()))
    elif kind == RequestKind.DEREGISTRATION:
        rows.append((gettext("消除の理由"), _choice(DeregistrationReason, payload.get("reason"))))
        rows.append((gettext("補足"), payload.get("note", "") or _blank()))
    elif kind == RequestKind.DEATH:
        if payload.get("date_of_death"):
            day = dt.date.fromisoformat(payload["date_of_death"])
            rows.append((gettext("死亡日"), ja_date(day)))
        rows.append((gettext("届出人の氏名"), payload.get("filer_name", "")))
        rows.append((gettext("届出人と登録者の関係"), payload.get("filer_relationship", "")))
    elif kind == RequestKind.BADGE_LOAN:
        rows.append((gettext("補足"), payload.get("note", "") or _blank()))
    elif kind == RequestKind.LOGO_USE:
        rows.append((gettext("利用目的"), payload.get("intended_use", "")))
        rows.append((gettext("利用する媒体"), _choice(forms.LogoMedium, payload.get("medium"))))
    return rows


CONTACT_LABELS = {
    "email": _("メールアドレス"),
    "phone": _("電話番号"),
    "home_prefecture": _("自宅の都道府県"),
}


def compare(req: RegistrantRequest, record: RegistryRecord) -> list[tuple[str, str, str]]:
    """(label, the registry now, what the request asks for) for kinds that change it."""
    payload = req.payload
    if req.kind == RequestKind.DETAILS_CHANGE:
        return [
            (gettext("氏名"), record.name, payload.get("name", "")),
            (gettext("氏名（カナ）"), record.name_kana, payload.get("name_kana", "")),
        ]
    if req.kind == RequestKind.CONTACT_CHANGE:
        now = {
            "email": record.email,
            "phone": record.phone,
            "home_prefecture": record.home_prefecture_id,
        }
        return [
            (
                str(label),
                _contact_value(name, now[name]),
                _contact_value(name, payload[name]) if name in payload else gettext("（変更なし）"),
            )
            for name, label in CONTACT_LABELS.items()
        ]
    if req.kind == RequestKind.PUBLICATION:
        return [
            (
                gettext("公開する項目"),
                _published(record.published_items or []),
                _published(payload.get("published_items", [])),
            )
        ]
    return []


def _contact_value(name: str, value: str) -> str:
    if not value:
        return _blank()
    if name == "home_prefecture":
        found = Prefecture.objects.filter(pk=value).values_list("name", flat=True).first()
        return found or value
    return value


def _published(values: list[str]) -> str:
    labels = [str(PublishedItem(v).label) for v in PublishedItem.values if v in values]
    return gettext("、").join(labels) if labels else gettext("なし（常に公開される項目のみ）")


def _choice(choices: Any, value: str | None) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or _blank()


def ja_date(day: dt.date) -> str:
    return date_format(day, gettext("Y年n月j日"))


def _blank() -> str:
    return gettext("（空欄）")
