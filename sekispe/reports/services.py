"""The statutory and operational reports, as plain functions returning tables.

000 (b-1-7) lists what IPA reports to the Minister of Economy, Trade and
Industry: the registration status and the course results every half year
(reported in April and October), and the registrants missing courses every
year as of the fiscal-year end. The other two reports are operational: the
deregistrations by reason and the annual table of requests after
registration (b-1-6).

Each function returns a `Report`: a title, a period, and one or more `Table`s
of column headers, rows and a chart series. The pages, the CSV and the xlsx
exports all render the same `Report`, so the numbers can never disagree.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sekispe.core.templatetags.dates import day_text, range_text
from sekispe.intake.forms import fiscal_year_label
from sekispe.lib.dates import add_years, fiscal_year
from sekispe.reference import data as reference_data
from sekispe.registrant_requests.models import (
    POST_REGISTRATION_KINDS,
    DeregistrationReason,
    RegistrantRequest,
    RequestKind,
    RequestStatus,
)
from sekispe.registry.models import (
    CourseCompletion,
    CourseKind,
    ExamSeason,
    RegistryRecord,
    RegistryStatus,
)
from sekispe.registry.rules import COMMON, CourseRequirement, age_band
from sekispe.registry.services import completions_by_record, renewal_status_of

# A cell is text, a count, or a day; exports keep numbers and dates typed.
Cell = str | int | dt.date

# The registry opened in October 2016 (the first registrations took effect in April 2017).
FIRST_FISCAL_YEAR = 2016

# rules.age_band returns these keys; the labels are wrapped for translation here.
AGE_BANDS: tuple[tuple[str, str], ...] = (
    ("20歳未満", gettext_lazy("20歳未満")),
    ("20代", gettext_lazy("20代")),
    ("30代", gettext_lazy("30代")),
    ("40代", gettext_lazy("40代")),
    ("50代", gettext_lazy("50代")),
    ("60代以上", gettext_lazy("60代以上")),
    ("不明", gettext_lazy("不明")),
)
DEFAULT_PROVIDER = "IPA"


@dataclass(frozen=True)
class Table:
    """One table of a report: a caption, headers, rows, an optional total row and chart."""

    key: str  # stable id, for anchors and chart ids
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: tuple[Cell, ...] | None = None
    # (label, value) pairs drawn as a bar chart; empty for no chart.
    chart: tuple[tuple[str, int], ...] = ()
    # The xlsx sheet name (31 characters at most); the title when blank.
    sheet_name: str = ""
    note: str = ""


@dataclass(frozen=True)
class Report:
    slug: str  # "registration-status"
    title: str
    period: str  # "2026年10月1日現在", shown under the title
    tables: tuple[Table, ...]
    filename_stem: str  # "registration-status-2026-10-01"
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------- periods


@dataclass(frozen=True, order=True)
class HalfYear:
    """A half of a fiscal year: 上期 is April–September, 下期 October–March."""

    fiscal_year: int
    half: int  # 1 or 2

    CODE = re.compile(r"^(\d{4})H([12])$")

    @classmethod
    def parse(cls, code: str) -> HalfYear:
        """ "2026H1" → 上期 of FY2026; ValueError otherwise."""
        match = cls.CODE.match(code.strip())
        if not match:
            raise ValueError(code)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: dt.date) -> HalfYear:
        return cls(fiscal_year(day), 1 if 4 <= day.month <= 9 else 2)

    @property
    def code(self) -> str:
        return f"{self.fiscal_year}H{self.half}"

    @property
    def start(self) -> dt.date:
        if self.half == 1:
            return dt.date(self.fiscal_year, 4, 1)
        return dt.date(self.fiscal_year, 10, 1)

    @property
    def end(self) -> dt.date:
        if self.half == 1:
            return dt.date(self.fiscal_year, 9, 30)
        return dt.date(self.fiscal_year + 1, 3, 31)

    @property
    def label(self) -> str:
        if self.half == 1:
            return _("%(year)s年度上期") % {"year": self.fiscal_year}
        return _("%(year)s年度下期") % {"year": self.fiscal_year}

    def previous(self) -> HalfYear:
        if self.half == 2:
            return HalfYear(self.fiscal_year, 1)
        return HalfYear(self.fiscal_year - 1, 2)


def fiscal_year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """First and last day of a fiscal year (1 April – 31 March)."""
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def report_day_on_or_before(today: dt.date) -> dt.date:
    """The latest 1 April or 1 October on or before `today`: the half-yearly reporting day."""
    if today.month >= 10:
        return dt.date(today.year, 10, 1)
    if today.month >= 4:
        return dt.date(today.year, 4, 1)
    return dt.date(today.year - 1, 10, 1)


def last_complete_half(today: dt.date) -> HalfYear:
    return HalfYear.containing(today).previous()


def last_completed_fiscal_year(today: dt.date) -> int:
    return fiscal_year(today) - 1


def ja_date(day: dt.date) -> str:
    """A day in the one page format (docs/dates.md), era included when set."""
    return day_text(day)


def _period_label(start: dt.date, end: dt.date) -> str:
    return range_text(start, end)


# ---------------------------------------------------------------- 1. registration status


def _counts(queryset: QuerySet[Any], field: str) -> dict[Any, int]:
    """{value: count} grouped in the database (order_by() drops Meta.ordering from GROUP BY)."""
    return dict(queryset.order_by().values(field).annotate(n=Count("pk")).values_list(field, "n"))


def new_registrations_window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the six months ending on `as_of`: the registrations
    new since the previous half-yearly report (a 1 April or 1 October cohort
    is counted by the report on its own day, and only by that one)."""
    month = as_of.month - 6
    year, month = (as_of.year - 1, month + 12) if month <= 0 else (as_of.year, month)
    # Clamp the day: six months before 31 August is 28 or 29 February.
    day = min(as_of.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + dt.timedelta(days=1), as_of


SEASON_ORDER = {ExamSeason.SPRING: 0, ExamSeason.AUTUMN: 1}


def _exam_season_rows(new: QuerySet[Any]) -> list[tuple[str, int]]:
    """The new registrants by the exam sitting they passed, oldest first; then
    those exempted from the exam; then 不明 (no exam and no exemption on file,
    as for imported records)."""
    sittings: Counter[tuple[int, str]] = Counter()
    exempted = unknown = 0
    for year, season, exemption, n in (
        new.order_by()
        .values("exam_year", "exam_season", "exemption_basis")
        .annotate(n=Count("pk"))
        .values_list("exam_year", "exam_season", "exemption_basis", "n")
    ):
        if year and season in SEASON_ORDER:
            sittings[(year, season)] += n
        elif exemption:
            exempted += n
        else:
            unknown += n
    rows = [
        (f"{fiscal_year_label(year)} {ExamSeason(season).label}", n)
        for (year, season), n in sorted(
            sittings.items(), key=lambda item: (item[0][0], SEASON_ORDER[item[0][1]])
        )
    ]
    rows.append((_("試験の免除"), exempted))
    rows.append((_("不明"), unknown))
    return rows


def _industry_rows(new: QuerySet[Any]) -> list[tuple[str, int]]:
    """The new registrants by employer industry (JSIC major groups, all 20
    listed), then 不明 (no employer given, or not on file)."""
    by_code = _counts(new, "employer_industry_id")
    rows = [
        (f"{code} {name}", by_code.get(code, 0)) for code, name, _en in reference_data.INDUSTRIES
    ]
    known = {code for code, _name, _en in reference_data.INDUSTRIES}
    rows.append((_("不明"), sum(n for code, n in by_code.items() if code not in known)))
    return rows


def registration_status(as_of: dt.date) -> Report:
    """登録状況報告: registrants by status, and the active ones by prefecture, age and renewals.

    The status is the one stored today; registrants registered after `as_of`
    are left out.
    """
    records = RegistryRecord.objects.filter(registered_on__lte=as_of)
    active = records.filter(status=RegistryStatus.ACTIVE)

    by_status = _counts(records, "status")
    status_rows: list[tuple[str, int]] = [
        (str(label), by_status.get(value, 0)) for value, label in RegistryStatus.choices
    ]
    # A status outside the choices would otherwise vanish from the total.
    status_rows += [
        (value, n) for value, n in sorted(by_status.items()) if value not in RegistryStatus.values
    ]
    status_total = sum(by_status.values())

    by_prefecture = _counts(active, "home_prefecture_id")
    prefecture_rows = tuple(
        (pref.name, by_prefecture.get(pref.code, 0)) for pref in reference_data.PREFECTURES
    )
    active_total = sum(by_prefecture.values())

    by_age: Counter[str] = Counter()
    for birth_year, n in _counts(active, "birth_year").items():
        by_age[age_band(birth_year, as_of)] += n
    age_rows = tuple((str(label), by_age.get(key, 0)) for key, label in AGE_BANDS)

    by_renewals: Counter[int] = Counter()
    for count, n in _counts(active, "renewal_count").items():
        by_renewals[min(count, 3)] += n
    renewal_rows = (
        (_("0回"), by_renewals[0]),
        (_("1回"), by_renewals[1]),
        (_("2回"), by_renewals[2]),
        (_("3回以上"), by_renewals[3]),
    )

    first_new, last_new = new_registrations_window(as_of)
    new = records.filter(registered_on__gte=first_new, registered_on__lte=last_new)
    season_rows = tuple(_exam_season_rows(new))
    industry_rows = tuple(_industry_rows(new))
    new_total = sum(n for _label, n in season_rows)
    new_period = _period_label(first_new, last_new)

    count_header = _("人数")
    total_label = _("合計")
    tables = (
        Table(
            key="status",
            title=_("登録の状態別"),
            headers=(_("登録の状態"), count_header),
            rows=tuple(status_rows),
            total=(total_label, status_total),
            chart=tuple(status_rows),
            sheet_name=_("状態別"),
        ),
        Table(
            key="prefecture",
            title=_("自宅都道府県別（登録中）"),
            headers=(_("自宅都道府県"), count_header),
            rows=prefecture_rows,
            total=(total_label, active_total),
            chart=prefecture_rows,
            sheet_name=_("都道府県別"),
        ),
        Table(
            key="age",
            title=_("年齢層別（登録中）"),
            headers=(_("年齢層"), count_header),
            rows=age_rows,
            total=(total_label, active_total),
            chart=age_rows,
            sheet_name=_("年齢層別"),
            note=_("年齢は基準日の年に達する年齢です（登録簿には生年のみ記録されています）。"),
        ),
        Table(
            key="renewals",
            title=_("更新回数別（登録中）"),
            headers=(_("更新回数"), count_header),
            rows=renewal_rows,
            total=(total_label, active_total),
            chart=renewal_rows,
            sheet_name=_("更新回数別"),
        ),
        Table(
            key="new-exam-season",
            title=_("新規登録者の合格した試験の期別（%(period)s）") % {"period": new_period},
            headers=(_("合格した試験"), count_header),
            rows=season_rows,
            total=(total_label, new_total),
            chart=season_rows,
            sheet_name=_("新規・試験の期別"),
            note=_(
                "この期間に登録した人を、合格した試験の期で数えています（登録の状態は問いません）。"
                "試験の全部免除などで登録した人は「試験の免除」、"
                "登録簿に記録のない人は「不明」です。"
            ),
        ),
        Table(
            key="new-industry",
            title=_("新規登録者の勤務先の業種別（%(period)s）") % {"period": new_period},
            headers=(_("勤務先の業種（日本標準産業分類）"), count_header),
            rows=industry_rows,
            total=(total_label, new_total),
            chart=industry_rows,
            sheet_name=_("新規・業種別"),
            note=_("勤務先のない人、勤務先の業種が登録簿に記録されていない人は「不明」です。"),
        ),
    )
    return Report(
        slug="registration-status",
        title=_("登録状況報告"),
        period=_("%(day)s現在") % {"day": ja_date(as_of)},
        tables=tables,
        filename_stem=f"registration-status-{as_of.isoformat()}",
        notes=(
            _(
                "基準日までに登録した人を数えています。登録の状態は現在の登録簿の値です。"
                "基準日より後に登録した人は含みません。"
            ),
        ),
    )


# ---------------------------------------------------------------- 2. course results


def course_results(start: dt.date, end: dt.date, *, label: str = "") -> Report:
    """講習実施結果報告: completions from `start` to `end` (inclusive) per kind and provider.

    A blank provider is IPA's own course (the common and practical courses).
    Deemed attendance is no course held, so it is left out here; it has its
    own report (reports/deemed.py).
    """
    completions = (
        CourseCompletion.objects.filter(completed_on__gte=start, completed_on__lte=end)
        .exclude(kind=CourseKind.DEEMED)
        .order_by()
    )
    kind_labels = dict(CourseKind.choices)
    kind_order = {value: n for n, value in enumerate(CourseKind.values)}

    by_kind = {
        row["kind"]: row
        for row in completions.values("kind").annotate(
            n=Count("pk"), people=Count("record", distinct=True)
        )
    }
    overall = completions.aggregate(n=Count("pk"), people=Count("record", distinct=True))
    held = [kind for kind in CourseKind.values if kind != CourseKind.DEEMED]
    kinds = held + sorted(set(by_kind) - set(CourseKind.values))
    kind_rows = tuple(
        (
            str(kind_labels.get(kind, kind)),
            by_kind.get(kind, {}).get("n", 0),
            by_kind.get(kind, {}).get("people", 0),
        )
        for kind in kinds
    )

    by_provider = (
        completions.annotate(
            provider_name=Coalesce(NullIf(F("provider"), Value("")), Value(DEFAULT_PROVIDER))
        )
        .values("kind", "provider_name")
        .annotate(n=Count("pk"), people=Count("record", distinct=True))
    )
    provider_rows = tuple(
        (
            str(kind_labels.get(row["kind"], row["kind"])),
            row["provider_name"],
            row["n"],
            row["people"],
        )
        for row in sorted(
            by_provider,
            key=lambda r: (kind_order.get(r["kind"], 99), r["kind"], -r["n"], r["provider_name"]),
        )
    )

    completions_header = _("修了件数")
    people_header = _("修了者数（実人数）")
    total_label = _("合計")
    period = _period_label(start, end)
    tables = (
        Table(
            key="kind",
            title=_("講習種別ごとの修了件数"),
            headers=(_("講習種別"), completions_header, people_header),
            rows=kind_rows,
            total=(total_label, overall["n"], overall["people"]),
            chart=tuple((str(label), n) for label, n, _people in kind_rows),
            sheet_name=_("講習種別"),
            note=_("合計の修了者数は、複数の講習を修了した人を1人と数えた実人数です。"),
        ),
        Table(
            key="provider",
            title=_("講習種別・実施機関ごとの修了件数"),
            headers=(_("講習種別"), _("実施機関"), completions_header, people_header),
            rows=provider_rows,
            total=(total_label, "", overall["n"], overall["people"]),
            chart=tuple((f"{kind} / {provider}", n) for kind, provider, n, _p in provider_rows),
            sheet_name=_("実施機関別"),
        ),
    )
    return Report(
        slug="course-results",
        title=_("講習実施結果報告"),
        period=f"{label}（{period}）" if label else period,
        tables=tables,
        filename_stem=(
            f"course-results-{label_code}"
            if (label_code := _half_code(start, end))
            else f"course-results-{start.isoformat()}-{end.isoformat()}"
        ),
        notes=(
            _("修了日が期間内の講習修了を数えています。実施機関の記録がないものはIPAの講習です。"),
        ),
    )


def _half_code(start: dt.date, end: dt.date) -> str:
    half = HalfYear.containing(start)
    return half.code if (half.start, half.end) == (start, end) else ""


# ---------------------------------------------------------------- 3. missing courses


@dataclass(frozen=True)
class MissingCourse:
    registration_number: str
    name: str
    prefecture: str
    expires_on: dt.date
    missing: tuple[CourseRequirement, ...]  # by due date

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(r.label for r in self.missing)


def missing_course_list(as_of: dt.date) -> list[MissingCourse]:
    """Active registrants with a course due on or before `as_of` and not done or waived.

    One query for the records and one per 900 records for their completions, never
    one per record.
    """
    # A period's first course falls due at the end of its first year, two years before
    # its expiry (a disaster extension only moves deadlines later): a registrant whose
    # expiry is further off than that cannot have missed anything yet.
    records = list(
        RegistryRecord.objects.filter(
            status=RegistryStatus.ACTIVE,
            registered_on__lte=as_of,
            expires_on__lte=add_years(as_of, 2),
        )
        .select_related("extension_measure")
        .only(
            "registration_number",
            "name",
            "home_prefecture",
            "expires_on",
            "extension_measure__new_deadline",
            "extension_measure__deadline_from",
            "extension_measure__waived_courses",
        )
        .order_by("registration_number")
    )
    completions = completions_by_record(r.pk for r in records)
    prefecture_names = {p.code: p.name for p in reference_data.PREFECTURES}
    found: list[MissingCourse] = []
    for record in records:
        status = renewal_status_of(record, today=as_of, completions=completions[record.pk])
        # A course due on the last day of the year is already missed at the year end.
        missing = [r for r in status.requirements if r.outstanding and r.due <= as_of]
        if missing:
            found.append(
                MissingCourse(
                    registration_number=record.registration_number,
                    name=record.name,
                    prefecture=prefecture_names.get(
                        record.home_prefecture_id, record.home_prefecture_id
                    ),
                    expires_on=record.expires_on,
                    missing=tuple(sorted(missing, key=lambda r: (r.due, r.kind != COMMON))),
                )
            )
    return found


def _summary_key(requirement: CourseRequirement) -> tuple[int, dt.date | None, str]:
    """Common courses by the start of their year, then the practical course.

    Every cohort's practical requirement has the same label, so they share one row.
    """
    if requirement.kind == COMMON:
        return (0, requirement.starts_on, requirement.label)
    return (1, None, requirement.label)


def missing_courses(year: int) -> Report:
    """講習未受講者報告: the annual list as of the fiscal-year end (31 March)."""
    _start, fy_end = fiscal_year_bounds(year)
    found = missing_course_list(fy_end)

    by_requirement: Counter[tuple[int, dt.date | None, str]] = Counter()
    for item in found:
        by_requirement.update(_summary_key(r) for r in item.missing)
    summary_rows = tuple(
        (label, n)
        for (_order, _starts, label), n in sorted(
            by_requirement.items(), key=lambda pair: (pair[0][0], pair[0][1] or fy_end)
        )
    )

    tables = (
        Table(
            key="summary",
            title=_("未受講の講習別の人数"),
            headers=(_("未受講の講習"), _("人数")),
            rows=summary_rows,
            total=(_("未受講者（実人数）"), len(found)),
            chart=summary_rows,
            sheet_name=_("集計"),
            note=_("1人が複数の講習を未受講のことがあるため、各行の合計は実人数と一致しません。"),
        ),
        Table(
            key="list",
            title=_("未受講者の一覧"),
            headers=(
                _("登録番号"),
                _("氏名"),
                _("自宅都道府県"),
                _("有効期限"),
                _("未受講の講習"),
            ),
            rows=tuple(
                (
                    item.registration_number,
                    item.name,
                    item.prefecture,
                    item.expires_on,
                    "、".join(item.labels),
                )
                for item in found
            ),
            sheet_name=_("一覧"),
        ),
    )
    return Report(
        slug="missing-courses",
        title=_("講習未受講者報告"),
        period=_("%(year)s年度末（%(day)s）時点") % {"year": year, "day": ja_date(fy_end)},
        tables=tables,
        filename_stem=f"missing-courses-FY{year}",
        notes=(
            _(
                "登録中の人のうち、年度末までに期限が来た講習を修了していない人です"
                "（災害特例で免除された講習を除きます）。講習の要件は現在の登録期間について判定します。"
            ),
        ),
    )


# ---------------------------------------------------------------- 4. deregistrations


def _day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, day after end 00:00) in the site's time zone, for datetime columns."""
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def deregistrations_by_reason(year: int) -> Report:
    """Approved deregistrations decided in the fiscal year, by the reason given (消除届)."""
    start, end = fiscal_year_bounds(year)
    since, until = _day_bounds(start, end)
    reasons: Counter[str] = Counter()
    unrecorded = 0
    for payload in RegistrantRequest.objects.filter(
        kind=RequestKind.DEREGISTRATION,
        status=RequestStatus.APPROVED,
        decided_at__gte=since,
        decided_at__lt=until,
    ).values_list("payload", flat=True):
        reason = payload.get("reason") if isinstance(payload, dict) else None
        if reason in DeregistrationReason.values:
            reasons[reason] += 1
        else:
            unrecorded += 1
    # Imported deregistrations, or ones recorded in the admin, have no request.
    unrecorded += (
        RegistryRecord.objects.filter(
            status=RegistryStatus.DEREGISTERED, ended_on__gte=start, ended_on__lte=end
        )
        .exclude(
            Exists(
                RegistrantRequest.objects.filter(
                    record=OuterRef("pk"),
                    kind=RequestKind.DEREGISTRATION,
                    status=RequestStatus.APPROVED,
                )
            )
        )
        .count()
    )
    rows: tuple[tuple[str, int], ...] = (
        *((str(label), reasons[value]) for value, label in DeregistrationReason.choices),
        (_("理由の記録なし（取込データ等）"), unrecorded),
    )
    return Report(
        slug="deregistrations",
        title=_("消除理由別の消除件数"),
        period=_("%(year)s年度（%(period)s）")
        % {"year": year, "period": _period_label(start, end)},
        tables=(
            Table(
                key="reasons",
                title=_("消除理由別"),
                headers=(_("消除理由"), _("件数")),
                rows=rows,
                total=(_("合計"), sum(n for _label, n in rows)),
                chart=rows,
                sheet_name=_("消除理由別"),
            ),
        ),
        filename_stem=f"deregistrations-FY{year}",
        notes=(
            _(
                "年度内に承認した消除届を、届出の理由ごとに数えています。"
                "消除届のない消除（登録簿の取込など）は、登録終了日が年度内のものを「理由の記録なし」に数えています。"
            ),
        ),
    )


# ---------------------------------------------------------------- 5. request counts


def request_counts(year: int, today: dt.date | None = None) -> Report:
    """The annual table of requests after registration (000 b-1-6): per kind, the
    number filed in the fiscal year and the cumulative number up to its end.

    The heading names the last day counted: the year's end once it is over,
    today while it runs (never a day still to come)."""
    _start, end = fiscal_year_bounds(year)
    counted_to = min(end, today or timezone.localdate())
    in_year: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    for kind, fy, n in (
        RegistrantRequest.objects.filter(fiscal_year__lte=year)
        .order_by()
        .values("kind", "fiscal_year")
        .annotate(n=Count("pk"))
        .values_list("kind", "fiscal_year", "n")
    ):
        cumulative[kind] += n
        if fy == year:
            in_year[kind] += n
    labels = dict(RequestKind.choices)
    rows: list[tuple[str, int, int]] = [
        (str(labels[kind]), in_year[kind], cumulative[kind]) for kind in POST_REGISTRATION_KINDS
    ]
    rows.append(
        (
            _("（参考）更新申請"),
            in_year[RequestKind.RENEWAL],
            cumulative[RequestKind.RENEWAL],
        )
    )
    return Report(
        slug="request-counts",
        title=_("登録後の各種申請の件数"),
        period=_("%(year)s年度（%(day)s現在）") % {"year": year, "day": ja_date(counted_to)},
        tables=(
            Table(
                key="requests",
                title=_("申請書別の件数"),
                headers=(
                    _("申請書名"),
                    _("件数（%(year)s年度）") % {"year": year},
                    _("件数（累計）"),
                ),
                rows=tuple(rows),
                chart=tuple((label, n) for label, n, _total in rows[:-1]),
                sheet_name=_("申請書別"),
                note=_(
                    "件数は提出された申請・届出の数で、審査中・却下を含みます。"
                    "更新申請は登録後の8種類の申請に含まれないため、参考として最後の行に示しています。"
                ),
            ),
        ),
        filename_stem=f"request-counts-FY{year}",
    )
