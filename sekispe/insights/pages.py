"""Each insight page as a `reports.services.Report` built from `Fact` only.

The page, its CSV export and the bench all render the same `Report`, so the
numbers cannot disagree. A builder reads the facts of one page in one query
(`Facts.load`); nothing here touches a domain table, and no cell names a
person or a company.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sekispe.insights import labels
from sekispe.insights.areas.smes import ANY
from sekispe.insights.facts import Facts, measure
from sekispe.insights.models import Refresh
from sekispe.insights.projection import COMPOUND, LINEAR
from sekispe.insights.tally import PREFECTURE_CODES
from sekispe.insights.targets import (
    METRO_PREFECTURES,
    REGISTRANT_TARGET,
    SECURITY_ACTION_TARGET,
    outside_metro,
)
from sekispe.reports.exports import Percent
from sekispe.reports.services import Cell, Report, Table

RECENT_MONTHS = 12


def percent(part: int, whole: int) -> Cell:
    return Percent.of(part, whole) if whole else "—"


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Series:
    """A line of the monthly chart."""

    key: str
    label: str
    points: tuple[tuple[dt.date, int], ...]
    dashed: bool = False


@dataclass
class Page:
    slug: str
    title: str
    report: Report
    kpis: list[Kpi] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    target: int | None = None


def _as_of(refresh: Refresh | None) -> str:
    if refresh is None:
        return _("まだ集計されていません")
    return _("%(year)s年%(month)s月%(day)s日時点の集計") % {
        "year": refresh.as_of.year,
        "month": refresh.as_of.month,
        "day": refresh.as_of.day,
    }


def _recent(months: Sequence[dt.date], refresh: Refresh | None) -> list[dt.date]:
    """The last RECENT_MONTHS months up to the refresh's month."""
    if refresh is None:
        return []
    current = refresh.as_of.replace(day=1)
    return [m for m in months if m <= current][-RECENT_MONTHS:]


def _number(n: int) -> str:
    return f"{n:,}"


def counts_table(
    key: str,
    title: str,
    label: str,
    rows: tuple[tuple[str, int], ...],
    *,
    unit: str = "",
    total: int | None = None,
    note: str = "",
) -> Table:
    """A two-column table of counts, drawn as a bar chart; the total row when given
    (a margin read from the facts, or the sum when the rows partition the whole)."""
    return Table(
        key=key,
        title=title,
        headers=(label, unit or _("件数")),
        rows=rows,
        total=None if total is None else (_("合計"), total),
        chart=rows,
        note=note,
    )


# ------------------------------------------------------------------ registrants


def registrants(refresh: Refresh | None) -> Page:
    facts = Facts.load(
        measure("registrants.active", prefecture=""),
        measure("registrants.new", prefecture=""),
        measure("registrants.renewed", prefecture=""),
        measure("registrants.lapsed", prefecture=""),
        measure("registrants.ended"),
        measure("registrants.active_now"),
        measure("registrants.renewal_due"),
        measure("registrants.renewal_renewed"),
        measure("registrants.exam_season"),
        measure("registrants.age_band"),
        measure("registrants.projection"),
    )
    months = facts.months("registrants.active", "registrants.new")
    monthly = tuple(
        (
            labels.month_label(m),
            facts.get("registrants.active", month=m),
            facts.get("registrants.new", month=m),
            facts.get("registrants.renewed", month=m),
            facts.get("registrants.lapsed", month=m),
            facts.get("registrants.ended", month=m),
        )
        for m in reversed(months)
    )
    now = facts.get("registrants.active_now")
    projection_rows = []
    series = [
        Series(
            "active",
            _("登録者数（月末）"),
            tuple((m, facts.get("registrants.active", month=m)) for m in months),
        )
    ]
    for method, label in (
        (LINEAR, _("線形（最小二乗法）")),
        (COMPOUND, _("複利（幾何平均の月次成長率）")),
    ):
        future = [
            (m, facts.get("registrants.projection", month=m, key=method))
            for m in facts.months("registrants.projection")
            if ("registrants.projection", m, "", "", method) in facts.cells
        ]
        if future:
            series.append(Series(method, label, tuple(future), dashed=True))
            last_month, last_value = future[-1]
            projection_rows.append(
                (
                    label,
                    labels.month_label(last_month),
                    last_value,
                    percent(last_value, REGISTRANT_TARGET),
                )
            )
    cohorts = facts.keys("registrants.renewal_due")
    cohort_rows = tuple(
        (
            labels.cohort(c),
            facts.get("registrants.renewal_due", key=c),
            facts.get("registrants.renewal_renewed", key=c),
            percent(
                facts.get("registrants.renewal_renewed", key=c),
                facts.get("registrants.renewal_due", key=c),
            ),
        )
        for c in cohorts
    )
    reasons = tuple(
        (labels.end_reason(k), sum(facts.get("registrants.ended", month=m, key=k) for m in months))
        for k in facts.keys_any_month("registrants.ended")
    )
    seasons = tuple(
        (labels.exam(k), facts.get("registrants.exam_season", key=k))
        for k in facts.keys("registrants.exam_season")
    )
    ages = tuple(
        (labels.age(k), facts.get("registrants.age_band", key=k))
        for k in labels.AGE_LABELS
        if facts.get("registrants.age_band", key=k)
    )
    by_prefecture = tuple(
        (labels.prefecture(code), facts.get("registrants.active_now", prefecture=code))
        for code in PREFECTURE_CODES
    )
    tables = (
        Table(
            key="monthly",
            title=_("月別の登録者数"),
            headers=(
                _("月"),
                _("月末の登録者数"),
                _("新規登録"),
                _("更新"),
                _("失効"),
                _("登録の終了"),
            ),
            rows=monthly,
            note=_("今月の登録者数は集計日時点の数です。"),
        ),
        Table(
            key="projection",
            title=_("2030年の見通し（目標 %(target)s人）") % {"target": _number(REGISTRANT_TARGET)},
            headers=(_("方法"), _("時点"), _("見込みの登録者数"), _("目標に対する割合")),
            rows=tuple(projection_rows),
            note=_(
                "直近24か月の月末登録者数から推計しています。方法は docs/insights.md に記載しています。"
            ),
        ),
        Table(
            key="cohorts",
            title=_("登録した半期（コホート）別の更新率"),
            headers=(_("コホート"), _("最初の更新時期を迎えた人"), _("更新した人"), _("更新率")),
            rows=cohort_rows,
        ),
        counts_table(
            "ended",
            _("登録の終了の理由（全期間）"),
            _("理由"),
            reasons,
            unit=_("人数"),
            total=sum(n for _label, n in reasons),
        ),
        counts_table(
            "exam",
            _("試験の期別の登録者数（現在）"),
            _("試験の期"),
            seasons,
            unit=_("人数"),
            total=facts.get("registrants.exam_season"),
        ),
        counts_table(
            "ages",
            _("年代別の登録者数（現在）"),
            _("年代"),
            ages,
            unit=_("人数"),
            total=facts.get("registrants.age_band"),
        ),
        Table(
            key="prefectures",
            title=_("自宅都道府県別の登録者数（現在）"),
            headers=(_("都道府県"), _("人数")),
            rows=by_prefecture,
            total=(_("全国（海外在住を含む）"), now),
        ),
    )
    return Page(
        slug="registrants",
        title=_("登録者"),
        report=Report(
            "insights-registrants", _("登録者"), _as_of(refresh), tables, "insights-registrants"
        ),
        kpis=[
            Kpi(
                _("登録者数（現在）"),
                _number(now),
                _("目標 %(target)s人（2030年）") % {"target": _number(REGISTRANT_TARGET)},
            ),
            Kpi(_("目標に対する割合"), str(percent(now, REGISTRANT_TARGET))),
        ],
        series=series,
        target=REGISTRANT_TARGET,
    )


# ------------------------------------------------------------------ supply


def supply(refresh: Refresh | None) -> Page:
    facts = Facts.load(
        measure("supply.listed"),
        measure("supply.accepting"),
        measure("supply.full"),
        measure("supply.freshness"),
        measure("supply.listed_by_home"),
        measure("registrants.active_now"),
    )

    def row(label: str, **where: str) -> tuple[Cell, ...]:
        return (
            label,
            facts.get("supply.listed", **where),
            facts.get("supply.accepting", **where),
            facts.get("supply.full", **where),
        )

    headers = (_("掲載中"), _("受付中"), _("受付可能件数に達している"))
    listed = facts.get("supply.listed")
    active = facts.get("registrants.active_now")
    by_prefecture = tuple(
        row(labels.prefecture(code), prefecture=code) for code in PREFECTURE_CODES
    )
    by_theme = tuple(row(labels.theme(code), theme=code) for code in labels.THEME_CODES)
    shares = tuple(
        (
            labels.prefecture(code),
            facts.get("registrants.active_now", prefecture=code),
            facts.get("supply.listed_by_home", prefecture=code),
            percent(
                facts.get("supply.listed_by_home", prefecture=code),
                facts.get("registrants.active_now", prefecture=code),
            ),
        )
        for code in PREFECTURE_CODES
    )
    freshness = tuple(
        (_("%(band)s日") % {"band": k}, facts.get("supply.freshness", key=k))
        for k in facts.keys("supply.freshness")
    )
    tables = (
        Table(
            key="prefectures",
            title=_("支援地域の都道府県別"),
            headers=(_("都道府県"), *headers),
            rows=by_prefecture,
            total=row(_("全国"), prefecture=""),
            note=_(
                "複数の都道府県を支援地域にしている人は、それぞれに数えます。全国の行は人数です。"
            ),
        ),
        Table(
            key="themes",
            title=_("指導テーマ別"),
            headers=(_("指導テーマ"), *headers),
            rows=by_theme,
            total=row(_("全テーマ"), theme=""),
            chart=tuple((label, n) for label, n, *_rest in by_theme),
        ),
        counts_table(
            "freshness",
            _("最終更新からの日数（掲載中）"),
            _("最終更新からの日数"),
            freshness,
            unit=_("掲載数"),
            total=facts.get("supply.freshness"),
            note=_("180日を超えると更新を促し、365日を超えると掲載されなくなります。"),
        ),
        Table(
            key="share",
            title=_("登録者のうち掲載している人の割合（自宅都道府県別）"),
            headers=(_("都道府県"), _("登録者"), _("掲載中"), _("割合")),
            rows=shares,
            total=(
                _("全国"),
                active,
                facts.get("supply.listed_by_home"),
                percent(facts.get("supply.listed_by_home"), active),
            ),
        ),
    )
    return Page(
        slug="supply",
        title=_("アクティブリストの供給"),
        report=Report(
            "insights-supply",
            _("アクティブリストの供給"),
            _as_of(refresh),
            tables,
            "insights-supply",
        ),
        kpis=[
            Kpi(_("掲載中"), _number(listed)),
            Kpi(_("受付中"), _number(facts.get("supply.accepting"))),
            Kpi(
                _("登録者のうち掲載している割合"),
                str(percent(facts.get("supply.listed_by_home"), active)),
            ),
        ],
    )


# ------------------------------------------------------------------ demand


DEMAND_MEASURES = (
    "demand.searches",
    "demand.unmet_searches",
    "demand.diagnoses",
    "funnel.inquiries",
    "funnel.participants",
)


def demand(refresh: Refresh | None) -> Page:
    facts = Facts.load(
        *(measure(m, theme="") for m in DEMAND_MEASURES),
        *(measure(m, prefecture="") for m in DEMAND_MEASURES),
        measure("demand.searches_by_form"),
        measure("supply.accepting", theme=""),
    )
    months = facts.months(*DEMAND_MEASURES)
    recent = _recent(months, refresh)

    def counts(**where: str) -> tuple[int, ...]:
        searches = facts.total("demand.searches", recent, **where)
        unmet = facts.total("demand.unmet_searches", recent, **where)
        return (
            searches,
            unmet,
            percent(unmet, searches),
            *(facts.total(m, recent, **where) for m in DEMAND_MEASURES[2:]),
        )  # type: ignore[return-value]

    headers = (
        _("検索"),
        _("3人未満だった検索"),
        _("割合"),
        _("自己診断"),
        _("相談の依頼"),
        _("相談会の参加企業"),
    )
    monthly = tuple(
        (
            labels.month_label(m),
            facts.get("demand.searches", month=m),
            facts.get("demand.unmet_searches", month=m),
            percent(
                facts.get("demand.unmet_searches", month=m), facts.get("demand.searches", month=m)
            ),
            facts.get("demand.diagnoses", month=m),
            facts.get("funnel.inquiries", month=m),
            facts.get("funnel.participants", month=m),
        )
        for m in reversed(months)
    )
    by_prefecture = tuple(
        (
            labels.prefecture(code),
            *counts(prefecture=code),
            facts.get("supply.accepting", prefecture=code),
        )
        for code in PREFECTURE_CODES
    )
    by_theme = tuple((labels.theme(code), *counts(theme=code)) for code in labels.THEME_CODES)
    forms = tuple(
        (labels.form(k), facts.total("demand.searches_by_form", recent, key=k))
        for k in facts.keys_any_month("demand.searches_by_form")
    )
    period = (
        _("直近%(n)sか月（%(first)s〜%(last)s）")
        % {
            "n": len(recent),
            "first": labels.month_label(recent[0]),
            "last": labels.month_label(recent[-1]),
        }
        if recent
        else ""
    )
    tables = (
        Table(
            key="monthly", title=_("月別の需要（全国）"), headers=(_("月"), *headers), rows=monthly
        ),
        Table(
            key="prefectures",
            title=_("都道府県別の需要（%(period)s）") % {"period": period},
            headers=(_("都道府県"), *headers, _("受付中の登録セキスペ（現在）")),
            rows=by_prefecture,
            total=(_("全国"), *counts(prefecture=""), facts.get("supply.accepting")),
            note=_("都道府県を指定しない検索・依頼は全国にだけ数えます。"),
        ),
        Table(
            key="themes",
            title=_("指導テーマ別の需要（%(period)s）") % {"period": period},
            headers=(_("指導テーマ"), *headers),
            rows=by_theme,
            total=(_("全テーマ"), *counts(theme="")),
        ),
        counts_table(
            "forms",
            _("支援形態別の検索（%(period)s）") % {"period": period},
            _("支援形態"),
            forms,
            unit=_("検索"),
        ),
    )
    national = counts(prefecture="")
    return Page(
        slug="demand",
        title=_("需要"),
        report=Report("insights-demand", _("需要"), _as_of(refresh), tables, "insights-demand"),
        kpis=[
            Kpi(_("検索（直近12か月）"), _number(national[0])),
            Kpi(
                _("3人未満だった検索の割合"),
                str(national[2]),
                _("地元で受付中の登録セキスペが3人未満"),
            ),
            Kpi(_("相談の依頼（直近12か月）"), _number(national[4])),
        ],
    )


# ------------------------------------------------------------------ funnel

STAGES: tuple[tuple[str, object], ...] = (
    ("funnel.events", gettext_lazy("相談会")),
    ("funnel.participants", gettext_lazy("参加企業")),
    ("funnel.consultations", gettext_lazy("個別相談")),
    ("funnel.inquiries", gettext_lazy("相談の依頼")),
    ("funnel.accepted", gettext_lazy("受諾")),
    ("funnel.planned", gettext_lazy("訪問指導の計画")),
    ("funnel.completed", gettext_lazy("訪問指導の完了")),
    ("funnel.confirmed", gettext_lazy("企業の完了確認")),
)
COMPANY_STAGES = tuple(slug for slug, _label in STAGES[1:])


def _minutes(value: int) -> str:
    if not value:
        return "—"
    return _("%(hours).1f時間") % {"hours": value / 60}


def funnel(refresh: Refresh | None) -> Page:
    facts = Facts.load(
        measure("funnel.events"),
        *(measure(m, theme="") for m in COMPANY_STAGES),
        *(measure(m, prefecture="") for m in COMPANY_STAGES),
        measure("funnel.accept_minutes_median"),
        measure("funnel.declined"),
        measure("funnel.closed"),
        measure("funnel.first_free"),
    )
    months = facts.months(*(slug for slug, _label in STAGES))
    stage_totals = tuple((str(label), facts.total(slug, months)) for slug, label in STAGES)
    monthly = tuple(
        (
            labels.month_label(m),
            *(facts.get(slug, month=m) for slug, _label in STAGES),
            _minutes(facts.get("funnel.accept_minutes_median", month=m)),
        )
        for m in reversed(months)
    )

    def company_row(label: str, **where: str) -> tuple[Cell, ...]:
        return (label, *(facts.total(slug, months, **where) for slug in COMPANY_STAGES))

    accepted = facts.total("funnel.accepted", months)
    free = facts.total("funnel.first_free", months)
    declined = tuple(
        (labels.decline(k), facts.total("funnel.declined", months, key=k))
        for k in facts.keys_any_month("funnel.declined")
    )
    closed = tuple(
        (labels.close(k), facts.total("funnel.closed", months, key=k))
        for k in facts.keys_any_month("funnel.closed")
    )
    stage_headers = tuple(str(label) for _slug, label in STAGES[1:])
    tables = (
        counts_table(
            "stages",
            _("段階別の件数（全期間）"),
            _("段階"),
            stage_totals,
            note=_("各段階は、それが起きた月に数えます（相談会・参加・個別相談は開催日）。"),
        ),
        Table(
            key="monthly",
            title=_("月別"),
            headers=(
                _("月"),
                *(str(label) for _slug, label in STAGES),
                _("受諾までの時間（中央値）"),
            ),
            rows=monthly,
        ),
        Table(
            key="prefectures",
            title=_("企業の都道府県別（全期間）"),
            headers=(_("都道府県"), *stage_headers),
            rows=tuple(company_row(labels.prefecture(c), prefecture=c) for c in PREFECTURE_CODES),
            total=company_row(_("全国"), prefecture=""),
        ),
        Table(
            key="themes",
            title=_("指導テーマ別（全期間）"),
            headers=(_("指導テーマ"), *stage_headers),
            rows=tuple(company_row(labels.theme(c), theme=c) for c in labels.THEME_CODES),
            total=company_row(_("全テーマ"), theme=""),
        ),
        counts_table(
            "declined", _("辞退の理由"), _("理由"), declined, total=sum(n for _l, n in declined)
        ),
        counts_table(
            "closed", _("終了の理由"), _("理由"), closed, total=sum(n for _l, n in closed)
        ),
        Table(
            key="free",
            title=_("初回無料で始まった受諾"),
            headers=(_("期間"), _("受諾"), _("うち初回無料"), _("割合")),
            rows=((_("全期間"), accepted, free, percent(free, accepted)),),
            note=_("企業が初回無料を希望し、専門家の掲載情報が初回相談無料としている受諾です。"),
        ),
    )
    return Page(
        slug="funnel",
        title=_("全国のファネル"),
        report=Report(
            "insights-funnel", _("全国のファネル"), _as_of(refresh), tables, "insights-funnel"
        ),
        kpis=[
            Kpi(_("相談の依頼"), _number(facts.total("funnel.inquiries", months))),
            Kpi(_("受諾"), _number(accepted)),
            Kpi(_("受諾までの時間（中央値）"), _minutes(facts.get("funnel.accept_minutes_median"))),
            Kpi(_("訪問指導の完了"), _number(facts.total("funnel.completed", months))),
        ],
    )


# ------------------------------------------------------------------ SMEs

STEPS = ("1", "2", "3", "4")
LEVELS = ("0", "1", "2")


def _pivot(facts: Facts, slug: str, name: Callable[[str], str]) -> tuple[tuple[Cell, ...], ...]:
    """Rows per code of a "code:step" measure, a column per Step."""
    codes = sorted({k.split(":", 1)[0] for k in facts.keys(slug)} - {ANY})
    rows = []
    for code in codes:
        counts = [facts.get(slug, key=f"{code}:{s}") for s in STEPS]
        rows.append((name(code), *counts, facts.get(slug, key=f"{code}:{ANY}")))
    return tuple(rows)


def smes(refresh: Refresh | None) -> Page:
    facts = Facts.load(
        measure("smes.step"),
        measure("smes.industry_step"),
        measure("smes.size_step"),
        measure("smes.security_action_level"),
        measure("smes.step_ups"),
        measure("smes.diagnosed_twice"),
        measure("smes.themes_recommended", prefecture=""),
    )
    step_headers = tuple(labels.step(s) for s in STEPS)
    national = tuple((labels.step(s), facts.get("smes.step", key=s)) for s in STEPS)

    def step_row(label: str, **where: str) -> tuple[Cell, ...]:
        counts = [facts.get("smes.step", key=s, **where) for s in STEPS]
        return (label, *counts, facts.get("smes.step", **where))

    def level_row(label: str, **where: str) -> tuple[Cell, ...]:
        counts = [facts.get("smes.security_action_level", key=k, **where) for k in LEVELS]
        return (label, *counts, facts.get("smes.security_action_level", **where))

    ups = tuple(
        (
            _("%(first)s → %(last)s")
            % {"first": labels.step(k.split(":")[0]), "last": labels.step(k.split(":")[1])},
            facts.get("smes.step_ups", key=k),
        )
        for k in facts.keys("smes.step_ups")
    )
    themes = tuple(
        (labels.theme(code), facts.get("smes.themes_recommended", theme=code))
        for code in labels.THEME_CODES
    )
    companies = facts.get("smes.step")
    tables = (
        counts_table(
            "steps",
            _("ステップ別の企業数"),
            _("ステップ"),
            national,
            unit=_("企業数"),
            total=companies,
            note=_(
                "アカウントのある企業は最新の診断、アカウントのない診断は1件を1社として数えます。"
            ),
        ),
        Table(
            key="prefectures",
            title=_("都道府県別のステップ"),
            headers=(_("都道府県"), *step_headers, _("合計")),
            rows=tuple(step_row(labels.prefecture(c), prefecture=c) for c in PREFECTURE_CODES),
            total=step_row(_("全国（所在地の回答なしを含む）"), prefecture=""),
        ),
        Table(
            key="industries",
            title=_("業種別のステップ"),
            headers=(_("業種"), *step_headers, _("合計")),
            rows=_pivot(facts, "smes.industry_step", labels.industry),
        ),
        Table(
            key="sizes",
            title=_("従業員規模別のステップ"),
            headers=(_("従業員数"), *step_headers, _("合計")),
            rows=_pivot(facts, "smes.size_step", labels.size),
        ),
        Table(
            key="levels",
            title=_("自己診断から見た SECURITY ACTION の段階（都道府県別）"),
            headers=(_("都道府県"), *(labels.level(k) for k in LEVELS), _("合計")),
            rows=tuple(level_row(labels.prefecture(c), prefecture=c) for c in PREFECTURE_CODES),
            total=level_row(_("全国"), prefecture=""),
            note=_("段階は診断結果と同じ規則（ステップ − 1、最大2）です。"),
        ),
        Table(
            key="step-ups",
            title=_("診断を重ねてステップが上がった企業"),
            headers=(_("最初 → 最新"), _("企業数")),
            rows=ups,
            total=(
                _("合計（2回以上診断した %(n)s社のうち）")
                % {"n": _number(facts.get("smes.diagnosed_twice"))},
                facts.get("smes.step_ups"),
            ),
        ),
        counts_table(
            "themes",
            _("勧められた指導テーマ"),
            _("指導テーマ"),
            themes,
            unit=_("企業数"),
            note=_("1社に最大3テーマを勧めるため、合計は企業数を超えます。"),
        ),
    )
    return Page(
        slug="smes",
        title=_("中小企業"),
        report=Report("insights-smes", _("中小企業"), _as_of(refresh), tables, "insights-smes"),
        kpis=[
            Kpi(_("自己診断を受けた企業"), _number(companies)),
            Kpi(_("ステップが上がった企業"), _number(facts.get("smes.step_ups"))),
        ],
    )


# ------------------------------------------------------------------ SECURITY ACTION


def security_action(refresh: Refresh | None) -> Page:
    facts = Facts.load(
        measure("security_action.declared_now"),
        measure("security_action.declared"),
        measure("security_action.step_ups", prefecture=""),
    )

    def row(label: str, code: str) -> tuple[Cell, ...]:
        return (
            label,
            facts.get("security_action.declared_now", prefecture=code, key="1"),
            facts.get("security_action.declared_now", prefecture=code, key="2"),
            facts.get("security_action.declared_now", prefecture=code),
        )

    outside = sum(
        facts.get("security_action.declared_now", prefecture=c)
        for c in PREFECTURE_CODES
        if outside_metro(c)
    )
    months = facts.months("security_action.declared", "security_action.step_ups")
    monthly = tuple(
        (
            labels.month_label(m),
            facts.get("security_action.declared", month=m, key="1"),
            facts.get("security_action.declared", month=m, key="2"),
            facts.get("security_action.step_ups", month=m),
        )
        for m in reversed(months)
    )
    step_ups = facts.total("security_action.step_ups", months)
    metro_names = "、".join(
        labels.prefecture(c) for codes in METRO_PREFECTURES.values() for c in codes
    )
    tables = (
        Table(
            key="progress",
            title=_("3大都市圏を除く36道県の宣言企業数"),
            headers=(_("区分"), _("企業数"), _("目標"), _("目標に対する割合")),
            rows=(
                (
                    _("36道県"),
                    outside,
                    SECURITY_ACTION_TARGET,
                    percent(outside, SECURITY_ACTION_TARGET),
                ),
            ),
            note=_("除く11都府県：%(names)s（3大都市圏：東京圏・名古屋圏・関西圏）。")
            % {"names": metro_names},
        ),
        Table(
            key="prefectures",
            title=_("都道府県別の宣言企業数（各企業の最新の宣言）"),
            headers=(_("都道府県"), "★", "★★", _("合計")),
            rows=tuple(
                row(labels.prefecture(c) + ("" if outside_metro(c) else _("（3大都市圏）")), c)
                for c in PREFECTURE_CODES
            ),
            total=row(_("全国"), ""),
        ),
        Table(
            key="monthly",
            title=_("月別の宣言とステップアップ"),
            headers=(_("月"), _("★の宣言"), _("★★の宣言"), _("★から★★へのステップアップ")),
            rows=monthly,
            total=(
                _("合計"),
                facts.total("security_action.declared", months, key="1"),
                facts.total("security_action.declared", months, key="2"),
                step_ups,
            ),
        ),
    )
    return Page(
        slug="security_action",
        title=_("SECURITY ACTION"),
        report=Report(
            "insights-security-action",
            _("SECURITY ACTION"),
            _as_of(refresh),
            tables,
            "insights-security-action",
        ),
        kpis=[
            Kpi(
                _("36道県の宣言企業"),
                _number(outside),
                _("目標 %(target)s社") % {"target": _number(SECURITY_ACTION_TARGET)},
            ),
            Kpi(_("目標に対する割合"), str(percent(outside, SECURITY_ACTION_TARGET))),
            Kpi(_("★から★★へのステップアップ"), _number(step_ups)),
        ],
    )


# ------------------------------------------------------------------ overview


def overview(refresh: Refresh | None) -> Page:
    facts = Facts.load(
        measure("registrants.active_now", prefecture=""),
        measure("supply.listed", prefecture="", theme=""),
        measure("supply.accepting", prefecture="", theme=""),
        measure("demand.searches", prefecture="", theme=""),
        measure("demand.unmet_searches", prefecture="", theme=""),
        measure("funnel.inquiries", prefecture="", theme=""),
        measure("funnel.accepted", prefecture="", theme=""),
        measure("funnel.completed", prefecture="", theme=""),
        measure("security_action.declared_now", key=""),
    )
    recent = _recent(facts.months("demand.searches", "funnel.inquiries"), refresh)
    now = facts.get("registrants.active_now")
    searches = facts.total("demand.searches", recent)
    unmet = facts.total("demand.unmet_searches", recent)
    outside = sum(
        facts.get("security_action.declared_now", prefecture=c)
        for c in PREFECTURE_CODES
        if outside_metro(c)
    )
    rows: tuple[tuple[Cell, ...], ...] = (
        (_("登録者数（現在）"), now, REGISTRANT_TARGET, percent(now, REGISTRANT_TARGET)),
        (
            _("SECURITY ACTION 宣言企業（36道県）"),
            outside,
            SECURITY_ACTION_TARGET,
            percent(outside, SECURITY_ACTION_TARGET),
        ),
    )
    activity: tuple[tuple[Cell, ...], ...] = (
        (_("掲載中の登録セキスペ（現在）"), facts.get("supply.listed")),
        (_("受付中の登録セキスペ（現在）"), facts.get("supply.accepting")),
        (_("検索（直近12か月）"), searches),
        (_("うち地元で受付中が3人未満"), unmet),
        (_("相談の依頼（直近12か月）"), facts.total("funnel.inquiries", recent)),
        (_("受諾（直近12か月）"), facts.total("funnel.accepted", recent)),
        (_("訪問指導の完了（直近12か月）"), facts.total("funnel.completed", recent)),
    )
    tables = (
        Table(
            key="targets",
            title=_("目標に対する進み具合"),
            headers=(_("指標"), _("現在"), _("目標"), _("割合")),
            rows=rows,
        ),
        Table(
            key="activity", title=_("主な数値"), headers=(_("指標"), _("件数・人数")), rows=activity
        ),
    )
    return Page(
        slug="overview",
        title=_("政策の指標"),
        report=Report(
            "insights-overview", _("政策の指標"), _as_of(refresh), tables, "insights-overview"
        ),
        kpis=[
            Kpi(
                _("登録者数（現在）"),
                _number(now),
                _("目標 %(target)s人（2030年）") % {"target": _number(REGISTRANT_TARGET)},
            ),
            Kpi(
                _("SECURITY ACTION 宣言企業（36道県）"),
                _number(outside),
                _("目標 %(target)s社") % {"target": _number(SECURITY_ACTION_TARGET)},
            ),
            Kpi(
                _("地元で受付中が3人未満だった検索"), str(percent(unmet, searches)), _("直近12か月")
            ),
        ],
    )


BUILDERS: dict[str, Callable[[Refresh | None], Page]] = {
    "overview": overview,
    "registrants": registrants,
    "supply": supply,
    "demand": demand,
    "funnel": funnel,
    "smes": smes,
    "security_action": security_action,
}
