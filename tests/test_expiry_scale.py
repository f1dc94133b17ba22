"""Issue 13, finding 3: `expire-registrations` at scale.

The expiry commits in short batches: two overlapping runs expire each record
once (one history row, one audit event), and a specialist's listing save,
which bumps the same search-generation row, does not wait for the whole run.
Real threads, each with its own database connection: on SQLite BEGIN
IMMEDIATE serialises the writers; on PostgreSQL the batch claims its rows
with SELECT ... FOR UPDATE SKIP LOCKED and a conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

import pytest

from sekispe.audit.models import AuditEvent
from sekispe.listings.lifecycle import ListingChanges, update_listing
from sekispe.listings.models import Listing
from sekispe.registry import services
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.registry.services import run_daily_expiry
from tests.concurrency_support import race
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db(transaction=True)

LAST_DAY = dt.date(2026, 11, 21)
DAY_AFTER = LAST_DAY + dt.timedelta(days=1)
REASON = "有効期限までに更新されなかったため失効"
# Generous bound for a thread that should never wait at all; only reached on failure.
WAIT_S = 30


def lapsing(count: int, first: int = 600001) -> list[str]:
    numbers = [f"{first + n:06d}" for n in range(count)]
    create_specialists(
        *(make_input(registration_number=number, expires_on=LAST_DAY) for number in numbers)
    )
    return numbers


def expiry_history() -> Counter[int]:
    return Counter(
        RegistryRecord.history.filter(history_change_reason=REASON).values_list("id", flat=True)
    )


@pytest.mark.parametrize("batch_size", [1000, 3])
def test_finding_03_two_concurrent_expiry_runs_write_one_history_row_each(monkeypatch, batch_size):
    numbers = lapsing(24)
    monkeypatch.setattr(services, "EXPIRY_BATCH_SIZE", batch_size, raising=False)

    first, second = race([lambda: run_daily_expiry(DAY_AFTER), lambda: run_daily_expiry(DAY_AFTER)])

    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    # Each record was expired by exactly one of the runs.
    assert sorted(first.expired + second.expired) == numbers
    assert not set(first.expired) & set(second.expired)
    assert set(
        RegistryRecord.objects.filter(registration_number__in=numbers).values_list(
            "status", flat=True
        )
    ) == {RegistryStatus.EXPIRED}
    history = expiry_history()
    assert len(history) == len(numbers)
    assert set(history.values()) == {1}
    # The history row is the record after the change, as simple-history writes it.
    assert set(
        RegistryRecord.history.filter(history_change_reason=REASON).values_list(
            "status", "history_type"
        )
    ) == {(RegistryStatus.EXPIRED, "~")}
    updates = Counter(
        AuditEvent.objects.filter(action="registry.update").values_list("target_id", flat=True)
    )
    assert updates == dict.fromkeys(numbers, 1)
    runs = AuditEvent.objects.filter(action="registry.expiry_run")
    assert sorted(n for run in runs for n in run.data["expired"]) == numbers


def test_finding_03_a_listing_save_is_not_blocked_while_expiry_runs():
    numbers = lapsing(6)
    listing = Listing.objects.get(record__registration_number=numbers[0])
    paused = threading.Event()
    saved = threading.Event()
    seen_mid_run: list[tuple[int, int]] = []
    saved_while_paused: list[bool] = []

    def between_batches(done: int) -> None:
        # Hold the run after its first batch until the save went through
        # (or the bound ran out, which is the failure).
        if not paused.is_set():
            paused.set()
            saved_while_paused.append(saved.wait(WAIT_S))

    def expiry() -> Any:
        return run_daily_expiry(DAY_AFTER, batch_size=2, progress=between_batches)

    def save() -> None:
        assert paused.wait(WAIT_S)
        # What the run has committed so far, from this thread's own connection.
        statuses = Counter(
            RegistryRecord.objects.filter(registration_number__in=numbers).values_list(
                "status", flat=True
            )
        )
        seen_mid_run.append((statuses[RegistryStatus.EXPIRED], statuses[RegistryStatus.ACTIVE]))
        update_listing(
            Listing.objects.get(pk=listing.pk),
            ListingChanges(values={"profile": "経営者向けの研修も行っています。"}),
            actor=None,
        )
        saved.set()

    result, saved_result = race([expiry, save])

    assert not isinstance(saved_result, Exception), saved_result
    assert not isinstance(result, Exception), result
    assert saved_while_paused == [True]
    assert seen_mid_run == [(2, 4)]  # the save happened in the middle of the run
    assert sorted(result.expired) == numbers
    listing.refresh_from_db()
    assert listing.profile == "経営者向けの研修も行っています。"


def test_the_expiry_bench_runs_end_to_end_on_a_few_records(tmp_path):
    from sekispe.devtools.bench import expiry as bench

    report = bench.run_expiry_bench(records=40, batch_size=7, progress=False)

    assert report["records"] == report["expired"] == 40
    assert report["batch_size"] == 7
    assert report["stored"] == {"expired": 40, "history_rows": 40, "audit_events": 40}
    assert report["saves_before"]["n"] == bench.BASELINE_SAVES
    assert {"n", "p50_ms", "max_ms"} <= report["saves_during"].keys()
    assert report["save_errors"] == []
    assert set(report["targets"]) == {"expiry_s"}
    assert "expiries/s" in bench.format_report(report, "test")
    assert "save max during" in bench.format_comparison({"test": report})
    assert bench.write_report(report, "test", tmp_path).name == "expiry-test.json"
