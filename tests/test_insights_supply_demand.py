"""Supply and demand measures against brute-force counts over generated data."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.diagnosis.models import Diagnosis
from sekispe.inquiries.models import Inquiry
from sekispe.inquiries.rules import OPEN_ENGAGEMENT
from sekispe.insights.areas import demand, supply
from sekispe.insights.tally import PREFECTURE_CODES, THEME_CODES, month_of
from sekispe.listings.models import Listing
from sekispe.search.models import SearchDemand
from tests.factories import TODAY, create_specialists, make_user, random_inputs

SLOW = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def facts_of(tallies) -> dict:
    return {
        (c.measure, c.month, c.prefecture, c.theme, c.key): c.value
        for tally in tallies
        for c in tally.cells()
    }


def engage(listing: Listing, sender, n: int, state: str = "accepted") -> None:
    Inquiry.objects.bulk_create(
        Inquiry(
            listing=listing,
            sender=sender,
            company_name=f"株式会社テスト{i}",
            contact_name="担当 一郎",
            contact_email="tanto@example.jp",
            preferred_form="online",
            message="相談したいことがあります。",
            state=state,
            answer_by=timezone.now() + dt.timedelta(days=7),
        )
        for i in range(n)
    )


@SLOW
@given(seed=st.integers(0, 10_000), size=st.integers(1, 12), ages=st.lists(st.integers(0, 400)))
def test_supply_matches_a_brute_force_count(db, seed, size, ages):
    rng = random.Random(seed)
    with transaction.atomic():
        create_specialists(*random_inputs(rng, size))
        sme = make_user("sme")
        listings = list(Listing.objects.all())
        for listing, days in zip(listings, ages, strict=False):
            Listing.objects.filter(pk=listing.pk).update(
                updated_at=timezone.now() - dt.timedelta(days=days)
            )
        for listing in listings:
            engage(listing, sme, rng.choice([0, 0, 1, 2]), rng.choice(sorted(OPEN_ENGAGEMENT)))
        facts = facts_of(supply.compute(TODAY))

        visible = list(Listing.objects.visible(TODAY))
        listed, accepting, full = Counter(), Counter(), Counter()
        bands: Counter[str] = Counter()
        home: Counter[str] = Counter()
        for listing in visible:
            cells = {("", "")}
            prefs = [p.code for p in listing.prefectures.all()]
            themes = [str(t.code) for t in listing.themes.all()]
            cells |= {(p, "") for p in prefs} | {("", t) for t in themes}
            cells |= {(p, t) for p in prefs for t in themes}
            open_now = Inquiry.objects.filter(listing=listing, state__in=OPEN_ENGAGEMENT).count()
            listed.update(cells)
            if listing.is_accepting(TODAY) and open_now < listing.capacity:
                accepting.update(cells)
            elif listing.is_accepting(TODAY):
                full.update(cells)
            bands[supply.freshness_band(listing.updated_at, TODAY)] += 1
            home[listing.record.home_prefecture_id] += 1
        transaction.set_rollback(True)

    for p in ("", *PREFECTURE_CODES):
        for t in ("", *THEME_CODES):
            key = (p, t)
            assert facts[("supply.listed", None, p, t, "")] == listed[key]
            assert facts[("supply.accepting", None, p, t, "")] == accepting[key]
            assert facts[("supply.full", None, p, t, "")] == full[key]
    for band, n in bands.items():
        assert facts[("supply.freshness", None, "", "", band)] == n
    assert facts.get(("supply.freshness", None, "", "", ""), 0) == len(visible)
    for code in PREFECTURE_CODES:
        assert facts[("supply.listed_by_home", None, code, "", "")] == home[code]


search_row = st.tuples(
    st.dates(dt.date(2025, 1, 1), TODAY),
    st.sampled_from(["", "01", "13"]),
    st.integers(0, 5),
    st.sampled_from(["", "visit", "online"]),
    st.integers(0, 3),
    st.integers(1, 50),
)
diagnosis_row = st.tuples(
    st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2026, 11, 20)),  # noqa: DTZ001 — made Japan time below
    st.sampled_from([None, "", "01", "13"]),
)


@SLOW
@given(
    searches=st.lists(search_row, max_size=30, unique_by=lambda r: r[:5]),
    diagnoses=st.lists(diagnosis_row, max_size=15),
)
def test_demand_matches_a_brute_force_count(db, searches, diagnoses):
    zone = timezone.get_current_timezone()
    with transaction.atomic():
        SearchDemand.objects.bulk_create(
            SearchDemand(day=d, prefecture=p, theme=t, form=f, results=r, searches=n)
            for d, p, t, f, r, n in searches
        )
        made = Diagnosis.objects.bulk_create(
            Diagnosis(
                version=1,
                answers={},
                profile={} if p is None else {"prefecture": p},
                step=1,
                total_score=0,
                share_token=f"token-{i}",
            )
            for i, (_at, p) in enumerate(diagnoses)
        )
        for diagnosis, (at, _p) in zip(made, diagnoses, strict=True):
            Diagnosis.objects.filter(pk=diagnosis.pk).update(created_at=at.replace(tzinfo=zone))
        facts = facts_of(demand.compute(TODAY))
        transaction.set_rollback(True)

    months = {month_of(d) for d, *_rest in searches} | {month_of(TODAY)}
    for month in months:
        for p in ("", "01", "13", "47"):
            for t in ("", "1", "5"):
                rows = [
                    r
                    for r in searches
                    if month_of(r[0]) == month
                    and (not p or r[1] == p)
                    and (not t or str(r[2]) == t)
                ]
                assert facts[("demand.searches", month, p, t, "")] == sum(r[5] for r in rows)
                assert facts[("demand.unmet_searches", month, p, t, "")] == sum(
                    r[5] for r in rows if r[4] < 3
                )
        for form in ("visit", "online"):
            assert facts.get(("demand.searches_by_form", month, "", "", form), 0) == sum(
                r[5] for r in searches if month_of(r[0]) == month and r[3] == form
            )
    by_month = Counter(month_of(at.date()) for at, _p in diagnoses)
    for month, n in by_month.items():
        assert facts[("demand.diagnoses", month, "", "", "")] == n
        for p in ("01", "13"):
            assert facts.get(("demand.diagnoses", month, p, "", ""), 0) == sum(
                1 for at, q in diagnoses if month_of(at.date()) == month and q == p
            )
