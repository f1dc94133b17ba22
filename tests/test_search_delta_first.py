"""A search that arrives while the poller thread applies a delta lets it finish
first (bounded by DELTA_FIRST_SECONDS).

Why it matters: a busy process's request threads kept CPython's interpreter
lock from the poller, so a change took 1-3 s to show in search instead of the
delta's own 25 ms (`sekispe bench search`, "freshness while the web process
searches without pause"). These tests hold the poller inside a real delta and
check who answers first; the freshness figure itself is the benchmark's.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from django.utils import timezone

from sekispe.listings import lifecycle
from sekispe.listings.models import Listing
from sekispe.search import index as ix
from sekispe.search.services import SearchQuery, search
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held_delta(monkeypatch, settings):
    """The poller thread's deltas wait inside apply_changes until `release`."""
    settings.SEARCH_INDEX_BACKGROUND_REFRESH = True
    settings.SEARCH_POLL_SECONDS = 0.01
    real = ix.apply_changes
    held = SimpleNamespace(entered=threading.Event(), release=threading.Event(), order=[])

    def apply(index, listing_ids):
        held.entered.set()
        held.release.wait(10)
        try:
            return real(index, listing_ids)
        finally:
            held.order.append("delta applied")

    monkeypatch.setattr(ix, "apply_changes", apply)
    yield held
    held.release.set()


def _suspend_the_listing_while_the_poller_runs() -> None:
    today = timezone.localdate()
    create_specialists(make_input(registration_number="000001"))
    assert search(SearchQuery(), today=today).count == 1  # loaded; the poller starts
    listing = Listing.objects.get()
    lifecycle.suspend_listing(listing, actor=None, reason="テスト")


def _search_in_a_thread(held) -> tuple[threading.Thread, dict[str, int]]:
    answer: dict[str, int] = {}

    def visitor() -> None:
        answer["count"] = search(SearchQuery(), today=timezone.localdate()).count
        held.order.append("search answered")

    thread = threading.Thread(target=visitor)
    thread.start()
    return thread, answer


def test_a_search_during_a_delta_waits_for_it_and_shows_the_change(held_delta):
    _suspend_the_listing_while_the_poller_runs()
    assert held_delta.entered.wait(5), "the poller never picked the change up"

    thread, answer = _search_in_a_thread(held_delta)
    time.sleep(0.02)  # the search has arrived and is waiting
    held_delta.release.set()
    thread.join(5)

    assert held_delta.order == ["delta applied", "search answered"]
    assert answer["count"] == 0  # the suspension, not the index from before it


class CountedEvent(threading.Event):
    """An Event that counts the waits on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0
        self.set()

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)


def test_a_delta_that_takes_too_long_does_not_hold_searches(held_delta, monkeypatch):
    monkeypatch.setattr(ix, "DELTA_FIRST_SECONDS", 0.05)
    monkeypatch.setattr(ix, "_poller_idle", CountedEvent())
    _suspend_the_listing_while_the_poller_runs()
    assert held_delta.entered.wait(5)

    thread, answer = _search_in_a_thread(held_delta)
    thread.join(5)
    # Answered from the index as it was, with the delta still held...
    assert held_delta.order == ["search answered"]
    assert answer["count"] == 1
    # ...and a later one does not wait at all: the wait is counted from the
    # delta's start, so a delta stuck on the database delays searches once, not each.
    while time.monotonic() <= ix._poller_began + ix.DELTA_FIRST_SECONDS:
        time.sleep(0.005)
    waits = ix._poller_idle.waits
    assert search(SearchQuery(), today=timezone.localdate()).count == 1
    assert ix._poller_idle.waits == waits
    assert held_delta.order == ["search answered"]
    # The database stays the judge of visibility: the detail page checks it.
    assert Listing.objects.get().status == "suspended"

    held_delta.release.set()
    ix.wait_for_refresh()
    deadline = time.monotonic() + 5
    while "delta applied" not in held_delta.order and time.monotonic() < deadline:
        time.sleep(0.01)
    assert search(SearchQuery(), today=timezone.localdate()).count == 0
