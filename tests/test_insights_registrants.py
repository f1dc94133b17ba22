"""The registrant measures against a brute-force count over generated records."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.insights.areas import registrants
from sekispe.insights.tally import month_of, months_between
from sekispe.lib.dates import add_years
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registry.models import RegistryRecord
from sekispe.registry.rules import age_band
from sekispe.reports.services import HalfYear

TODAY = dt.date(2026, 11, 22)
ENDED = ("deregistered", "deceased", "revoked")

record = st.fixed_dictionaries(
    {
        "registered_on": st.dates(dt.date(2016, 10, 1), dt.date(2026, 11, 30)),
        "renewal_count": st.integers(0, 3),
        "status": st.sampled_from(["active", "active", "expired", *ENDED]),
        "ended_after": st.one_of(st.none(), st.integers(0, 3000)),
        "prefecture": st.sampled_from([None, "01", "13", "47"]),
        "birth_year": st.one_of(st.none(), st.integers(1940, 2008)),
        "exam_season": st.sampled_from(["", "spring", "autumn"]),
        "exempt": st.booleans(),
    }
)


def _create(items: list[dict]) -> list[RegistryRecord]:
    rows = []
    for n, item in enumerate(items):
        k = item["renewal_count"]
        registered = item["registered_on"]
        expires = add_years(registered, 3 * (k + 1)) - dt.timedelta(days=1)
        ended = None
        if item["ended_after"] is not None:
            ended = min(registered + dt.timedelta(days=item["ended_after"]), TODAY)
        rows.append(
            RegistryRecord(
                registration_number=f"{700000 + n:06d}",
                name="登録 太郎",
                name_kana="トウロク タロウ",
                registered_on=registered,
                expires_on=expires,
                renewal_count=k,
                status=item["status"],
                ended_on=ended if item["status"] in ENDED else None,
                home_prefecture_id=item["prefecture"],
                birth_year=item["birth_year"],
                exam_season=item["exam_season"],
                exemption_basis="approved_course"
                if item["exempt"] and not item["exam_season"]
                else "",
            )
        )
    return RegistryRecord.objects.bulk_create(rows)


def _last_day(r: RegistryRecord) -> dt.date | None:
    """The brute-force reading: None when the record was never valid."""
    if r.status in ENDED:
        if r.ended_on is None:
            return None
        return min(r.expires_on, r.ended_on - dt.timedelta(days=1))
    return r.expires_on


def _active(r: RegistryRecord, day: dt.date) -> bool:
    last = _last_day(r)
    return last is not None and r.registered_on <= day <= last


def _facts(tallies) -> dict:
    out = {}
    for tally in tallies:
        for cell in tally.cells():
            out[(cell.measure, cell.month, cell.prefecture, cell.theme, cell.key)] = cell.value
    return out


def _get(facts: dict, measure: str, month=None, prefecture="", key="") -> int:
    return facts.get((measure, month, prefecture, "", key), 0)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=st.lists(record, min_size=1, max_size=25))
def test_every_registrant_measure_matches_a_brute_force_count(db, items):
    with transaction.atomic():
        records = _create(items)
        facts = _facts(registrants.compute(TODAY))
        transaction.set_rollback(True)

    first = min(r.registered_on for r in records)
    for month in months_between(first, TODAY):
        day = (
            TODAY
            if month == month_of(TODAY)
            else ((month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1))
        )
        assert _get(facts, "registrants.active", month) == sum(_active(r, day) for r in records)
        for code in ("01", "13", "47"):
            expected = sum(_active(r, day) for r in records if r.home_prefecture_id == code)
            assert _get(facts, "registrants.active", month, code) == expected, (month, code)
        assert _get(facts, "registrants.new", month) == sum(
            month_of(r.registered_on) == month for r in records
        )
        assert _get(facts, "registrants.lapsed", month) == sum(
            r.status == "expired"
            and r.expires_on < TODAY
            and month_of(r.expires_on + dt.timedelta(days=1)) == month
            for r in records
        )
        ended = Counter(
            "unrecorded" if r.status == "deregistered" else r.status
            for r in records
            if r.status in ENDED and r.ended_on and month_of(r.ended_on) == month
        )
        for key, n in ended.items():
            assert _get(facts, "registrants.ended", month, key=key) == n
        assert _get(facts, "registrants.ended", month) == sum(ended.values())
        renewed = 0
        for r in records:
            starts = [
                add_years(r.expires_on + dt.timedelta(days=1), -3 * j)
                for j in range(1, r.renewal_count + 2)
            ]
            renewed += sum(month_of(s) == month and s <= TODAY for s in starts[:-1])
        assert _get(facts, "registrants.renewed", month) == renewed

    now = [r for r in records if _active(r, TODAY)]
    assert _get(facts, "registrants.active_now") == len(now)
    for code in ("01", "13", "47", "02"):
        assert _get(facts, "registrants.active_now", prefecture=code) == sum(
            r.home_prefecture_id == code for r in now
        )
    ages = Counter(age_band(r.birth_year, TODAY) for r in now)
    for key, n in ages.items():
        assert _get(facts, "registrants.age_band", key=key) == n
    seasons = Counter(r.exam_season or ("exempt" if r.exemption_basis else "unknown") for r in now)
    for key, n in seasons.items():
        assert _get(facts, "registrants.exam_season", key=key) == n

    due, renewed_cohort = Counter(), Counter()
    for r in records:
        first_expiry = add_years(r.registered_on, 3) - dt.timedelta(days=1)
        ended_before = r.status in ENDED and r.ended_on is not None and r.ended_on <= first_expiry
        if first_expiry < TODAY and not ended_before:
            cohort = HalfYear.containing(r.registered_on).code
            due[cohort] += 1
            renewed_cohort[cohort] += r.renewal_count >= 1
    for cohort, n in due.items():
        assert _get(facts, "registrants.renewal_due", key=cohort) == n
        assert _get(facts, "registrants.renewal_renewed", key=cohort) == renewed_cohort[cohort]
    assert _get(facts, "registrants.renewal_due") == sum(due.values())


def test_a_deregistration_counts_under_the_reason_its_request_gave(db):
    (r,) = _create(
        [
            {
                "registered_on": dt.date(2020, 4, 1),
                "renewal_count": 1,
                "status": "deregistered",
                "ended_after": 2000,
                "prefecture": "13",
                "birth_year": 1980,
                "exam_season": "spring",
                "exempt": False,
            }
        ]
    )
    RegistrantRequest.objects.create(
        record=r,
        kind=RequestKind.DEREGISTRATION,
        status=RequestStatus.APPROVED,
        payload={"reason": "cost"},
        fiscal_year=2025,
        submitted_at=timezone.now(),
    )
    facts = _facts(registrants.compute(TODAY))
    assert _get(facts, "registrants.ended", month_of(r.ended_on), key="cost") == 1
    assert _get(facts, "registrants.ended", month_of(r.ended_on), key="unrecorded") == 0


def test_a_disaster_extension_keeps_the_registrant_counted_until_60_days_after_the_new_deadline(db):
    from sekispe.registry.models import DisasterMeasure

    (r,) = _create(
        [
            {
                "registered_on": dt.date(2023, 4, 1),
                "renewal_count": 0,
                "status": "active",
                "ended_after": None,
                "prefecture": "47",
                "birth_year": None,
                "exam_season": "",
                "exempt": False,
            }
        ]
    )
    measure = DisasterMeasure.objects.create(
        title="令和8年の豪雨",
        deadline_from=dt.date(2026, 1, 1),
        deadline_to=dt.date(2026, 3, 31),
        new_deadline=dt.date(2026, 9, 30),
    )
    RegistryRecord.objects.filter(pk=r.pk).update(extension_measure=measure)
    facts = _facts(registrants.compute(TODAY))
    # Expired on 31 March 2026 but extended to 29 November 2026.
    assert _get(facts, "registrants.active", dt.date(2026, 10, 1)) == 1
    assert _get(facts, "registrants.active_now", prefecture="47") == 1
