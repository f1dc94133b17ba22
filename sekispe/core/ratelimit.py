"""Fixed-window rate limits kept in the database.

Why not the cache: the default cache is per process, so with several workers
each would count alone; the database is shared by every worker with no extra
service, on SQLite and PostgreSQL alike. The counters are tiny (one row per key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from sekispe.core.models import RateLimitCounter


@dataclass(frozen=True)
class Limit:
    limit: int
    window: dt.timedelta


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: dt.timedelta


def _window_open(counter: RateLimitCounter, window: dt.timedelta, now: dt.datetime) -> bool:
    return counter.window_start + window > now


def peek(key: str, rule: Limit) -> Decision:
    """Whether the next hit would still be allowed, without counting it."""
    now = timezone.now()
    counter = RateLimitCounter.objects.filter(key=key).first()
    if counter is None or not _window_open(counter, rule.window, now):
        return Decision(True, 0, dt.timedelta(0))
    return Decision(
        counter.count < rule.limit, counter.count, counter.window_start + rule.window - now
    )


def _locked_counter(key: str, window: dt.timedelta, now: dt.datetime) -> RateLimitCounter:
    """`key`'s counter, created if new and row-locked until the caller's
    transaction ends; a counter whose window has ended starts over (not saved)."""
    # ignore_conflicts makes concurrent first hits safe; the row lock below
    # serialises the increments (SQLite: the IMMEDIATE transaction does).
    RateLimitCounter.objects.bulk_create(
        [RateLimitCounter(key=key, window_start=now, count=0)], ignore_conflicts=True
    )
    counter = RateLimitCounter.objects.select_for_update().get(key=key)
    if not _window_open(counter, window, now):
        counter.window_start, counter.count = now, 0
    return counter


def _no_disk_wait(own_transaction: bool) -> None:
    """A counter is not worth a wait for the disk on every search (PostgreSQL):
    a crash can lose the last few milliseconds of counts, nothing else. Only in
    a transaction of our own, never one whose other writes must be durable."""
    if own_transaction and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def hit(key: str, rule: Limit) -> Decision:
    """Count one event against `key`; allowed while the count stays within the limit."""
    return add_hits({key: 1}, rule)[key]


# Keys per statement: SQLite allows 999 parameters in older builds.
_KEYS_PER_BATCH = 500


def add_hits(
    counts: Mapping[str, int], rule: Limit, *, now: dt.datetime | None = None
) -> dict[str, Decision]:
    """Add each key's count of events in one transaction; each key's Decision
    reflects every process's counts so far (the shared figure).

    For counters kept in memory and written in batches (search/bots.py): one
    write for many events. Rows are locked in key order, so two processes
    adding overlapping keys cannot deadlock.
    """
    now = now or timezone.now()
    own_transaction = not connection.in_atomic_block
    keys = sorted(counts)
    decisions: dict[str, Decision] = {}
    with transaction.atomic():
        _no_disk_wait(own_transaction)
        for start in range(0, len(keys), _KEYS_PER_BATCH):
            batch = keys[start : start + _KEYS_PER_BATCH]
            # ignore_conflicts makes concurrent first hits safe; the row lock
            # serialises the increments (SQLite: the IMMEDIATE transaction does).
            RateLimitCounter.objects.bulk_create(
                [RateLimitCounter(key=key, window_start=now, count=0) for key in batch],
                ignore_conflicts=True,
            )
            counters = list(
                RateLimitCounter.objects.select_for_update().filter(key__in=batch).order_by("key")
            )
            for counter in counters:
                if not _window_open(counter, rule.window, now):
                    counter.window_start, counter.count = now, 0
                counter.count += counts[counter.key]
                decisions[counter.key] = Decision(
                    counter.count <= rule.limit,
                    counter.count,
                    counter.window_start + rule.window - now,
                )
            RateLimitCounter.objects.bulk_update(counters, ["window_start", "count"])
    return decisions


def consume(key: str, rule: Limit) -> Decision:
    """Take one unit of `key`'s budget if any is left; a refusal counts nothing.

    For a check that must not run past the limit (a password check): the
    caller consumes first and runs the check only when allowed, so N
    concurrent callers get at most `rule.limit` checks. The row lock (or
    SQLite's IMMEDIATE transaction, which serialises writers) makes the read
    and the conditional increment one step.
    """
    now = timezone.now()
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        _no_disk_wait(own_transaction)
        counter = _locked_counter(key, rule.window, now)
        allowed = counter.count < rule.limit
        if allowed:
            counter.count += 1
            counter.save(update_fields=["window_start", "count"])
    return Decision(allowed, counter.count, counter.window_start + rule.window - now)


def refund(key: str) -> None:
    """Give back one unit taken by `consume` (the event turned out not to count)."""
    RateLimitCounter.objects.filter(key=key, count__gt=0).update(count=F("count") - 1)


def reset(key: str) -> None:
    RateLimitCounter.objects.filter(key=key).delete()


# Longer than the longest window in settings (one day), so no live count is lost.
COUNTER_RETENTION = dt.timedelta(days=2)


def purge_expired(now: dt.datetime | None = None) -> int:
    """Delete counters whose window ended long ago; returns how many."""
    cutoff = (now or timezone.now()) - COUNTER_RETENTION
    deleted, _ = RateLimitCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted


def client_ip(request: HttpRequest) -> str:
    """The client address. Behind a proxy, set TRUSTED_PROXY_HOPS (settings and
    environment alike) to the number of proxies that append to X-Forwarded-For,
    so the entry the nearest trusted proxy saw is used; a client can forge the
    leftmost ones. Production refuses to start without it (settings/prod.py)."""
    hops = getattr(settings, "TRUSTED_PROXY_HOPS", 0)
    if hops:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hashed_client_ip(request: HttpRequest) -> str:
    """A keyed hash of the client address: enough to count and to spot scraping,
    without storing the address itself (APPI: minimise personal data)."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:{client_ip(request)}".encode()).hexdigest()


def ip_key(scope: str, request: HttpRequest) -> str:
    return f"{scope}:ip:{hashed_client_ip(request)[:32]}"


def rule(setting: str) -> Limit:
    """A `(count, seconds)` tuple setting as a Limit."""
    count, seconds = getattr(settings, setting)
    return Limit(count, dt.timedelta(seconds=seconds))
