"""The ordering policy: documented points and tiers, hard filters first, tiers in
order, exposure balance within a tier, stable paging (search/ranking.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.devtools.bench.matching import gini
from sekispe.search import exposure, ranking
from sekispe.search import index as ix
from sekispe.search.models import ExposureLedger
from sekispe.search.services import MAX_PAGE_SIZE, SearchQuery, search
from tests.factories import TODAY, create_specialists, make_input, random_inputs
from tests.test_search_properties import expected_numbers, queries

pytestmark = pytest.mark.django_db

JST = dt.timezone(dt.timedelta(hours=9))


def numbers(result) -> list[str]:
    return [r["registration_number"] for r in result.results]


def points_of(query: SearchQuery, *registration_numbers: str) -> list[int]:
    index = ix.get_index(TODAY)
    rows = np.array([index.position_by_number[n] for n in registration_numbers], dtype=np.int64)
    return ranking.points(index, query, rows).tolist()


def days_ago(days: int) -> dt.datetime:
    return dt.datetime.combine(TODAY, dt.time(12), tzinfo=JST) - dt.timedelta(days=days)


@pytest.fixture
def bucket(monkeypatch):
    """The wall clock's 30-minute bucket, under the test's control."""
    clock = {"bucket": 1_000_000}
    monkeypatch.setattr(exposure, "current_bucket", lambda now=None: clock["bucket"])
    return clock


# --- the documented points ---------------------------------------------------------------


def test_each_soft_criterion_adds_its_documented_points():
    old = days_ago(200)
    create_specialists(
        # Nothing but freshness: updated long ago, no visit, not free, no syllabus.
        make_input(registration_number="000001", updated_at=old),
        make_input(registration_number="000002", updated_at=days_ago(10)),  # fresh
        make_input(registration_number="000003", updated_at=old, first_free=True),
        make_input(registration_number="000004", updated_at=old, fees={"visit": 30000}),
        # Theme 2 links 1-2, 1-3, 1-6: all three, then one of them.
        make_input(
            registration_number="000005",
            updated_at=old,
            themes=(2,),
            syllabus_items=("1-2", "1-3", "1-6"),
        ),
        make_input(
            registration_number="000006", updated_at=old, themes=(2,), syllabus_items=("1-2",)
        ),
        make_input(registration_number="000007", updated_at=old, themes=(1, 2, 3)),
        make_input(
            registration_number="000008", updated_at=old, fees={"visit": 30000, "online": 9000}
        ),
    )
    plain = SearchQuery()
    assert points_of(plain, "000001", "000002", "000003") == [0, 1, 1]
    # Local: a location was asked for and the specialist visits.
    tokyo = SearchQuery(prefectures=("13",))
    assert points_of(tokyo, "000001", "000004") == [0, 2]
    # Not when the SME asked for online only.
    assert points_of(dataclasses.replace(tokyo, forms=("online",)), "000004") == [0]
    # The first-free point only when the search does not filter on it.
    assert points_of(SearchQuery(first_free=True), "000003") == [0]
    # Syllabus coverage of the requested themes: 3/3 -> 2, 1/3 -> 1.
    assert points_of(SearchQuery(themes=(2,)), "000005", "000006") == [2, 1]
    # Extra requested values: themes 1, 2 and 3 asked and held -> 2 extra x 2 points,
    # plus 1/3 of the union of their syllabus links? none declared -> 0.
    assert points_of(SearchQuery(themes=(1, 2, 3)), "000007") == [4]
    # Budget: every offered form within max_fee (the online one alone is not enough).
    assert points_of(SearchQuery(max_fee=10000), "000008", "000001") == [0, 1]
    assert points_of(SearchQuery(max_fee=30000), "000008") == [1]


def test_two_points_make_a_tier():
    assert ranking.tiers(np.array([0, 1, 2, 3, 4, 5, 6])).tolist() == [0, 0, 1, 1, 2, 2, 3]
    assert ranking.tiers(np.array([10_000])).tolist() == [ranking.MAX_TIER]


def test_a_higher_tier_is_listed_first_whatever_the_ledger_says(bucket):
    create_specialists(
        make_input(registration_number="000001", fees={"visit": 20000}),  # local: +2
        *[make_input(registration_number=f"00001{i}") for i in range(5)],
    )
    index = ix.get_index(TODAY)
    top = index.listing_ids[index.position_by_number["000001"]]
    # The local specialist has been shown far more than anyone else.
    exposure.write_deltas(
        np.array([top]), np.array([500.0]), np.array([0.0]), np.array([900], dtype=np.int64)
    )
    bucket["bucket"] += 1
    assert numbers(search(SearchQuery(prefectures=("13",)), today=TODAY))[0] == "000001"


# --- properties --------------------------------------------------------------------------------


@pytest.fixture
def dataset(db) -> list:
    items = random_inputs(random.Random(20261123), 90)
    create_specialists(*items)
    return items


def _ledger(seed: int) -> None:
    """Random exposure, fair shares and inquiries for every visible listing."""
    index = ix.get_index(TODAY)
    rng = np.random.default_rng(seed)
    # Not the spare rows (id 0): 1,024 upserts of one row per call made a chain
    # of row versions that PostgreSQL walked on every later upsert (2 s a call).
    ids = index.listing_ids[index.listing_ids > 0]
    n = ids.size
    exposure.write_deltas(
        ids,
        rng.exponential(5.0, n),
        rng.exponential(5.0, n),
        rng.integers(0, 50, n),
        rng.integers(0, 3, n),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries, ledger_seed=st.integers(0, 2**16), viewer=st.integers(0, 2**32 - 1))
def test_the_ranking_never_breaks_a_hard_filter_nor_puts_a_lower_tier_first(
    dataset, bucket, query, ledger_seed, viewer
):
    _ledger(ledger_seed)
    bucket["bucket"] += 1  # a new snapshot of the ledger above
    query = dataclasses.replace(query, viewer_seed=viewer, page_size=MAX_PAGE_SIZE)
    result = search(query, today=TODAY)
    got = numbers(result)
    assert set(got) == expected_numbers(dataset, query)
    assert len(got) == len(set(got))
    index = ix.get_index(TODAY)
    rows = np.array([index.position_by_number[n] for n in got], dtype=np.int64)
    tier = ranking.tiers(ranking.points(index, query, rows))
    accepting = index.accepting[rows]
    # Accepting first, then tiers high to low: (not accepting, -tier) never decreases.
    keys = list(zip((~accepting).tolist(), (-tier).tolist(), strict=True))
    assert keys == sorted(keys)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries, page_size=st.integers(3, 9), viewer=st.integers(1, 2**32 - 1))
def test_paging_shows_every_match_exactly_once_while_impressions_are_recorded(
    dataset, monkeypatch, query, page_size, viewer
):
    """A viewer pages with the token of page 1; between pages other searches
    record impressions and the ledger is flushed; every few pages a new bucket
    starts (tokens hold for KEEP_BUCKETS buckets, 4 hours)."""
    clock = {"bucket": 2_000_000}
    monkeypatch.setattr(exposure, "current_bucket", lambda now=None: clock["bucket"])
    exposure.reset()
    first = search(
        dataclasses.replace(query, viewer_seed=viewer, page_size=page_size),
        today=TODAY,
        record_exposure=True,
    )
    token_bucket = clock["bucket"]
    seen = numbers(first)
    page = 2
    while len(seen) < first.count:
        # Someone else's searches move the ledger, and time moves on.
        for _ in range(3):
            search(SearchQuery(page_size=20), today=TODAY, record_exposure=True)
        exposure.flush()
        if page % 5 == 0:
            clock["bucket"] += 1
        # The next page's URL carries the token: this viewer, page 1's bucket.
        following = dataclasses.replace(
            query, viewer_seed=viewer, order_bucket=token_bucket, page=page, page_size=page_size
        )
        part = search(following, today=TODAY, record_exposure=True)
        assert part.results, "a page came back empty before every match was shown"
        seen.extend(numbers(part))
        page += 1
    assert len(seen) == len(set(seen)) == first.count
    assert set(seen) == expected_numbers(dataset, query)


def test_without_a_token_the_order_is_stable_within_a_bucket(bucket):
    create_specialists(*[make_input(registration_number=f"{i:06d}") for i in range(1, 41)])
    query = SearchQuery(page_size=10)
    pages = []
    for page in range(1, 5):
        part = search(dataclasses.replace(query, page=page), today=TODAY, record_exposure=True)
        pages.extend(numbers(part))
        exposure.flush()  # recorded and written, but this bucket's snapshot is fixed
    assert sorted(pages) == [f"{i:06d}" for i in range(1, 41)]


def test_a_new_bucket_moves_the_most_exposed_down_within_the_tier(bucket):
    create_specialists(*[make_input(registration_number=f"{i:06d}") for i in range(1, 31)])
    query = SearchQuery(page_size=10)
    first_page = numbers(search(query, today=TODAY, record_exposure=True))
    exposure.flush()
    bucket["bucket"] += 1
    second_look = numbers(search(query, today=TODAY, record_exposure=True))
    # Those just shown on page 1 had more than their share; everyone else less.
    assert not set(first_page) & set(second_look)


def test_amortised_exposure_within_a_tier_converges(bucket):
    """Repeated searches of one query over 60 equally suitable specialists, 10 per
    page: the spread of exposure shrinks toward nothing (a fixed order would show
    the same 10 forever, a Gini of about 0.85)."""
    create_specialists(*[make_input(registration_number=f"{i:06d}") for i in range(1, 61)])
    query = SearchQuery(page_size=10)

    def ledger() -> tuple[np.ndarray, np.ndarray]:
        rows = list(ExposureLedger.objects.values_list("exposure", "deserved"))
        rows += [(0.0, 0.0)] * (60 - len(rows))
        return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])

    spread = {}
    for step in range(1, 121):
        search(dataclasses.replace(query, viewer_seed=step), today=TODAY, record_exposure=True)
        exposure.flush()
        bucket["bucket"] += 1
        if step in (3, 12, 120):
            spread[step] = gini(ledger()[0])
    assert spread[3] > 0.5  # 30 of 60 shown so far
    assert spread[120] < spread[12] < spread[3]
    assert spread[120] < 0.03
    shown, deserved = ledger()
    assert shown.sum() == pytest.approx(deserved.sum())
    # Nobody is more than about one top-of-page view from their fair share.
    assert np.abs(shown - deserved).max() < 1.0


# --- the order token ------------------------------------------------------------------------


def test_order_tokens_round_trip_and_refuse_tampering():
    token = ranking.order_token(123456, 0xBEEF)
    assert ranking.read_order_token(token) == (123456, 0xBEEF)
    assert ranking.read_order_token(token.replace("beef", "beee")) is None
    assert ranking.read_order_token("1e240.1:forged") is None
    assert ranking.read_order_token("") is None
    assert ranking.read_order_token("x" * 500) is None


def test_an_invalid_token_is_ignored_not_an_error(client):
    create_specialists(make_input(registration_number="000001"))
    response = client.get("/api/v1/specialists", {"order": "garbage"})
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert client.get("/specialists/", {"order": "garbage"}).status_code == 200


def test_the_api_returns_an_order_token_and_pages_with_it(client, bucket):
    create_specialists(*[make_input(registration_number=f"{i:06d}") for i in range(1, 26)])
    first = client.get("/api/v1/specialists", {"page_size": 10}).json()
    assert ranking.read_order_token(first["order"])[0] == bucket["bucket"]
    exposure.flush()
    bucket["bucket"] += 5
    seen = [r["registration_number"] for r in first["results"]]
    for page in (2, 3):
        body = client.get(
            "/api/v1/specialists", {"page_size": 10, "page": page, "order": first["order"]}
        ).json()
        assert body["order"] == first["order"]  # still the bucket of page 1
        seen.extend(r["registration_number"] for r in body["results"])
    assert sorted(seen) == [f"{i:06d}" for i in range(1, 26)]


def shown(response) -> list[str]:
    """The registration numbers of the result cards, in page order."""
    cards = re.findall(r'href="/specialists/(\d{6})/"', response.content.decode())
    return list(dict.fromkeys(cards))


def test_the_web_page_keeps_one_order_per_browser_and_its_links_carry_the_token(client, bucket):
    from sekispe.search.views import ORDER_COOKIE

    create_specialists(
        *[make_input(registration_number=f"{i:06d}") for i in range(1, 46)],
        make_input(registration_number="000099", availability="not_accepting"),
    )
    first = client.get("/specialists/")
    assert ORDER_COOKIE in first.cookies
    next_url = first.context["pages"]["next_url"]
    assert "order=" in next_url and "page=2" in next_url
    # A reload in the same bucket shows the same order, and sets no new cookie.
    again = client.get("/specialists/")
    assert ORDER_COOKIE not in again.cookies
    assert shown(again) == shown(first)
    exposure.flush()
    bucket["bucket"] += 1
    seen = shown(first)
    url = next_url
    while url:
        page = client.get(url)
        seen.extend(shown(page))
        url = page.context["pages"]["next_url"]
    assert sorted(seen) == [f"{i:06d}" for i in range(1, 46)]
    # Other links start a new search: no token.
    assert "order=" not in page.context["include_not_accepting_url"]


# --- capacity --------------------------------------------------------------------------------


def test_a_listing_at_capacity_counts_as_not_accepting(monkeypatch):
    from sekispe.listings.models import Listing

    create_specialists(
        make_input(registration_number="000001"),
        make_input(registration_number="000002"),
        make_input(registration_number="000003"),
    )
    Listing.objects.filter(record__registration_number="000002").update(capacity=2)
    ids = dict(Listing.objects.values_list("record__registration_number", "id"))
    engagements = {ids["000001"]: 1, ids["000002"]: 1, ids["000003"]: 0}
    monkeypatch.setattr(ix, "open_engagements", lambda: engagements)
    ix.reset_index()
    # 000001: capacity 1, one open engagement -> full; 000002: 1 of 2 -> accepting.
    assert sorted(numbers(search(SearchQuery(), today=TODAY))) == ["000002", "000003"]
    everyone = search(SearchQuery(include_not_accepting=True), today=TODAY, with_facets=True)
    assert numbers(everyone)[-1] == "000001"
    assert everyone.results[-1]["accepting"] is False
    index = ix.get_index(TODAY)
    full = {n for n, pos in index.position_by_number.items() if index.at_capacity[pos]}
    assert full == {"000001"}
    assert search(SearchQuery(), today=TODAY, with_facets=True).not_accepting_hidden == 1


def test_open_engagements_come_from_the_inquiries_app_which_registers_its_counter():
    from sekispe.inquiries import services as inquiries

    # Registered by the inquiries app's AppConfig.ready: search never imports it.
    assert ix._engagement_counter is inquiries.open_engagements_by_listing


def test_open_engagements_ask_the_registered_counter_and_are_empty_without_one(monkeypatch):
    asked = []

    def counter(listing_ids):
        asked.append(listing_ids)
        return {7: 2}

    monkeypatch.setattr(ix, "_engagement_counter", counter)
    assert ix.open_engagements() == {7: 2}
    assert ix.open_engagements([7, 8]) == {7: 2}
    assert asked == [None, [7, 8]]
    monkeypatch.setattr(ix, "_engagement_counter", None)
    assert ix.open_engagements() == {}


def test_the_accepting_rule():
    available = np.array([True, True, False, True])
    capacity = np.array([1, 2, 3, 1])
    open_now = np.array([0, 2, 0, 1])
    assert ix.accepting_rule(available, capacity, open_now).tolist() == [True, False, False, False]


def test_equal_sort_keys_fall_back_to_the_listing_id_so_pages_never_overlap():
    create_specialists(*[make_input(registration_number=f"{i:06d}") for i in range(1, 51)])
    index = ix.get_index(TODAY)
    rows = np.flatnonzero(index.live)
    query = SearchQuery()
    # Every listing hashes alike: only the listing id tells them apart.
    alike = dataclasses.replace(index, tie_base=np.zeros(index.size, dtype=np.uint64))
    for subject in (index, alike):
        ranked = ranking.rank(subject, query, rows, standing=None, seed=7)
        pages = np.concatenate([ranked.order(start, start + 7) for start in range(0, 50, 7)])
        assert pages.tolist() == ranked.order(0, 50).tolist()
        assert sorted(pages.tolist()) == list(range(50))  # everyone exactly once
    ranked = ranking.rank(alike, query, rows, standing=None, seed=7)
    ids = ranked.ids[ranked.order(0, 50)]
    assert ids.tolist() == sorted(ids.tolist())  # all keys equal: by listing id
