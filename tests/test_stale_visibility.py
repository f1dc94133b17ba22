"""Visibility is always current: a listing hidden a moment ago is never shown or
revealed, whatever a stale (or failing) in-memory index still holds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sekispe.core.changes import record_everything
from sekispe.listings.lifecycle import suspend_listing, withdraw_listing
from sekispe.listings.models import Listing
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.search import index as ix

pytestmark = pytest.mark.django_db

NUMBER = "100001"  # the `specialist` persona's published listing


def _suspend(operator, specialist):
    suspend_listing(specialist.record.listing, actor=operator, reason="苦情の確認中")


def _withdraw(operator, specialist):
    withdraw_listing(specialist.record.listing, actor=specialist)


def _expire(operator, specialist):
    RegistryRecord.objects.filter(pk=specialist.record_id).update(status=RegistryStatus.EXPIRED)
    record_everything()


def _hide(operator, specialist):
    # A year without an update: hidden by date, with no write and no new generation.
    Listing.objects.filter(pk=specialist.record.listing.pk).update(
        updated_at=timezone.now() - dt.timedelta(days=400)
    )


@pytest.mark.parametrize("hide", [_suspend, _withdraw, _expire, _hide])
def test_a_listing_hidden_while_a_stale_index_serves_is_404_everywhere(
    client, settings, monkeypatch, operator, specialist, hide
):
    settings.SEARCH_INDEX_BACKGROUND_REFRESH = True  # as in production
    # The poller thread has its own connection, which cannot see this test's
    # uncommitted rows: the test drives the refreshes (wait_for_refresh) itself.
    settings.SEARCH_POLL_SECONDS = 3600
    assert client.get(f"/specialists/{NUMBER}/").status_code == 200
    assert client.get(f"/api/v1/specialists/{NUMBER}").status_code == 200

    def broken(*args, **kwargs):
        raise RuntimeError("database too busy to rebuild")

    monkeypatch.setattr(ix, "build_index", broken)  # every rebuild fails from now on
    hide(operator, specialist)
    client.get("/specialists/")  # a search notices the change and tries (and fails) to rebuild
    ix.wait_for_refresh()
    assert NUMBER in ix._current.position_by_number  # the index still lists it...

    assert client.get(f"/specialists/{NUMBER}/").status_code == 404  # ...but nobody sees it
    assert client.get(f"/api/v1/specialists/{NUMBER}").status_code == 404
    response = client.post(f"/specialists/{NUMBER}/contact/")
    assert response.status_code == 404
    assert specialist.record.listing.email not in response.content.decode()
