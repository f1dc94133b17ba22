"""Deemed attendance (みなし受講) per fiscal year, by syllabus area.

Applications are counted in the fiscal year they were made (`created_at`).
Every other column counts what happened in the year, from the application's
history (`DeemedEvent`): an approval later found false still counts as an
approval in its year, and its false finding in the year of the audit
outcome. `DeemedApplication.decided_at` cannot be used for this: a false
finding overwrites it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from sekispe.deemed.models import DeemedApplication, DeemedEvent
from sekispe.reference.models import SyllabusItem, SyllabusMajor
from sekispe.reports.services import Report, Table, fiscal_year_bounds, ja_date

# DeemedEvent actions counted, per column, in column order.
EVENT_COLUMNS = (
    ("approved", "approved"),
    ("rejected", "rejected"),
    ("audited", "audit_drawn"),
    ("confirmed", "audit_confirmed"),
    ("false_claims", "audit_false"),
)


@dataclass(frozen=True)
class DeemedRow:
    """One syllabus area (major item) or sub-item: what happened in the year."""

    code: str
    name: str
    applications: int
    approved: int
    rejected: int
    audited: int
    confirmed: int
    false_claims: int

    def cells(self) -> tuple[str | int, ...]:
        return (
            f"{self.code} {self.name}",
            self.applications,
            self.approved,
            self.rejected,
            self.audited,
            self.confirmed,
            self.false_claims,
        )


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[1 April 00:00, next 1 April 00:00) of the fiscal year, in the site's time zone."""
    start, end = fiscal_year_bounds(year)
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def _counts_by_item(year: int) -> dict[str, Counter[str]]:
    """{column: Counter(sub-item code → n)} for the fiscal year: two grouped queries."""
    since, until = _year_bounds(year)
    counts: dict[str, Counter[str]] = {"applications": Counter()}
    counts["applications"].update(
        dict(
            DeemedApplication.objects.filter(created_at__gte=since, created_at__lt=until)
            .order_by()
            .values_list("syllabus_item")
            .annotate(n=Count("pk"))
            .values_list("syllabus_item", "n")
        )
    )
    column_of = {action: column for column, action in EVENT_COLUMNS}
    for column, _action in EVENT_COLUMNS:
        counts[column] = Counter()
    for action, item, n in (
        DeemedEvent.objects.filter(at__gte=since, at__lt=until, action__in=list(column_of))
        .order_by()
        .values("action", "application__syllabus_item")
        .annotate(n=Count("pk"))
        .values_list("action", "application__syllabus_item", "n")
    ):
        counts[column_of[action]][item] += n
    return counts


def _row(code: str, name: str, counts: dict[str, Counter[str]], items: list[str]) -> DeemedRow:
    def total(column: str) -> int:
        return sum(counts[column][item] for item in items)

    return DeemedRow(
        code=code,
        name=name,
        applications=total("applications"),
        approved=total("approved"),
        rejected=total("rejected"),
        audited=total("audited"),
        confirmed=total("confirmed"),
        false_claims=total("false_claims"),
    )


def deemed_rows(year: int) -> tuple[list[DeemedRow], list[DeemedRow]]:
    """(rows per syllabus area 1–4, rows per sub-item) for the fiscal year.

    Every area and every sub-item has a row, zeros included, so the tables
    of two years line up.
    """
    counts = _counts_by_item(year)
    items = list(
        SyllabusItem.objects.order_by("major", "order").values_list("code", "name", "major")
    )
    by_major: dict[str, list[str]] = {}
    for code, _name, major in items:
        by_major.setdefault(major, []).append(code)
    areas = [
        _row(major.code, major.name, counts, by_major.get(major.code, []))
        for major in SyllabusMajor.objects.order_by("code")
    ]
    sub_items = [_row(code, name, counts, [code]) for code, name, _major in items]
    return areas, sub_items


def _total(rows: list[DeemedRow]) -> tuple[str | int, ...]:
    return (
        _("合計"),
        sum(r.applications for r in rows),
        sum(r.approved for r in rows),
        sum(r.rejected for r in rows),
        sum(r.audited for r in rows),
        sum(r.confirmed for r in rows),
        sum(r.false_claims for r in rows),
    )


def deemed_attendance(year: int) -> Report:
    """みなし受講の実施状況: applications, decisions and sample audits in the fiscal year."""
    start, end = fiscal_year_bounds(year)
    areas, sub_items = deemed_rows(year)
    headers = (
        _("申請件数"),
        _("承認"),
        _("却下"),
        _("サンプル調査（抽出）"),
        _("調査で事実と確認"),
        _("虚偽と判明"),
    )
    tables = (
        Table(
            key="areas",
            title=_("シラバスの分野別"),
            headers=(_("分野（大項目）"), *headers),
            rows=tuple(row.cells() for row in areas),
            total=_total(areas),
            chart=tuple(
                (_("分野%(code)s") % {"code": row.code}, row.applications) for row in areas
            ),
            sheet_name=_("分野別"),
            note=_("グラフは分野ごとの申請件数です。"),
        ),
        Table(
            key="items",
            title=_("シラバスの小項目別"),
            headers=(_("小項目"), *headers),
            rows=tuple(row.cells() for row in sub_items),
            total=_total(sub_items),
            sheet_name=_("小項目別"),
        ),
    )
    return Report(
        slug="deemed-attendance",
        title=_("みなし受講の実施状況"),
        period=_("%(year)s年度（%(start)s〜%(end)s）")
        % {"year": year, "start": ja_date(start), "end": ja_date(end)},
        tables=tables,
        filename_stem=f"deemed-attendance-FY{year}",
        notes=(
            _(
                "申請件数は年度内に行われた申請の数です（証明者の確認待ち・取下げを含みます）。"
                "承認・却下・サンプル調査の抽出・調査の結果は、年度内に行われたものを、"
                "申請の年度にかかわらず数えています。"
                "虚偽と判明した申請は、承認した年度の「承認」にも数えられています。"
            ),
        ),
    )
