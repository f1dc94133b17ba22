"""The fairness controller on inquiries (search/fairness.py): a listing that has
had more inquiries than its fair share moves down within its tier, one with
fewer moves up, the order stays fixed within a 30-minute bucket, and in the
matching simulation inquiries end up more even than chance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sekispe.devtools.bench import matching as mb
from sekispe.search import exposure, fairness
from sekispe.search import index as ix
from sekispe.search.services import SearchQuery, search
from tests.factories import TODAY, create_specialists, make_input

# --- the controller as a pure function -----------------------------------------------------


def test_without_inquiries_the_standing_is_exposure_ahead_of_the_fair_share():
    shown = np.array([3.0, 1.0, 2.0])
    deserved = np.array([2.0, 2.0, 2.0])
    assert fairness.standing(shown, deserved, np.zeros(3)).tolist() == [1.0, -1.0, 0.0]
    assert exposure.standing(shown, deserved, np.zeros(3)).tolist() == [1.0, -1.0, 0.0]


def test_a_listing_with_many_more_inquiries_than_its_peers_stands_furthest_ahead():
    # Five equally suitable listings, shown exactly their fair share so far.
    shown = deserved = np.full(5, 40.0)
    inquiries = np.array([6, 1, 1, 0, 0])
    standing = fairness.standing(shown, deserved, inquiries)
    assert int(np.argmax(standing)) == 0
    # Those with none come first (lowest standing), and in equal measure.
    assert standing[3] == standing[4] < standing[1] == standing[2] < standing[0]
    # In exposure units: the overall rate is 8 inquiries per 200 of fair share, so
    # one inquiry is worth 25 units; listing 0 is 6 x 25 - 40 = 110 units ahead.
    assert standing[0] == pytest.approx(fairness.INQUIRY_GAIN * 110)


def test_inquiries_in_proportion_to_the_fair_share_are_not_ahead():
    shown = deserved = np.array([10.0, 20.0, 30.0])
    inquiries = np.array([1, 2, 3])
    assert fairness.inquiry_error(deserved, inquiries) == pytest.approx([0.0, 0.0, 0.0])
    assert fairness.standing(shown, deserved, inquiries) == pytest.approx([0.0, 0.0, 0.0])


def test_the_gain_grows_with_the_number_of_rounds():
    """FairCo's error is (tau - 1) x the mean disparity: the same disparity per
    search, kept up for k times as many searches, weighs k times as much."""
    shown = np.array([12.0, 8.0, 10.0])
    deserved = np.array([10.0, 10.0, 10.0])
    inquiries = np.array([3, 0, 1])
    once = fairness.standing(shown, deserved, inquiries)
    assert fairness.standing(4 * shown, 4 * deserved, 4 * inquiries) == pytest.approx(4 * once)


def test_gain_zero_balances_exposure_only():
    shown = np.array([5.0, 5.0])
    deserved = np.array([5.0, 5.0])
    assert fairness.standing(shown, deserved, np.array([9, 0]), gain=0.0).tolist() == [0.0, 0.0]


def test_nothing_recorded_means_nobody_is_ahead():
    zeros = np.zeros(4)
    assert fairness.standing(zeros, zeros, np.zeros(4, dtype=np.int64)).tolist() == [0.0] * 4
    # Inquiries without any fair share yet (a fresh ledger): no rate, no inquiry term.
    assert fairness.inquiry_error(zeros, np.array([1, 0, 0, 0])).tolist() == [0.0] * 4


ledgers = st.integers(2, 8).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0, 500, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.floats(0.5, 500, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.integers(0, 20), min_size=n, max_size=n),
        st.integers(0, n - 1),
        st.integers(0, n - 1),
    )
)


@settings(max_examples=200, deadline=None)
@given(ledgers)
def test_one_more_inquiry_never_moves_a_listing_up_against_a_peer(ledger):
    shown, deserved, inquiries, i, j = ledger
    shown, deserved = np.array(shown), np.array(deserved)
    before = fairness.standing(shown, deserved, np.array(inquiries))
    more = list(inquiries)
    more[i] += 1
    after = fairness.standing(shown, deserved, np.array(more))
    if i != j:
        assert after[i] - after[j] >= before[i] - before[j] - 1e-6


# --- in the production ordering -------------------------------------------------------------


@pytest.fixture
def bucket(monkeypatch):
    """The wall clock's 30-minute bucket, under the test's control."""
    clock = {"bucket": 2_000_000}
    monkeypatch.setattr(exposure, "current_bucket", lambda now=None: clock["bucket"])
    return clock


def numbers(result) -> list[str]:
    return [r["registration_number"] for r in result.results]


def listing_id_of(number: str) -> int:
    index = ix.get_index(TODAY)
    return int(index.listing_ids[index.position_by_number[number]])


def whole_order(query: SearchQuery, count: int) -> list[str]:
    return numbers(search(dataclasses.replace(query, page_size=count), today=TODAY))


@pytest.mark.django_db
def test_a_listing_with_many_inquiries_moves_down_at_the_next_bucket_not_before(bucket):
    create_specialists(*[make_input(registration_number=f"{i:06d}") for i in range(1, 31)])
    query = SearchQuery(page_size=10)
    # Everyone gets a fair share of exposure over a few buckets.
    for step in range(1, 7):
        search(dataclasses.replace(query, viewer_seed=step), today=TODAY, record_exposure=True)
        exposure.flush()
        bucket["bucket"] += 1
    order = whole_order(query, 30)
    favourite = order[0]
    for _ in range(3):
        exposure.record_inquiry(listing_id_of(favourite))
    exposure.record_inquiry(listing_id_of(order[1]))

    # Within the bucket the order stands, also for a process that starts afresh.
    assert whole_order(query, 30) == order
    exposure.reset()
    assert whole_order(query, 30) == order

    bucket["bucket"] += 1
    moved = whole_order(query, 30)
    # Three inquiries against a fair share of well under one: last of the tier.
    assert moved[-1] == favourite
    assert moved.index(order[1]) > 20
    assert sorted(moved) == sorted(order)


@pytest.mark.django_db
def test_paging_shows_everyone_once_while_inquiries_arrive(bucket):
    create_specialists(*[make_input(registration_number=f"{i:06d}") for i in range(1, 26)])
    query = SearchQuery(page_size=10, viewer_seed=7)
    first = search(query, today=TODAY, record_exposure=True)
    token_bucket = bucket["bucket"]
    exposure.flush()
    seen = numbers(first)
    for number in seen[:3]:
        exposure.record_inquiry(listing_id_of(number))
    bucket["bucket"] += 1  # the token keeps the first page's bucket
    page = 2
    while len(seen) < first.count:
        part = search(
            dataclasses.replace(query, page=page, order_bucket=token_bucket),
            today=TODAY,
            record_exposure=True,
        )
        assert part.results
        seen.extend(numbers(part))
        page += 1
    assert len(seen) == len(set(seen)) == 25


# --- in the matching simulation ---------------------------------------------------------------


def test_the_controller_brings_inquiries_under_chance_in_the_simulation(monkeypatch):
    """Without the inquiry term (c)'s inquiries are as uneven as chance at its fair
    shares; with it, clearly more even, and exposure stays within its limit."""
    results = {}
    for gain in (0.0, fairness.INQUIRY_GAIN):
        monkeypatch.setattr(fairness, "INQUIRY_GAIN", gain)
        report = mb.run_matching_bench(registrants=3000, searches=3000, seed=3, progress=False)
        results[gain] = report["results"]["c"]
    plain, controlled = results[0.0], results[fairness.INQUIRY_GAIN]
    assert plain["inquiry_gini_within_tier"] > plain["inquiry_gini_within_tier_chance"] - 0.02
    assert (
        controlled["inquiry_gini_within_tier"]
        < controlled["inquiry_gini_within_tier_chance"] - 0.04
    )
    assert controlled["inquiry_gini_within_tier"] < plain["inquiry_gini_within_tier"] - 0.04
    assert controlled["exposure_gini_within_tier"] <= mb.TARGET_EXPOSURE_GINI
    assert controlled["over_capacity"] == 0
    # The top 1% by inquiries hold at least what any other 1% holds, the top 1%
    # by fair share included: their share of the fair share is the floor that
    # inquiries in proportion to the fair share would leave.
    for result in (plain, controlled):
        assert 0 < result["top_1pct_by_fair_share_fair_share"] < 1
        assert result["top_1pct_by_fair_share_inquiry_share"] <= result["top_1pct_inquiry_share"]


def test_the_shares_held_by_a_group_and_by_the_largest_values():
    values = np.array([1.0, 5.0, 0.0, 4.0])
    assert mb.share_of(values, np.array([1, 3])) == pytest.approx(0.9)
    assert mb.top_share(values, 1) == pytest.approx(0.5)
    assert mb.top_share(values, 2) == pytest.approx(0.9)
    assert mb.top_share(np.zeros(3), 1) == 0.0
    # Inquiries exactly in proportion to the fair share: the top 1% by inquiries
    # are the top 1% by fair share and hold exactly their share of it.
    deserved = np.arange(1.0, 201.0)
    inquiries = 3 * deserved
    assert mb.top_share(inquiries, 2) == pytest.approx(mb.top_share(deserved, 2))
