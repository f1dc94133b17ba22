"""Registrants: the monthly stock and flows, renewal by cohort, who they are.

From each record's current state (the registry keeps no per-month snapshot):
- registered from `registered_on`; the last valid day is `expires_on` (or
  60 days after a disaster measure's new deadline), cut short by `ended_on`
  for a deregistration, death or revocation;
- renewal i (of `renewal_count`) took effect at the start of the i-th later
  period: the current period starts 3 years before the day after
  `expires_on`, and each earlier one 3 years before that;
- lapsed: status `expired`, in the month after the last valid day;
- cohort: the fiscal half-year of the first registration ("2019H2").
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sekispe.insights.tally import ALL, Tally, month_of, months_between
from sekispe.lib.dates import add_years
from sekispe.registrant_requests.models import (
    DeregistrationReason,
    RegistrantRequest,
    RequestKind,
    RequestStatus,
)
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.registry.rules import APPLICATION_DAYS_BEFORE_EXPIRY, PERIOD_YEARS, age_band
from sekispe.reports.services import HalfYear

ENDED = (RegistryStatus.DEREGISTERED, RegistryStatus.DECEASED, RegistryStatus.REVOKED)
# Keys of registrants.ended: the request's reason for a deregistration, else these.
UNRECORDED = "unrecorded"
EXEMPT = "exempt"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Row:
    """The parts of a RegistryRecord the registrant measures read."""

    pk: int
    registered_on: dt.date
    expires_on: dt.date
    renewal_count: int
    status: str
    ended_on: dt.date | None
    prefecture: str
    extended_deadline: dt.date | None
    exam_season: str
    exemption_basis: str
    birth_year: int | None

    @property
    def last_valid_day(self) -> dt.date:
        last = self.expires_on
        if self.extended_deadline is not None:
            last = max(
                last, self.extended_deadline + dt.timedelta(days=APPLICATION_DAYS_BEFORE_EXPIRY)
            )
        if self.status in ENDED and self.ended_on is not None:
            last = min(last, self.ended_on - dt.timedelta(days=1))
        return last

    def active_on(self, day: dt.date) -> bool:
        if self.status in ENDED and self.ended_on is None:
            return False
        return self.registered_on <= day <= self.last_valid_day

    @property
    def current_period_start(self) -> dt.date:
        return add_years(self.expires_on + dt.timedelta(days=1), -PERIOD_YEARS)

    def renewal_days(self) -> list[dt.date]:
        start, k = self.current_period_start, self.renewal_count
        return [add_years(start, -PERIOD_YEARS * (k - i)) for i in range(1, k + 1)]

    @property
    def first_expiry(self) -> dt.date:
        """The last day of the first period, when the first renewal was due."""
        first_start = add_years(self.current_period_start, -PERIOD_YEARS * self.renewal_count)
        return add_years(first_start, PERIOD_YEARS) - dt.timedelta(days=1)

    @property
    def cohort(self) -> str:
        return HalfYear.containing(self.registered_on).code

    @property
    def exam_key(self) -> str:
        if self.exam_season:
            return self.exam_season
        return EXEMPT if self.exemption_basis else UNKNOWN


def rows() -> list[Row]:
    return [
        Row(*values)
        for values in RegistryRecord.objects.order_by().values_list(
            "pk",
            "registered_on",
            "expires_on",
            "renewal_count",
            "status",
            "ended_on",
            "home_prefecture_id",
            "extension_measure__new_deadline",
            "exam_season",
            "exemption_basis",
            "birth_year",
        )
    ]


def deregistration_reasons() -> dict[int, str]:
    """Record id → the reason given in its approved deregistration request (消除届)."""
    reasons = {}
    for record_id, payload in RegistrantRequest.objects.filter(
        kind=RequestKind.DEREGISTRATION, status=RequestStatus.APPROVED
    ).values_list("record_id", "payload"):
        reason = payload.get("reason") if isinstance(payload, dict) else None
        if reason in DeregistrationReason.values:
            reasons[record_id] = reason
    return reasons


def end_reason(row: Row, reasons: dict[int, str]) -> str:
    if row.status == RegistryStatus.DEREGISTERED:
        return reasons.get(row.pk, UNRECORDED)
    return str(row.status)


def compute(today: dt.date, records: list[Row] | None = None) -> list[Tally]:
    records = rows() if records is None else records
    reasons = deregistration_reasons()
    active = Tally("registrants.active")
    active_now = Tally("registrants.active_now")
    new = Tally("registrants.new")
    renewed = Tally("registrants.renewed")
    lapsed = Tally("registrants.lapsed")
    ended = Tally("registrants.ended")
    due = Tally("registrants.renewal_due")
    renewed_cohort = Tally("registrants.renewal_renewed")
    seasons = Tally("registrants.exam_season")
    ages = Tally("registrants.age_band")

    current = month_of(today)
    # The stock at each month end from running sums: who started by then,
    # minus who was no longer valid by then.
    deltas: dict[dt.date, Counter[str]] = {}
    first = None
    for row in records:
        prefs = (row.prefecture,) if row.prefecture else ()
        first = row.registered_on if first is None else min(first, row.registered_on)
        new.add(month=row.registered_on, prefectures=prefs)
        last = row.last_valid_day
        if not (row.status in ENDED and row.ended_on is None) and last >= row.registered_on:
            pref_key = row.prefecture or ALL
            deltas.setdefault(month_of(row.registered_on), Counter())[pref_key] += 1
            # No longer counted at the end of the month of its last valid day,
            # unless that day is the month's last.
            gone = month_of(last + dt.timedelta(days=1))
            deltas.setdefault(gone, Counter())[pref_key] -= 1
        for day in row.renewal_days():
            if day <= today:
                renewed.add(month=day, prefectures=prefs)
        if row.status == RegistryStatus.EXPIRED:
            lapse = row.last_valid_day + dt.timedelta(days=1)
            if lapse <= today:
                lapsed.add(month=lapse, prefectures=prefs)
        if row.status in ENDED and row.ended_on is not None and row.ended_on <= today:
            ended.add(month=row.ended_on, keys=(end_reason(row, reasons),))
        if row.first_expiry < today and not (
            row.status in ENDED and row.ended_on is not None and row.ended_on <= row.first_expiry
        ):
            due.add(keys=(row.cohort,))
            if row.renewal_count >= 1:
                renewed_cohort.add(keys=(row.cohort,))
        if row.active_on(today):
            active_now.add(prefectures=prefs)
            seasons.add(keys=(row.exam_key,))
            ages.add(keys=(age_band(row.birth_year, today),))

    if first is not None:
        running: Counter[str] = Counter()
        for month in months_between(first, today):
            running.update(deltas.get(month, Counter()))
            # The current month is counted as of today, not its end.
            if month == current:
                break
            active.set(sum(running.values()), month=month)
            for pref_key, n in running.items():
                if pref_key and n:
                    active.set(n, month=month, prefecture=pref_key)
        now = sum(1 for row in records if row.active_on(today))
        active.set(now, month=current)
        for pref_key, n in Counter(
            row.prefecture for row in records if row.prefecture and row.active_on(today)
        ).items():
            active.set(n, month=current, prefecture=pref_key)
    active_now.zero_fill()
    return [active, active_now, new, renewed, lapsed, ended, due, renewed_cohort, seasons, ages]
