"""Every measure the refresh writes into `Fact`, declared once.

The policy pages, the map, the open statistics and their suppression all read
this list, so a measure is named, labelled and classified in one place.
`dims` names the Fact columns a measure is broken down by (the others stay
""/null). `subjects` says what each counted unit is: cells counting people or
companies are subject to small-cell suppression in the open statistics;
cells counting searches or events are not, and durations are never published
cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Dim = Literal["month", "prefecture", "theme", "key"]
Subjects = Literal["people", "companies", "searches", "events", "hours"]


@dataclass(frozen=True)
class Measure:
    slug: str
    label: str | Promise
    dims: tuple[Dim, ...]
    subjects: Subjects
    # What `key` holds for this measure, in words ("" when `key` is not a dim).
    key_label: str | Promise = ""
    # Published at /statistics/ (with suppression where `subjects` needs it).
    public: bool = True

    @property
    def suppressed(self) -> bool:
        return self.subjects in ("people", "companies")


# The measures the map shades and the prefecture pages show; the refresh must
# write each of them for every prefecture (0 where there is none). The insights
# app adds its other measures below this block.
MAP_MEASURES: tuple[Measure, ...] = (
    Measure("registrants.active_now", _("登録者数（有効）"), ("prefecture",), "people"),
    Measure("supply.listed", _("掲載中の登録セキスペ"), ("prefecture", "theme"), "people"),
    Measure("supply.accepting", _("受付中の登録セキスペ"), ("prefecture", "theme"), "people"),
    Measure(
        "demand.searches",
        _("検索された回数"),
        ("month", "prefecture", "theme"),
        "searches",
    ),
    Measure(
        "demand.unmet_searches",
        _("地元で受付中の登録セキスペが3人未満だった検索"),
        ("month", "prefecture", "theme"),
        "searches",
    ),
    Measure(
        "security_action.declared_now",
        _("SECURITY ACTION 宣言企業数（現在）"),
        ("prefecture", "key"),
        "companies",
        key_label=_("段階（1=★、2=★★）"),
    ),
)

# Conventions (see sekispe/insights/tally.py and docs/insights.md): "" in the
# prefecture, theme or key column is the margin "all", counted as its own cell
# (never summed: a unit may fall in several prefectures or themes, or in none);
# `month` is the first day of the month and has no margin.
OTHER_MEASURES: tuple[Measure, ...] = (
    # ---------------------------------------------------------- registrants
    Measure("registrants.active", _("登録者数（月末時点）"), ("month", "prefecture"), "people"),
    Measure("registrants.new", _("新規登録"), ("month", "prefecture"), "people"),
    Measure("registrants.renewed", _("更新"), ("month", "prefecture"), "people"),
    Measure("registrants.lapsed", _("失効"), ("month", "prefecture"), "people"),
    Measure(
        "registrants.ended",
        _("登録の終了（消除・死亡・取消）"),
        ("month", "key"),
        "people",
        key_label=_("理由"),
    ),
    Measure(
        "registrants.renewal_due",
        _("最初の更新の時期を迎えた人"),
        ("key",),
        "people",
        key_label=_("登録した半期（コホート）"),
    ),
    Measure(
        "registrants.renewal_renewed",
        _("うち更新した人"),
        ("key",),
        "people",
        key_label=_("登録した半期（コホート）"),
    ),
    Measure(
        "registrants.exam_season",
        _("試験の期別の登録者数（有効）"),
        ("key",),
        "people",
        key_label=_("試験の期"),
    ),
    Measure(
        "registrants.age_band",
        _("年代別の登録者数（有効）"),
        ("key",),
        "people",
        key_label=_("年代"),
    ),
    Measure(
        "registrants.projection",
        _("登録者数の見通し（月末時点）"),
        ("month", "key"),
        "people",
        key_label=_("方法（linear=線形、compound=複利）"),
        public=False,
    ),
    # ---------------------------------------------------------- supply
    Measure(
        "supply.full", _("受付可能件数に達している登録セキスペ"), ("prefecture", "theme"), "people"
    ),
    Measure(
        "supply.freshness",
        _("最終更新からの日数別の掲載数"),
        ("key",),
        "people",
        key_label=_("最終更新からの日数"),
    ),
    Measure(
        "supply.listed_by_home",
        _("掲載中の登録セキスペ（自宅都道府県別）"),
        ("prefecture",),
        "people",
    ),
    # ---------------------------------------------------------- demand
    Measure(
        "demand.searches_by_form",
        _("支援形態別の検索回数"),
        ("month", "key"),
        "searches",
        key_label=_("支援形態"),
    ),
    Measure("demand.diagnoses", _("自己診断の件数"), ("month", "prefecture"), "companies"),
    # ---------------------------------------------------------- funnel
    Measure("funnel.events", _("相談会"), ("month",), "events"),
    Measure(
        "funnel.participants", _("相談会の参加企業"), ("month", "prefecture", "theme"), "companies"
    ),
    Measure(
        "funnel.consultations",
        _("相談会での個別相談"),
        ("month", "prefecture", "theme"),
        "companies",
    ),
    Measure("funnel.inquiries", _("相談の依頼"), ("month", "prefecture", "theme"), "companies"),
    Measure("funnel.accepted", _("受諾された依頼"), ("month", "prefecture", "theme"), "companies"),
    Measure("funnel.planned", _("訪問指導の計画"), ("month", "prefecture", "theme"), "companies"),
    Measure("funnel.completed", _("訪問指導の完了"), ("month", "prefecture", "theme"), "companies"),
    Measure(
        "funnel.confirmed", _("企業による完了確認"), ("month", "prefecture", "theme"), "companies"
    ),
    Measure(
        "funnel.accept_minutes_median",
        _("依頼から受諾までの時間の中央値（分）"),
        ("month",),
        "hours",
        public=False,
    ),
    Measure(
        "funnel.declined",
        _("辞退された依頼"),
        ("month", "key"),
        "companies",
        key_label=_("辞退の理由"),
    ),
    Measure(
        "funnel.closed", _("終了した依頼"), ("month", "key"), "companies", key_label=_("終了の理由")
    ),
    Measure("funnel.first_free", _("初回無料で始まった受諾"), ("month",), "companies"),
    # ---------------------------------------------------------- SMEs
    Measure(
        "smes.step",
        _("ステップ別の企業数"),
        ("prefecture", "key"),
        "companies",
        key_label=_("ステップ"),
    ),
    Measure(
        "smes.industry_step",
        _("業種・ステップ別の企業数"),
        ("key",),
        "companies",
        key_label=_("業種:ステップ（*=すべて）"),
    ),
    Measure(
        "smes.size_step",
        _("従業員規模・ステップ別の企業数"),
        ("key",),
        "companies",
        key_label=_("従業員数:ステップ（*=すべて）"),
    ),
    Measure(
        "smes.security_action_level",
        _("自己診断から見た SECURITY ACTION の段階"),
        ("prefecture", "key"),
        "companies",
        key_label=_("段階（0=未達、1=★、2=★★）"),
    ),
    Measure(
        "smes.step_ups",
        _("自己診断でステップが上がった企業"),
        ("key",),
        "companies",
        key_label=_("最初のステップ:最新のステップ"),
    ),
    Measure("smes.diagnosed_twice", _("自己診断を2回以上受けた企業"), (), "companies"),
    Measure(
        "smes.themes_recommended", _("勧められた指導テーマ"), ("prefecture", "theme"), "companies"
    ),
    # ---------------------------------------------------------- SECURITY ACTION
    Measure(
        "security_action.declared",
        _("SECURITY ACTION の宣言（月別の件数）"),
        ("month", "key"),
        "companies",
        key_label=_("段階（1=★、2=★★）"),
    ),
    Measure(
        "security_action.step_ups",
        _("★から★★へのステップアップ"),
        ("month", "prefecture"),
        "companies",
    ),
)

MEASURES: tuple[Measure, ...] = (*MAP_MEASURES, *OTHER_MEASURES)

BY_SLUG: dict[str, Measure] = {m.slug: m for m in MEASURES}
