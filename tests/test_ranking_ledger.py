"""The exposure ledger: buffered in memory, flushed in batches, never double
counted or lost; snapshots shared by every process (search/exposure.py)."""

from __future__ import annotations

import threading
from collections import defaultdict

import numpy as np
import pytest
from django.db import connection

from sekispe.search import exposure, ranking
from sekispe.search import index as ix
from sekispe.search.models import ExposureLedger, ExposureSnapshot
from sekispe.search.services import SearchQuery, search
from tests.factories import TODAY, create_specialists, make_input


@pytest.fixture
def no_auto_flush(monkeypatch):
    monkeypatch.setattr(exposure, "FLUSH_PAGES", 10**9)
    monkeypatch.setattr(exposure, "FLUSH_SECONDS", 1e12)


@pytest.fixture
def served_pages(monkeypatch):
    """Every page `search` records, as (listing ids shown, weights, shares by listing id)."""
    pages: list[tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, float]]]] = []
    original = exposure.record

    def spy(index: ix.SpecialistIndex, page: ranking.Served) -> None:
        ids = index.listing_ids
        shares = [(ids[members], share) for members, share in page.shares]
        pages.append((ids[page.shown], page.weights.copy(), shares))
        original(index, page)

    monkeypatch.setattr(exposure, "record", spy)
    return pages


def expected_totals(pages) -> dict[int, list[float]]:
    totals: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for shown, weights, shares in pages:
        for listing_id, weight in zip(shown.tolist(), weights.tolist(), strict=True):
            totals[listing_id][0] += weight
            totals[listing_id][2] += 1
        for members, share in shares:
            for listing_id in members.tolist():
                totals[listing_id][1] += share
    return totals


def ledger_rows() -> dict[int, list[float]]:
    return {
        row.listing_id: [row.exposure, row.deserved, row.impressions]
        for row in ExposureLedger.objects.all()
    }


def assert_ledger_equals(totals: dict[int, list[float]]) -> None:
    rows = ledger_rows()
    assert rows.keys() == totals.keys()
    for listing_id, (shown, deserved, impressions) in totals.items():
        assert rows[listing_id][0] == pytest.approx(shown)
        assert rows[listing_id][1] == pytest.approx(deserved)
        assert rows[listing_id][2] == impressions


def many_searches() -> None:
    for query in (
        SearchQuery(page_size=7),
        SearchQuery(page_size=7, page=2),
        SearchQuery(themes=(1,), page_size=5),
        SearchQuery(prefectures=("13",), page_size=20),
        SearchQuery(themes=(1, 2), first_free=True),
        SearchQuery(include_not_accepting=True, page_size=3, page=4),
    ):
        search(query, today=TODAY, record_exposure=True)


@pytest.fixture
def specialists(db):
    create_specialists(
        *[
            make_input(
                registration_number=f"{i:06d}",
                themes=(1, 2) if i % 3 else (1,),
                first_free=i % 4 == 0,
                fees={"visit": 30000} if i % 5 == 0 else {"online": 10000},
                availability="not_accepting" if i % 11 == 0 else "accepting",
            )
            for i in range(1, 41)
        ]
    )


def test_searches_write_nothing_until_the_flush_then_exactly_their_totals(
    specialists, no_auto_flush, served_pages
):
    many_searches()
    many_searches()
    assert ExposureLedger.objects.count() == 0  # the request path only appends in memory
    assert exposure.pending_pages() == len(served_pages) == 12
    written = exposure.flush()
    totals = expected_totals(served_pages)
    assert written == len(totals)
    assert_ledger_equals(totals)
    # Each page's exposure is shared out in full: the two sums agree.
    assert sum(v[0] for v in totals.values()) == pytest.approx(sum(v[1] for v in totals.values()))
    assert exposure.flush() == 0  # nothing twice


def test_a_failed_flush_keeps_its_sums_for_the_next_one(
    specialists, no_auto_flush, served_pages, monkeypatch
):
    many_searches()
    working = exposure.write_deltas

    def broken(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(exposure, "write_deltas", broken)
    with pytest.raises(RuntimeError):
        exposure.flush()
    assert ExposureLedger.objects.count() == 0
    monkeypatch.setattr(exposure, "write_deltas", working)
    many_searches()  # counted too, after the failure
    exposure.flush()
    assert_ledger_equals(expected_totals(served_pages))  # both rounds, each once


def test_sums_survive_an_index_rebuild_between_two_flushes(
    specialists, no_auto_flush, served_pages
):
    many_searches()
    create_specialists(make_input(registration_number="000077", themes=(1,)))  # a new index
    many_searches()
    exposure.flush()
    assert_ledger_equals(expected_totals(served_pages))
    new_id = ix.get_index(TODAY).listing_ids[ix.get_index(TODAY).position_by_number["000077"]]
    assert int(new_id) in ledger_rows()


def test_the_page_threshold_flushes_on_its_own(specialists, monkeypatch, served_pages):
    monkeypatch.setattr(exposure, "FLUSH_PAGES", 4)
    for _ in range(3):
        search(SearchQuery(page_size=5), today=TODAY, record_exposure=True)
    assert ExposureLedger.objects.count() == 0
    search(SearchQuery(page_size=5), today=TODAY, record_exposure=True)
    assert exposure.pending_pages() == 0
    assert_ledger_equals(expected_totals(served_pages))


def test_the_time_threshold_flushes_on_its_own(specialists, monkeypatch):
    monkeypatch.setattr(exposure, "FLUSH_SECONDS", 0.0)
    search(SearchQuery(page_size=5), today=TODAY, record_exposure=True)
    # Five shown; their tier-mates got their fair share of it (deserved) too.
    assert ExposureLedger.objects.filter(impressions=1).count() == 5
    assert ExposureLedger.objects.filter(impressions=0, deserved__gt=0).exists()


def test_what_is_left_is_flushed_at_exit(specialists, no_auto_flush, served_pages):
    many_searches()
    exposure._flusher.flush_at_exit()
    assert_ledger_equals(expected_totals(served_pages))


def test_searches_that_are_not_shown_count_nothing(specialists, no_auto_flush):
    search(SearchQuery(), today=TODAY)  # record_exposure defaults to False
    assert exposure.pending_pages() == 0


def test_additive_upserts_add_up(db):
    ids = np.array([5, 3, 9], dtype=np.int64)
    for _ in range(3):
        exposure.write_deltas(
            ids, np.array([1.0, 0.5, 0.25]), np.array([0.2, 0.2, 0.2]), np.array([1, 1, 1])
        )
    exposure.record_inquiry(3)
    exposure.record_inquiry(3)
    exposure.record_inquiry(42)
    rows = {r.listing_id: r for r in ExposureLedger.objects.all()}
    assert rows[5].exposure == pytest.approx(3.0)
    assert rows[3].deserved == pytest.approx(0.6)
    assert rows[9].impressions == 3
    assert rows[3].inquiries == 2
    assert rows[42].inquiries == 1 and rows[42].exposure == 0


def test_repeated_ids_in_one_write_add_up_and_large_writes_span_statements(db, monkeypatch):
    # One PostgreSQL statement may not upsert a row twice, and large writes go
    # in several statements: neither may change what is added.
    monkeypatch.setattr(exposure, "_ARRAY_CHUNK", 3)
    monkeypatch.setattr(exposure, "_UPSERT_CHUNK", 3)
    ids = np.array([7, 2, 7, 11, 2, 5, 7], dtype=np.int64)
    exposure.write_deltas(
        ids,
        np.array([1.0, 2.0, 0.5, 4.0, 1.0, 0.25, 0.5]),
        np.full(ids.size, 0.5),
        np.ones(ids.size, dtype=np.int64),
        np.array([0, 1, 1, 0, 0, 0, 1], dtype=np.int64),
    )
    exposure.write_deltas(np.array([5], dtype=np.int64), np.ones(1), np.ones(1), np.ones(1))
    rows = {
        r.listing_id: (r.exposure, r.deserved, r.impressions, r.inquiries)
        for r in ExposureLedger.objects.all()
    }
    assert rows == {
        2: (3.0, 1.0, 2, 1),
        5: (1.25, 1.5, 2, 0),
        7: (2.0, 1.5, 3, 2),
        11: (4.0, 0.5, 1, 0),
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_from_several_threads_lose_nothing():
    ids = np.arange(1, 201, dtype=np.int64)
    ones = np.ones(ids.size)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                exposure.write_deltas(ids, ones, ones * 0.5, np.ones(ids.size, dtype=np.int64))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    rows = list(ExposureLedger.objects.values_list("exposure", "deserved", "impressions"))
    assert len(rows) == 200
    assert set(rows) == {(20.0, 10.0, 20)}


# --- snapshots --------------------------------------------------------------------------------


def test_a_snapshot_round_trips():
    snap = exposure.Snapshot(
        bucket=7,
        listing_ids=np.array([2, 5, 11], dtype=np.int64),
        exposure=np.array([1.5, 0.0, 3.25]),
        deserved=np.array([1.0, 1.0, 1.0]),
        inquiries=np.array([0, 2, 1], dtype=np.int64),
    )
    back = exposure.Snapshot.decode(7, snap.encode())
    for name in ("listing_ids", "exposure", "deserved", "inquiries"):
        assert getattr(back, name).tolist() == getattr(snap, name).tolist()


def test_standing_is_exposure_ahead_of_the_fair_share():
    shown = np.array([3.0, 1.0, 2.0])
    deserved = np.array([2.0, 2.0, 2.0])
    assert exposure.standing(shown, deserved, np.zeros(3)).tolist() == [1.0, -1.0, 0.0]
    # With inquiries: the inquiry error, at the overall rate, times fairness.INQUIRY_GAIN.
    with_inquiries = exposure.standing(shown, deserved, np.array([0.0, 3.0, 0.0]))
    assert with_inquiries[1] > -1.0 and with_inquiries[0] < 1.0


def test_every_process_orders_a_bucket_with_the_same_stored_snapshot(specialists, monkeypatch):
    monkeypatch.setattr(exposure, "current_bucket", lambda now=None: 500)
    first = exposure.snapshot()
    assert ExposureSnapshot.objects.filter(bucket=500).count() == 1
    # The ledger moves on; another process (an empty cache) starts within the bucket.
    index = ix.get_index(TODAY)
    ids = index.listing_ids[index.listing_ids > 0]  # not the spare rows (id 0)
    ones = np.ones(ids.size)
    exposure.write_deltas(ids, ones, ones * 0, ones.astype(np.int64))
    exposure.reset()
    again = exposure.snapshot()
    assert again.exposure.tolist() == first.exposure.tolist()
    assert ExposureSnapshot.objects.count() == 1
    # A token's bucket that no longer exists falls back to the current one.
    assert exposure.snapshot(480).bucket == 500


def test_snapshots_and_ledger_rows_of_deleted_listings_are_pruned(specialists, monkeypatch):
    from sekispe.listings.models import Listing

    for bucket in (100, 105, 120):
        monkeypatch.setattr(exposure, "current_bucket", lambda now=None, b=bucket: b)
        exposure.snapshot()
    # Creating bucket 120 already dropped those older than 120 - KEEP_BUCKETS.
    assert sorted(ExposureSnapshot.objects.values_list("bucket", flat=True)) == [120]
    exposure.record_inquiry(Listing.objects.first().pk)
    exposure.record_inquiry(999_999)
    report = exposure.maintenance()
    assert report["ledger_rows_deleted"] == 1
    assert ExposureLedger.objects.count() == 1


def test_the_daily_command_prunes(db, capsys):
    from django.core.management import call_command

    exposure.record_inquiry(123_456)  # no such listing
    call_command("exposure_maintenance")
    assert "ledger rows deleted: 1" in capsys.readouterr().out
