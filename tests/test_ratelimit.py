"""The database-backed fixed-window counters behind login, sign-up and contact limits."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.test import RequestFactory, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.core import ratelimit
from sekispe.core.models import RateLimitCounter
from sekispe.core.ratelimit import Limit

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC)
THREE_PER_MINUTE = Limit(3, dt.timedelta(minutes=1))


def test_hits_count_up_and_stop_being_allowed_past_the_limit():
    decisions = [ratelimit.hit("k", THREE_PER_MINUTE) for _ in range(5)]
    assert [d.count for d in decisions] == [1, 2, 3, 4, 5]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]


def test_window_resets_the_count():
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(4):
            ratelimit.hit("k", THREE_PER_MINUTE)
        clock.shift(dt.timedelta(seconds=59))
        assert not ratelimit.hit("k", THREE_PER_MINUTE).allowed
        clock.shift(dt.timedelta(seconds=1))
        decision = ratelimit.hit("k", THREE_PER_MINUTE)
        assert (decision.allowed, decision.count) == (True, 1)


def test_retry_after_is_the_rest_of_the_window():
    with time_machine.travel(START, tick=False) as clock:
        ratelimit.hit("k", THREE_PER_MINUTE)
        clock.shift(dt.timedelta(seconds=20))
        assert ratelimit.hit("k", THREE_PER_MINUTE).retry_after == dt.timedelta(seconds=40)
        assert ratelimit.peek("k", THREE_PER_MINUTE).retry_after == dt.timedelta(seconds=40)


def test_peek_does_not_count():
    for _ in range(10):
        assert ratelimit.peek("k", THREE_PER_MINUTE).allowed
    assert ratelimit.peek("k", THREE_PER_MINUTE).count == 0
    assert not RateLimitCounter.objects.exists()
    for _ in range(3):
        ratelimit.hit("k", THREE_PER_MINUTE)
    # Three used: the next hit would be the fourth, so peek says no.
    decision = ratelimit.peek("k", THREE_PER_MINUTE)
    assert (decision.allowed, decision.count) == (False, 3)
    assert RateLimitCounter.objects.get(key="k").count == 3


def test_peek_after_the_window_sees_a_fresh_budget():
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            ratelimit.hit("k", THREE_PER_MINUTE)
        clock.shift(dt.timedelta(minutes=1))
        assert ratelimit.peek("k", THREE_PER_MINUTE) == ratelimit.Decision(True, 0, dt.timedelta(0))


def test_keys_are_independent():
    for _ in range(4):
        ratelimit.hit("a", THREE_PER_MINUTE)
    assert not ratelimit.peek("a", THREE_PER_MINUTE).allowed
    assert ratelimit.hit("b", THREE_PER_MINUTE).count == 1
    ratelimit.reset("b")
    assert not ratelimit.peek("a", THREE_PER_MINUTE).allowed


def test_reset_forgets_the_count():
    for _ in range(4):
        ratelimit.hit("k", THREE_PER_MINUTE)
    ratelimit.reset("k")
    assert ratelimit.peek("k", THREE_PER_MINUTE).count == 0
    assert ratelimit.hit("k", THREE_PER_MINUTE).count == 1


def test_ip_keys_are_per_scope_and_address_and_hold_no_raw_address():
    factory = RequestFactory()
    one = factory.get("/", REMOTE_ADDR="198.51.100.1")
    two = factory.get("/", REMOTE_ADDR="198.51.100.2")
    key = ratelimit.ip_key("login", one)
    assert key.startswith("login:ip:") and "198.51.100.1" not in key
    assert key == ratelimit.ip_key("login", factory.get("/x", REMOTE_ADDR="198.51.100.1"))
    assert key != ratelimit.ip_key("login", two)
    assert key != ratelimit.ip_key("signup", one)


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9"
    )
    assert ratelimit.client_ip(request) == "10.0.0.1"
    with override_settings(TRUSTED_PROXY_HOPS=1):
        # The proxy appended the last entry; anything left of it may be forged.
        assert ratelimit.client_ip(request) == "203.0.113.9"


_keys = itertools.count()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(min_value=1, max_value=6),
    offsets=st.lists(st.integers(min_value=0, max_value=599), max_size=15).map(sorted),
)
def test_within_one_window_allowed_is_count_at_most_limit(limit, offsets):
    rule = Limit(limit, dt.timedelta(seconds=600))
    key = f"prop:{next(_keys)}"  # the examples share one test transaction
    with time_machine.travel(START, tick=False) as clock:
        for count, offset in enumerate(offsets, start=1):
            clock.move_to(START + dt.timedelta(seconds=offset))
            decision = ratelimit.hit(key, rule)
            assert decision.count == count
            assert decision.allowed == (count <= limit)
            assert ratelimit.peek(key, rule).allowed == (count < limit)


def test_the_daily_job_purges_counters_older_than_two_days_and_keeps_the_rest():
    from io import StringIO

    from django.core.management import call_command

    with time_machine.travel(START, tick=False) as clock:
        ratelimit.hit("old", THREE_PER_MINUTE)
        clock.shift(dt.timedelta(days=1, hours=23))
        ratelimit.hit("recent", THREE_PER_MINUTE)
        clock.shift(dt.timedelta(hours=2))
        out = StringIO()
        call_command("listings_maintenance", stdout=out)
    assert set(RateLimitCounter.objects.values_list("key", flat=True)) == {"recent"}
    assert "カウンタの削除 1 件" in out.getvalue()


def test_consume_stops_at_the_limit_and_a_refusal_counts_nothing():
    decisions = [ratelimit.consume("k", THREE_PER_MINUTE) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert RateLimitCounter.objects.get(key="k").count == 3
    ratelimit.refund("k")
    assert ratelimit.consume("k", THREE_PER_MINUTE).allowed
    assert not ratelimit.consume("k", THREE_PER_MINUTE).allowed


def test_consume_opens_a_new_window_and_refund_never_goes_below_zero():
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            ratelimit.consume("k", THREE_PER_MINUTE)
        clock.shift(dt.timedelta(minutes=1))
        decision = ratelimit.consume("k", THREE_PER_MINUTE)
        assert (decision.allowed, decision.count) == (True, 1)
        assert decision.retry_after == dt.timedelta(minutes=1)
    for _ in range(3):
        ratelimit.refund("k")
    assert RateLimitCounter.objects.get(key="k").count == 0
    ratelimit.refund("missing")  # nothing to give back
