"""Issue 18: following the change log. A change committed late (a lower id than
one already applied) is still applied, through the look-back window; a log
that no longer holds what the index applied (rolled back, restored) rebuilds."""

from __future__ import annotations

import logging

import pytest
from django.db.models import Max

from sekispe.core.models import SearchChange
from sekispe.listings.models import Listing, ListingStatus
from sekispe.search import index as ix
from sekispe.search.services import SearchQuery, search
from tests.factories import TODAY, create_specialists, make_input

pytestmark = pytest.mark.django_db


def numbers() -> list[str]:
    result = search(SearchQuery(page_size=50), today=TODAY)
    return sorted(r["registration_number"] for r in result.results)


def hide_silently(number: str) -> int:
    """Suspend without logging (a queryset update sends no signal): only the log row
    the test writes itself tells the index."""
    listing = Listing.objects.get(record__registration_number=number)
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.SUSPENDED)
    return listing.pk


@pytest.fixture
def listed():
    create_specialists(*(make_input(registration_number=f"80000{i}") for i in range(1, 4)))
    assert numbers() == ["800001", "800002", "800003"]


def test_a_change_committed_late_with_a_lower_id_is_still_applied(listed):
    newest = SearchChange.objects.aggregate(m=Max("id"))["m"]
    first = hide_silently("800001")
    # A later transaction commits first, taking id newest + 2 ...
    SearchChange.objects.create(id=newest + 2, listing_id=first)
    assert numbers() == ["800002", "800003"]
    # ... then the earlier one commits its id newest + 1, below the watermark.
    late = hide_silently("800002")
    SearchChange.objects.create(id=newest + 1, listing_id=late)
    assert numbers() == ["800003"]
    # Applied once: it is not applied again (nor does anything else move).
    state = ix._follower.seen.copy()
    assert numbers() == ["800003"]
    assert (newest + 1) in {i for i, _ in state}


def test_a_rewound_log_rebuilds(listed, caplog):
    hidden = hide_silently("800003")
    SearchChange.objects.create(listing_id=hidden)
    assert numbers() == ["800001", "800002"]
    # The rows this index applied vanish (a rollback, a restore from backup),
    # and the data moves back without a row of its own.
    newest = SearchChange.objects.aggregate(m=Max("id"))["m"]
    SearchChange.objects.filter(id=newest).delete()
    Listing.objects.filter(pk=hidden).update(status=ListingStatus.PUBLISHED)
    with caplog.at_level(logging.WARNING, logger="sekispe.search.index"):
        assert numbers() == ["800001", "800002", "800003"]
    assert any("rebuilding" in r.getMessage() for r in caplog.records)
    fresh = ix.build_index(TODAY)
    assert ix.get_index(TODAY).visible == fresh.visible == 3
