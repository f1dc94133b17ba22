"""A failed search-index build backs off (exponential, capped) instead of being
retried on every request, is logged once per step, and shows in readiness."""

from __future__ import annotations

import logging

import pytest
from django.utils import timezone

from sekispe.core.changes import record_everything
from sekispe.search import index as ix

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(ix.time, "monotonic", clock)
    return clock


@pytest.fixture
def failing_build(monkeypatch):
    real = ix.build_index
    calls = []

    def build(*args, **kwargs):
        calls.append(1)
        if failing_build_state["fail"]:
            raise RuntimeError("connection reset")
        return real(*args, **kwargs)

    failing_build_state = {"fail": True}
    monkeypatch.setattr(ix, "build_index", build)
    return calls, failing_build_state


def failures_logged(caplog) -> int:
    return sum("search index build failed" in r.getMessage() for r in caplog.records)


def test_a_cold_process_backs_off_between_failed_builds(clock, failing_build, caplog, specialist):
    caplog.set_level(logging.ERROR, logger="sekispe.search.index")
    calls, state = failing_build
    today = timezone.localdate()
    with pytest.raises(RuntimeError, match="connection reset"):
        ix.get_index(today)
    for _ in range(20):  # twenty searches during the back-off cost no build
        with pytest.raises(ix.IndexUnavailable):
            ix.get_index(today)
    assert len(calls) == 1
    assert failures_logged(caplog) == 1
    status = ix.index_status()
    assert (status.built, status.failures) == (False, 1)
    assert "RuntimeError: connection reset" in status.last_error
    assert status.retry_in_seconds == pytest.approx(1.0)

    expected_delays = [2.0, 4.0, 8.0]
    for delay in expected_delays:
        clock.now += ix.index_status().retry_in_seconds + 0.01
        with pytest.raises(RuntimeError):
            ix.get_index(today)
        assert ix.index_status().retry_in_seconds == pytest.approx(delay)
    assert len(calls) == 4
    assert failures_logged(caplog) == 4  # once per back-off step

    # Capped.
    ix._health.failures = 30
    clock.now += 10_000
    with pytest.raises(RuntimeError):
        ix.get_index(today)
    assert ix.index_status().retry_in_seconds == ix.BUILD_RETRY_CAP_SECONDS

    # The database recovers: the next try after the back-off builds, and the record clears.
    state["fail"] = False
    clock.now += ix.BUILD_RETRY_CAP_SECONDS + 1
    index = ix.get_index(today)
    assert "100001" in index.position_by_number
    status = ix.index_status()
    assert (status.failures, status.last_error, status.retry_in_seconds) == (0, "", 0.0)
    assert status.built_at is not None


def test_a_stale_index_keeps_serving_while_rebuilds_back_off(
    clock, failing_build, settings, specialist
):
    settings.SEARCH_INDEX_BACKGROUND_REFRESH = True
    # The poller thread has its own connection, which cannot see this test's
    # uncommitted rows: the test drives the refreshes (wait_for_refresh) itself.
    settings.SEARCH_POLL_SECONDS = 3600
    calls, state = failing_build
    today = timezone.localdate()
    state["fail"] = False
    first = ix.get_index(today)
    state["fail"] = True
    record_everything()
    for _ in range(10):
        assert ix.get_index(today) is first  # stale, but serving
        ix.wait_for_refresh()
    assert len(calls) == 2  # the first build, then one failed rebuild: no retry per request
    assert ix.index_status().failures == 1
    clock.now += 1.5
    ix.get_index(today)
    ix.wait_for_refresh()
    assert len(calls) == 3
