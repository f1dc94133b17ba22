"""The index's refresh behaviour: stale-while-rebuilding, and what it caches."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sekispe.listings import lifecycle
from sekispe.listings.models import Listing
from sekispe.search import index as ix
from sekispe.search.services import SearchQuery, search
from tests.factories import TODAY, create_specialists, make_input


@pytest.mark.django_db(transaction=True)
def test_a_write_is_served_after_a_background_rebuild_without_stalling(settings):
    settings.SEARCH_INDEX_BACKGROUND_REFRESH = True
    create_specialists(make_input(registration_number="000001"))
    assert search(SearchQuery(), today=TODAY).count == 1  # cold: built in the foreground

    create_specialists(make_input(registration_number="000002"))
    # The stale index answers at once while a thread builds the next one...
    assert search(SearchQuery(), today=TODAY).count in (1, 2)
    ix.wait_for_refresh()
    # ...and the next search sees the write.
    assert search(SearchQuery(), today=TODAY).count == 2


@pytest.mark.django_db
def test_a_new_day_rebuilds_the_index():
    create_specialists(make_input(registration_number="000001"))
    first = ix.get_index(TODAY)
    assert ix.get_index(TODAY) is first
    assert ix.get_index(TODAY.replace(day=23)) is not first


@pytest.mark.django_db
def test_term_matches_are_cached_per_index():
    create_specialists(make_input(registration_number="000001", profile="ランサムウェア"))
    index = ix.get_index(TODAY)
    mask = index.term_mask("ランサム")
    assert mask.tolist() == [True] + [False] * (index.size - 1)  # spare rows never match
    assert index.term_mask("ランサム") is mask


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(
        st.text(alphabet="アイウエオカキクケコ規程クラウド ab", max_size=60), min_size=1, max_size=8
    ),
    pick=st.integers(0, 7),
    start=st.integers(0, 59),
    length=st.integers(1, 6),
)
def test_bigram_signatures_never_miss_a_row_that_contains_the_term(texts, pick, start, length):
    text = texts[pick % len(texts)]
    term = text[start : start + length] or "ア"
    signatures = ix.text_signatures(texts)
    candidates = ix.text_candidates(signatures, term)
    assert all(candidates[i] for i, t in enumerate(texts) if term in t)
    verified = ix.verify_term(signatures, texts, term, np.ones(len(texts), dtype=bool))
    assert verified.tolist() == [term in t for t in texts]


@pytest.mark.django_db
def test_signatures_written_by_a_delta_equal_freshly_computed_ones(operator):
    create_specialists(make_input(registration_number="000001", profile="ランサムウェア"))
    index = ix.get_index(TODAY)
    from sekispe.listings.models import Listing

    listing = Listing.objects.get(record__registration_number="000001")
    listing.profile = "クラウドの規程"
    listing.save()
    assert ix.get_index(TODAY) is index  # a delta, not a rebuild
    row = index.row_of(listing.pk)
    text = index.search_texts[row]
    assert "クラウド" in text
    assert (index.text_signatures[:, row] == ix.text_signatures([text])[:, 0]).all()


@given(st.integers(0, 2**63 - 1))
def test_scalar_and_vector_splitmix_agree(value):
    assert ix.splitmix64_int(value) == int(ix.splitmix64(np.array([value], dtype=np.int64))[0])


def _listing(number: str) -> Listing:
    return Listing.objects.get(record__registration_number=number)


@pytest.mark.django_db
def test_more_changes_than_a_delta_takes_load_a_new_index(monkeypatch, caplog, operator):
    """Above DELTA_LIMIT listings in one poll, a rebuild answers, not a delta."""
    caplog.set_level(logging.INFO, logger="sekispe.search.index")
    create_specialists(*(make_input(registration_number=f"00001{i}") for i in range(4)))
    first = ix.get_index(TODAY)
    monkeypatch.setattr(ix, "DELTA_LIMIT", 2)
    for i in range(3):  # one change-log row per listing, as operators make them
        lifecycle.suspend_listing(_listing(f"00001{i}"), actor=operator, reason="確認中")
    result = search(SearchQuery(), today=TODAY)
    assert [r["registration_number"] for r in result.results] == ["000013"]
    assert ix.get_index(TODAY) is not first
    assert "3 listings changed; loading a new snapshot" in caplog.text


@pytest.mark.django_db
def test_new_listings_beyond_the_spare_rows_load_a_new_index(monkeypatch, caplog, operator):
    """The build leaves spare rows for listings that become visible later;
    when a delta needs more, the index is rebuilt with room again."""
    caplog.set_level(logging.INFO, logger="sekispe.search.index")
    monkeypatch.setattr(ix, "SPARE_ROWS_MIN", 1)
    monkeypatch.setattr(ix, "SPARE_ROWS_SHARE", 0.0)
    create_specialists(*(make_input(registration_number=f"00002{i}") for i in range(3)))
    for number in ("000021", "000022"):  # hidden before the build: no row of their own
        lifecycle.suspend_listing(_listing(number), actor=operator, reason="確認中")
    first = ix.get_index(TODAY)
    assert first.visible == 1 and first.size - first.next_spare == 1
    for number in ("000021", "000022"):
        lifecycle.restore_listing(_listing(number), actor=operator)
    result = search(SearchQuery(), today=TODAY)
    assert {r["registration_number"] for r in result.results} == {"000020", "000021", "000022"}
    assert ix.get_index(TODAY) is not first
    assert "no spare rows left; loading a new snapshot" in caplog.text
