"""The index's refresh behaviour: stale-while-rebuilding, and what it caches."""

from __future__ import annotations

import pytest

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
def test_normalised_texts_are_reused_by_the_next_build():
    create_specialists(make_input(registration_number="000001", profile="ランサムウェア"))
    first = ix.get_index(TODAY)
    create_specialists(make_input(registration_number="000002", profile="クラウド"))
    second = ix.get_index(TODAY)
    assert second is not first
    assert set(first.normalized) <= set(second.normalized)
    assert second.search_texts[0] is first.search_texts[0]  # the same object, not recomputed


@pytest.mark.django_db
def test_term_matches_are_cached_per_index():
    create_specialists(make_input(registration_number="000001", profile="ランサムウェア"))
    index = ix.get_index(TODAY)
    mask = index.term_mask("ランサム")
    assert mask.tolist() == [True]
    assert index.term_mask("ランサム") is mask
