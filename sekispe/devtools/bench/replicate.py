"""Grow a seeded register to N listings by copying it in SQL (`sekispe bench search`).

Seeding goes through `write_demo_specialists` at about 2 ms a listing, so
1,000,000 listings would take 40-45 minutes before anything is measured. The
bench instead seeds a base (50,000 by default) the normal way and copies every
row a searchable listing has, in INSERT ... SELECT statements that run the same
on SQLite and PostgreSQL, until there are N listings:

- the registry record (a new registration number; same name and dates),
- the listing (same profile),
- its many-to-many rows (prefectures, themes, syllabus items, industries,
  periods, qualifications) and service offers,
- the record's course completions.

Copy k of base listing i gets listing id `i + k * max_listing_id` and record id
`r + k * max_record_id`, so ids stay unique and ordered without a lookup, and
the next unused six-digit registration number. Six digits allow exactly
1,000,000 numbers, so N can be at most 1,000,000 minus the records that are
not copied. The demo seed writes no accounts, history or transitions, so
nothing else hangs off a seeded listing; the exposure ledger is seeded for
every listing afterwards by the bench.

A copy matches every search its original matches, so a query that matched k
listings in the base matches about k * N / base afterwards: the result lists
grow the way a bigger register's would, with identical profiles.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from tqdm import tqdm

NUMBERS = 1_000_000  # registration numbers are six digits: 000000-999999
BATCH = 25_000  # listings copied per transaction
_FILL_CHUNK = 10_000
# Scratch tables of the copy, dropped at the end (TEMP: only this connection sees them).
_BASE = "scale_replicate_base"
_NUMBER = "scale_replicate_number"


@dataclass(frozen=True)
class _Table:
    """A table copied with its parent: `key` holds the parent's id, shifted per copy."""

    table: str
    columns: tuple[str, ...]
    key: str  # "listing_id" or "record_id" column of this table
    base_column: str  # which id of the base table it joins: listing_id or record_id


def _columns(model: Any, *, skip: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f.column for f in model._meta.local_concrete_fields if f.column not in skip)


def _child_tables() -> list[_Table]:
    """Every table holding rows of a listing or its record that search reads."""
    from sekispe.listings.models import Listing, ServiceOffer
    from sekispe.registry.models import CourseCompletion

    tables = []
    for field in Listing._meta.many_to_many:
        through = field.remote_field.through
        tables.append(
            _Table(
                through._meta.db_table,
                _columns(through, skip=("id",)),
                "listing_id",
                "listing_id",
            )
        )
    tables.append(
        _Table(
            ServiceOffer._meta.db_table,
            _columns(ServiceOffer, skip=("id",)),
            "listing_id",
            "listing_id",
        )
    )
    tables.append(
        _Table(
            CourseCompletion._meta.db_table,
            _columns(CourseCompletion, skip=("id",)),
            "record_id",
            "record_id",
        )
    )
    return tables


def free_numbers(used: set[str], count: int) -> list[str]:
    """The `count` lowest six-digit registration numbers not in `used`."""
    numbers: list[str] = []
    for n in range(NUMBERS):
        number = f"{n:06d}"
        if number not in used:
            numbers.append(number)
            if len(numbers) == count:
                return numbers
    raise ValueError(
        f"only {len(numbers):,} unused registration numbers are left; {count:,} are needed "
        f"(six digits allow {NUMBERS:,} in all)"
    )


def _is_superuser(cursor: Any) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


def _scalar(cursor: Any, sql: str) -> int:
    cursor.execute(sql)
    return int(cursor.fetchone()[0] or 0)


def _fill(cursor: Any, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join(["%s"] * len(rows[0]))
    for start in range(0, len(rows), _FILL_CHUNK):
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 (our names)
            rows[start : start + _FILL_CHUNK],
        )


def _batches(base: int, copies: int, batch: int) -> Iterator[tuple[int, int, int]]:
    """(copy number k >= 1, first pos, end pos) until `copies` listings are planned."""
    done, k = 0, 1
    while done < copies:
        take = min(base, copies - done)
        for lo in range(0, take, batch):
            yield k, lo, min(take, lo + batch)
        done += take
        k += 1


def replicate(
    target: int, *, batch: int = BATCH, progress: bool = True, analyze: bool = True
) -> dict[str, Any]:
    """Copy the listings in the database until there are `target`; returns what it did.

    Nothing happens when there are already `target` or more. Runs outside any
    transaction of the caller: each batch commits on its own, so a 1,000,000
    copy never holds one huge transaction.
    """
    from django.core.management.color import no_style

    from sekispe.core.changes import record_everything
    from sekispe.listings.models import Listing
    from sekispe.registry.models import RegistryRecord

    started = time.perf_counter()
    record_table = RegistryRecord._meta.db_table
    listing_table = Listing._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, record_id FROM {listing_table} ORDER BY id")  # noqa: S608
        base_rows = cursor.fetchall()
        base = len(base_rows)
        report: dict[str, Any] = {"base": base, "target": target, "copied": 0}
        if base == 0 or target <= base:
            return report | {"seconds": round(time.perf_counter() - started, 2)}
        copies = target - base
        cursor.execute(f"SELECT registration_number FROM {record_table}")  # noqa: S608
        numbers = free_numbers({row[0] for row in cursor.fetchall()}, copies)
        record_step = _scalar(cursor, f"SELECT MAX(id) FROM {record_table}")  # noqa: S608
        listing_step = _scalar(cursor, f"SELECT MAX(id) FROM {listing_table}")  # noqa: S608

        for name in (_BASE, _NUMBER):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_BASE} (pos INTEGER PRIMARY KEY,"
            " listing_id BIGINT NOT NULL, record_id BIGINT NOT NULL)"
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_NUMBER} (idx INTEGER PRIMARY KEY, number VARCHAR(6) NOT NULL)"
        )
        with transaction.atomic():
            _fill(
                cursor,
                _BASE,
                "pos, listing_id, record_id",
                [(pos, lid, rid) for pos, (lid, rid) in enumerate(base_rows)],
            )
            _fill(cursor, _NUMBER, "idx, number", list(enumerate(numbers)))
        prepared = time.perf_counter()

        record_columns = _columns(RegistryRecord)
        listing_columns = _columns(Listing)

        def select(columns: tuple[str, ...], alias: str, shifted: dict[str, str]) -> str:
            return ", ".join(shifted.get(c, f"{alias}.{c}") for c in columns)

        record_sql = (
            f"INSERT INTO {record_table} ({', '.join(record_columns)})"  # noqa: S608
            f" SELECT {select(record_columns, 'r', {'id': 'r.id + %s', 'registration_number': 'n.number'})}"
            f" FROM {_BASE} b JOIN {record_table} r ON r.id = b.record_id"
            f" JOIN {_NUMBER} n ON n.idx = b.pos + %s"
            " WHERE b.pos >= %s AND b.pos < %s"
        )
        listing_sql = (
            f"INSERT INTO {listing_table} ({', '.join(listing_columns)})"  # noqa: S608
            f" SELECT {select(listing_columns, 'l', {'id': 'l.id + %s', 'record_id': 'l.record_id + %s'})}"
            f" FROM {_BASE} b JOIN {listing_table} l ON l.id = b.listing_id"
            " WHERE b.pos >= %s AND b.pos < %s"
        )
        children = [
            (
                child,
                f"INSERT INTO {child.table} ({', '.join(child.columns)})"  # noqa: S608
                f" SELECT {select(child.columns, 't', {child.key: f't.{child.key} + %s'})}"
                f" FROM {_BASE} b JOIN {child.table} t ON t.{child.key} = b.{child.base_column}"
                " WHERE b.pos >= %s AND b.pos < %s",
            )
            for child in _child_tables()
        ]
        # PostgreSQL checks every copied foreign key at commit, row by row (Django's
        # are deferred triggers): about half the copy's time. The copies point only
        # at rows of the same batch or at reference rows the originals already
        # use, so a superuser skips those checks, per transaction.
        skip_checks = connection.vendor == "postgresql" and _is_superuser(cursor)
        rows: dict[str, int] = {record_table: 0, listing_table: 0}
        copied = 0
        with tqdm(
            total=copies,
            desc="replicate",
            unit="件",
            file=sys.stderr,
            disable=None if progress else True,
        ) as bar:
            for k, lo, hi in _batches(base, copies, batch):
                number_offset = (k - 1) * base
                with transaction.atomic():
                    if skip_checks:
                        cursor.execute("SET LOCAL session_replication_role = replica")
                    cursor.execute(record_sql, [k * record_step, number_offset, lo, hi])
                    rows[record_table] += cursor.rowcount
                    cursor.execute(listing_sql, [k * listing_step, k * record_step, lo, hi])
                    rows[listing_table] += cursor.rowcount
                    for child, sql in children:
                        step = listing_step if child.key == "listing_id" else record_step
                        cursor.execute(sql, [k * step, lo, hi])
                        rows[child.table] = rows.get(child.table, 0) + cursor.rowcount
                copied += hi - lo
                bar.update(hi - lo)
        copied_at = time.perf_counter()

        for name in (_BASE, _NUMBER):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        if connection.vendor == "postgresql":
            # Explicit ids leave the identity sequences behind: the next
            # ordinary insert would collide with a copy.
            for sql in connection.ops.sequence_reset_sql(no_style(), [RegistryRecord, Listing]):
                cursor.execute(sql)
        if analyze:
            # The planner's statistics still describe the base: refresh them
            # so the bench measures the plans a real register this size gets.
            cursor.execute("ANALYZE")
    # One "everything changed" entry: every process (and the snapshot) rebuilds.
    record_everything()
    finished = time.perf_counter()
    return report | {
        "copied": copied,
        "foreign_key_checks": not skip_checks,
        "listing_step": listing_step,
        "record_step": record_step,
        "rows": rows,
        "prepare_s": round(prepared - started, 2),
        "copy_s": round(copied_at - prepared, 2),
        "seconds": round(finished - started, 2),
    }


def build_database(
    listings: int, *, seed: int = 1, base: int = 50_000, ledger: bool = True, progress: bool = True
) -> dict[str, Any]:
    """Migrate the current (empty) database and fill it as `sekispe bench search`
    would: `base` seeded listings, copies up to `listings`, an exposure ledger row
    for every listing. For handing a large register to people who measure on it."""
    from django.core.management import call_command

    from sekispe.devtools.bench import search
    from sekispe.registry.models import RegistryRecord

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    if RegistryRecord.objects.exists():
        raise SystemExit("the database already holds registry records: use a new, empty one")
    report: dict[str, Any] = {"migrate_s": round(time.perf_counter() - started, 2)}
    report["seed"] = search.seed_listings(listings, seed, progress=progress, base=base)
    if ledger:
        started = time.perf_counter()
        report["ledger_rows"] = search.seed_exposure_ledger(seed)
        report["ledger_s"] = round(time.perf_counter() - started, 2)
    if connection.vendor == "sqlite":
        # Everything into the main file: the result is handed on as one file.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return report


def main(argv: list[str] | None = None) -> int:
    """`python -m sekispe.devtools.bench.replicate --listings 1000000` on DATABASE_URL."""
    import argparse
    import json
    import os

    parser = argparse.ArgumentParser(description=build_database.__doc__)
    parser.add_argument("--listings", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seed-base", type=int, default=50_000)
    parser.add_argument("--no-ledger", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sekispe.settings.dev")
    # DEBUG would keep every SQL statement in memory.
    os.environ.setdefault("DEBUG", "0")
    import django

    django.setup()
    report = build_database(
        args.listings,
        seed=args.seed,
        base=args.seed_base,
        ledger=not args.no_ledger,
        progress=not args.no_progress,
    )
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
