"""The demo's review queue shows real diffs (issue 15, point 6).

Seeded listings were written straight to "submitted" before, so the review
said 「これまでに掲載された版はありません」 for listings that had been live.
Now the seeded live listings carry their approval, the changes wait as
pending revisions on live listings, and only never-published listings say
there is no earlier version.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from sekispe.accounts.models import User
from sekispe.listings.models import Listing, ListingRevision, ListingStatus, ListingTransition

pytestmark = pytest.mark.django_db

NO_EARLIER = "これまでに掲載された版はありません"


def test_seeded_changes_wait_on_live_listings_and_the_review_shows_the_diff(client):
    call_command("seed_demo", specialists=60, seed=2, no_progress=True, accounts=True,
                 stdout=StringIO())  # fmt: skip
    client.force_login(User.objects.get(email="operator@demo.sekispe.example"))
    revisions = list(ListingRevision.objects.select_related("listing"))
    assert len(revisions) == 8
    first_time = list(Listing.objects.filter(status=ListingStatus.SUBMITTED))
    assert len(first_time) == 4
    queue = client.get("/ops/reviews/").content.decode()
    for revision in revisions:
        listing = revision.listing
        # Still live, with the approval it was published by.
        assert listing.status == ListingStatus.PUBLISHED
        assert Listing.objects.visible().filter(pk=listing.pk).exists()
        assert listing.transitions.filter(to_status=ListingStatus.PUBLISHED).exists()
        assert f"/ops/reviews/{listing.pk}/" in queue
        page = client.get(f"/ops/reviews/{listing.pk}/").content.decode()
        assert NO_EARLIER not in page
        assert "掲載中の内容からの変更（審査待ち）" in page
        assert "追加：" in page or "変更後" in page
        assert "gated:" not in page
    for listing in first_time:
        # Never published: saying so is true.
        assert not ListingTransition.objects.filter(
            listing=listing, to_status=ListingStatus.PUBLISHED
        ).exists()
        assert NO_EARLIER in client.get(f"/ops/reviews/{listing.pk}/").content.decode()
    # Seeding again adds nothing to the queue.
    call_command("seed_demo", specialists=60, seed=2, no_progress=True, accounts=True,
                 if_empty=True, stdout=StringIO())  # fmt: skip
    assert ListingRevision.objects.count() == 8
