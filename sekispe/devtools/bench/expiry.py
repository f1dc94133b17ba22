"""Expiry benchmark: the daily `expire-registrations` at 300,000 expiries (issue 13, finding 3).

- `run_expiry_bench` bulk-inserts N active records that ran out yesterday
  into the *current* database, plus a few listed specialists who do not
  expire, then times `run_daily_expiry` while another thread keeps saving one
  of those listings (`update_listing`, which bumps the same search-generation
  row the expiry bumps) and records how long each save took. The smoke test
  calls it against the test database with small numbers.
- `run_scratch_benchmarks` is what `sekispe bench expiry` does: for each
  database a scratch database (a temporary SQLite file, or
  `sekispe_bench_expiry` on the PostgreSQL server), the bench command re-run
  in a subprocess pointed at it, and the database dropped afterwards (see
  sekispe/devtools/scratchdb.py).

Target: 300,000 expiries in under 60 s, with listing saves unaffected (the
report gives the longest save during the run next to the saves before it).
The saver is a thread of the same process, so its figures include waiting for
the GIL as well as for the database: an upper bound for a web process.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sekispe.devtools import scratchdb
from sekispe.devtools.scratchdb import (
    db_version,
    machine,
    prepare_worker_database,
    run_workers,
)

TARGET_S = 60.0
RECORDS = 300_000
SCRATCH_PG_NAME = "sekispe_bench_expiry"
INSERT_CHUNK = 10_000
# Saves measured before the run starts, for the baseline.
BASELINE_SAVES = 20
# Pause between two saves of the concurrent saver: a probe (5 saves a second,
# a few hundred during the run), not a load test competing for the CPU.
SAVE_INTERVAL_S = 0.2
PROFILES = ("中小企業のセキュリティ対策を支援しています。", "規程の整備と研修を行っています。")


def _given(number: int, registered_on: dt.date, expires_on: dt.date) -> dict[str, Any]:
    return {
        "registration_number": f"{number:06d}",
        "name": "期限 切子",
        "name_kana": "キゲン キリコ",
        "registered_on": registered_on,
        "expires_on": expires_on,
        "home_prefecture_id": "13",
        "status": "active",
    }


def seed_records(count: int, today: dt.date, *, progress: bool = True) -> float:
    """Insert `count` active records whose registration ran out yesterday; returns seconds.

    Plain rows through the importer's bulk writer (no history, no audit):
    the setting, not the thing measured.
    """
    from django.db import transaction
    from django.utils import timezone

    from sekispe.registry.imports import _new_values, _Table
    from sekispe.registry.models import RegistryRecord

    started = time.perf_counter()
    now = timezone.now()
    expires_on = today - dt.timedelta(days=1)
    registered_on = dt.date(expires_on.year - 3, expires_on.month, 1)
    first = 100_000  # six digits; 100000 + 300,000 stays below 999999
    columns = list(_new_values(RegistryRecord, _given(first, registered_on, expires_on), now))
    table = _Table(RegistryRecord, columns)
    with (
        transaction.atomic(),
        tqdm(total=count, desc="seed records", unit="row", disable=not progress) as bar,
    ):
        for start in range(0, count, INSERT_CHUNK):
            rows = [
                tuple(
                    _new_values(
                        RegistryRecord, _given(first + n, registered_on, expires_on), now
                    ).values()
                )
                for n in range(start, min(start + INSERT_CHUNK, count))
            ]
            table.insert(rows)
            bar.update(len(rows))
    return time.perf_counter() - started


def seed_listings(today: dt.date) -> list[int]:
    """A few published specialists who do not expire; their listings get saved during the run."""
    from sekispe.listings.models import Listing
    from sekispe.listings.services import ListingInput, write_listings

    # Above the seeded records' numbers, and valid for years after `today`.
    numbers = [f"{900_001 + n:06d}" for n in range(3)]
    write_listings(
        [
            ListingInput(
                registration_number=number,
                name="継続 続子",
                name_kana="ケイゾク ツグコ",
                registered_on=today - dt.timedelta(days=100),
                expires_on=dt.date(today.year + 3, 3, 31),
                home_prefecture="13",
                prefectures=("13",),
                themes=(1,),
                fees={"online": 10000},
                profile=PROFILES[0],
            )
            for number in numbers
        ],
        actor_label="bench-expiry",
    )
    return list(
        Listing.objects.filter(record__registration_number__in=numbers)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _save_listing(pk: int, n: int) -> float:
    """One specialist's listing save; returns its seconds."""
    from sekispe.listings.lifecycle import ListingChanges, update_listing
    from sekispe.listings.models import Listing

    started = time.perf_counter()
    update_listing(
        Listing.objects.get(pk=pk),
        ListingChanges(values={"profile": PROFILES[n % len(PROFILES)]}),
        actor=None,
    )
    return time.perf_counter() - started


class _Saver(threading.Thread):
    """Saves a listing again and again until told to stop; keeps (start, seconds) of each."""

    def __init__(self, listing_pk: int) -> None:
        super().__init__(name="bench-expiry-saver", daemon=True)
        self.listing_pk = listing_pk
        self.saves: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self.started_saving = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            n = 0
            while not self.stop.is_set():
                try:
                    started = time.perf_counter()
                    self.saves.append((started, _save_listing(self.listing_pk, n)))
                except Exception as exc:  # a failed save is a result, not a crash
                    self.errors.append(repr(exc))
                n += 1
                self.started_saving.set()
                self.stop.wait(SAVE_INTERVAL_S)
        finally:
            connection.close()


def _ms(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0, "p50_ms": 0.0, "max_ms": 0.0}
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "max_ms": round(max(values), 1),
    }


def run_expiry_bench(
    *, records: int = RECORDS, batch_size: int | None = None, progress: bool = True
) -> dict[str, Any]:
    """Seed, then time the daily expiry with a concurrent listing saver; the report dict."""
    from django.db import connection
    from django.utils import timezone

    from sekispe.audit.models import AuditEvent
    from sekispe.registry.models import RegistryRecord, RegistryStatus
    from sekispe.registry.services import EXPIRY_BATCH_SIZE, EXPIRY_REASON, run_daily_expiry

    today = timezone.localdate()
    seed_s = seed_records(records, today, progress=progress)
    listing_pks = seed_listings(today)
    baseline = [_save_listing(listing_pks[0], n) * 1000 for n in range(BASELINE_SAVES)]

    saver = _Saver(listing_pks[1])
    saver.start()
    saver.started_saving.wait(60)
    with tqdm(total=records, desc="expire", unit="record", disable=not progress) as bar:
        started = time.perf_counter()
        result = run_daily_expiry(today, batch_size=batch_size, progress=bar.update)
        expiry_s = time.perf_counter() - started
    saver.stop.set()
    saver.join()

    expired = len(result.expired)
    stored = {
        "expired": RegistryRecord.objects.filter(status=RegistryStatus.EXPIRED).count(),
        "history_rows": RegistryRecord.history.filter(history_change_reason=EXPIRY_REASON).count(),
        "audit_events": AuditEvent.objects.filter(
            action="registry.update", data__reason=EXPIRY_REASON
        ).count(),
    }
    # The saves that overlapped the run; the saver started a little before it.
    finished = started + expiry_s
    during = _ms(
        [
            seconds * 1000
            for begun, seconds in saver.saves
            if begun < finished and begun + seconds > started
        ]
    )
    return {
        "date": today.isoformat(),
        "vendor": connection.vendor,
        "db_version": db_version(connection),
        "machine": machine(),
        "records": records,
        "batch_size": batch_size or EXPIRY_BATCH_SIZE,
        "seed_s": round(seed_s, 2),
        "expiry_s": round(expiry_s, 2),
        "expired": expired,
        "expiries_per_s": round(expired / expiry_s) if expiry_s else None,
        "stored": stored,
        "saves_before": _ms(baseline),
        "saves_during": during,
        "save_errors": saver.errors[:10],
        "targets": {
            "expiry_s": {
                "value": round(expiry_s, 2),
                "target": TARGET_S,
                "pass": expiry_s < TARGET_S and expired == records,
            },
        },
    }


def format_report(report: dict[str, Any], label: str) -> str:
    before, during = report["saves_before"], report["saves_during"]
    target = report["targets"]["expiry_s"]
    stored = report["stored"]
    lines = [
        f"Expiry benchmark: {label} ({report['db_version']}), {report['records']:,} records, "
        f"batches of {report['batch_size']:,}, {report['machine']['cpus']} CPUs, {report['date']}",
        f"seeded in {report['seed_s']:.1f} s",
        f"expired {report['expired']:,} in {report['expiry_s']:.2f} s "
        f"({report['expiries_per_s'] or 0:,} expiries/s)",
        f"stored: {stored['expired']:,} expired, {stored['history_rows']:,} history rows, "
        f"{stored['audit_events']:,} audit events",
        f"listing saves before the run: {before['n']} saves, p50 {before['p50_ms']:.1f} ms, "
        f"max {before['max_ms']:.1f} ms",
        f"listing saves during the run: {during['n']} saves, p50 {during['p50_ms']:.1f} ms, "
        f"max {during['max_ms']:.1f} ms (the longest wait of a concurrent save)",
    ]
    if report["save_errors"]:
        lines.append(f"failed saves: {report['save_errors']}")
    verdict = "PASS" if target["pass"] else "FAIL"
    lines.append(f"expiry_s {target['value']:.2f} s (target < {target['target']:.0f} s): {verdict}")
    return "\n".join(lines)


def format_comparison(reports: dict[str, dict[str, Any]]) -> str:
    """A markdown table for docs/benchmarks.md."""
    lines = [
        "| database | expiries | seconds | expiries/s | save p50 before | "
        "save p50 during | save max during | saves during | target < 60 s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for report in reports.values():
        before, during = report["saves_before"], report["saves_during"]
        verdict = "PASS" if report["targets"]["expiry_s"]["pass"] else "FAIL"
        lines.append(
            f"| {report['db_version']} | {report['expired']:,} | **{report['expiry_s']:.2f}** | "
            f"{report['expiries_per_s'] or 0:,} | {before['p50_ms']:.1f} ms | "
            f"{during['p50_ms']:.1f} ms | **{during['max_ms']:.1f} ms** | {during['n']} | "
            f"{verdict} |"
        )
    return "\n".join(lines)


def write_report(report: dict[str, Any], label: str, out_dir: Path) -> Path:
    return scratchdb.write_report(report, f"expiry-{label}.json", out_dir)


# --- the subprocess on a scratch database (sekispe/devtools/scratchdb.py) --------------------


def run_scratch_benchmarks(
    *,
    databases: list[str],
    postgres_url: str | None,
    records: int,
    batch_size: int | None,
    out_dir: Path,
    progress: bool,
    echo: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Run the worker once per database against a scratch copy; return the reports."""
    args = ["--records", str(records)]
    if batch_size:
        args += ["--batch-size", str(batch_size)]
    return run_workers(
        "expiry",
        databases=databases,
        postgres_url=postgres_url,
        pg_name=SCRATCH_PG_NAME,
        worker_args=args,
        out_dir=out_dir,
        progress=progress,
        echo=echo,
    )


def worker(
    label: str, *, records: int, batch_size: int | None, out_dir: Path, progress: bool
) -> dict[str, Any]:
    """Inside the subprocess: check we are on the scratch database, migrate, seed, measure."""
    from sekispe.registry.models import RegistryRecord

    migrate_s = prepare_worker_database("seed", must_be_empty=RegistryRecord)
    report = run_expiry_bench(records=records, batch_size=batch_size, progress=progress)
    report["label"] = label
    report["migrate_s"] = round(migrate_s, 2)
    report["generated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_report(report, label, out_dir)
    return report
