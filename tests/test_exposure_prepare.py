"""The poller prepares each ordering bucket's ledger snapshot before the bucket
begins, so no search waits for the ledger to be read (seconds at 1,000,000)."""

from __future__ import annotations

import logging

import pytest

from sekispe.search import exposure
from sekispe.search import index as ix
from sekispe.search.models import ExposureSnapshot
from tests.factories import TODAY, create_specialists, make_input

pytestmark = pytest.mark.django_db

BUCKET = 1_000_000  # an arbitrary bucket number
START = BUCKET * exposure.BUCKET_SECONDS


@pytest.fixture
def index(db):
    create_specialists(
        make_input(registration_number="000001", name="中村 由美"),
        make_input(registration_number="000002", name="高橋 誠"),
    )
    return ix.get_index(TODAY)


def _stored() -> set[int]:
    return set(ExposureSnapshot.objects.values_list("bucket", flat=True))


def test_mid_bucket_only_the_current_snapshot_is_made(index):
    exposure.prepare(index, now=START + 60)
    assert _stored() == {BUCKET}


def test_near_the_end_of_a_bucket_the_next_is_made_and_loaded(index, django_assert_num_queries):
    exposure.prepare(index, now=START + exposure.BUCKET_SECONDS - 60)
    assert _stored() == {BUCKET, BUCKET + 1}
    # The bucket's first search finds it loaded and aligned: no query, no work.
    with django_assert_num_queries(0):
        found = exposure.snapshot(now=START + exposure.BUCKET_SECONDS + 1)
        found.bits_for(index)
    assert found.bucket == BUCKET + 1


def test_a_process_loads_what_another_made(index):
    exposure.prepare(index, now=START + exposure.BUCKET_SECONDS - 60)
    made = exposure.snapshot(BUCKET + 1, now=START + exposure.BUCKET_SECONDS - 60)
    exposure.reset()  # another process: nothing in memory
    exposure.prepare(index, now=START + exposure.BUCKET_SECONDS - 30)
    loaded = exposure.snapshot(now=START + exposure.BUCKET_SECONDS + 1)
    assert loaded.listing_ids.tolist() == made.listing_ids.tolist()
    assert _stored() == {BUCKET, BUCKET + 1}


def test_the_poller_runs_it_and_survives_a_failing_hook(index, monkeypatch, caplog):
    assert exposure.prepare in ix.after_poll
    ran: list[int] = []

    def fails(_index):
        raise RuntimeError("database gone")

    monkeypatch.setattr(ix, "after_poll", [fails, lambda i: ran.append(i.visible)])
    with caplog.at_level(logging.ERROR, logger="sekispe.search.index"):
        ix.run_after_poll(index)
    assert ran == [2]
    assert "fails failed" in caplog.text
