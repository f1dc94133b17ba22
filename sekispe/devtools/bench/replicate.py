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

The base's rows of each table are first copied aside into a scratch table
with their listing's position, so every batch reads them from there. On
PostgreSQL the copy is then a bulk load (950,000 copies in 109 s instead of
211 s on the 2-core machine at load 2.6-3): the scratch tables are filled by
COPY; the copied tables lose their secondary indexes and unique constraints
(rebuilt once, sorted, at the end; rebuilding the unique ones also proves the
copies unique); their autovacuum waits until the end (it would compete for
the 2 cores with every batch); and a VACUUM ANALYZE leaves them as autovacuum
would, so autovacuum does not run during the bench's timings.

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
BATCH = 50_000  # listings copied per transaction (one seeded base per copy)
_FILL_CHUNK = 10_000
# Scratch tables of the copy, dropped at the end (TEMP: only this connection sees them).
_BASE = "scale_replicate_base"
_NUMBER = "scale_replicate_number"
_ROWS = "scale_replicate_rows_{}"  # one per copied table: the base's rows and their position
# Index builds after the copy sort up to this much in memory (the default 64 MB spills to disk).
_INDEX_MEMORY = "512MB"


@dataclass(frozen=True)
class _Table:
    """A copied table: `key` holds the id shifted per copy (its own, or its parent's)."""

    table: str
    columns: tuple[str, ...]
    key: str  # "id", "listing_id" or "record_id" column of this table
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
    if connection.vendor == "postgresql":
        # One COPY: about 1 s for 950,000 registration numbers, against a
        # minute of INSERT round trips.
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # our names
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(rows[0]))
    for start in range(0, len(rows), _FILL_CHUNK):
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 (our names)
            rows[start : start + _FILL_CHUNK],
        )


@dataclass(frozen=True)
class _Deferred:
    """A secondary index or unique constraint dropped for the copy, re-created after."""

    table: str
    name: str
    create: str  # the statement that re-creates it
    constraint: bool

    def drop_sql(self) -> str:
        if self.constraint:
            return f'ALTER TABLE "{self.table}" DROP CONSTRAINT "{self.name}"'
        return f'DROP INDEX "{self.name}"'


def _deferrable(cursor: Any, tables: list[str]) -> list[_Deferred]:
    """Every index of `tables` but the primary keys and what a foreign key relies on.

    Maintaining them row by row is most of a bulk insert's cost: a many-to-many
    table has five indexes for three columns."""
    cursor.execute(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid),
               c.conname, pg_get_constraintdef(c.oid)
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
          AND NOT x.indisprimary
          AND NOT EXISTS (
              SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = x.indexrelid
          )
        ORDER BY t.relname, i.relname
        """,
        [tables],
    )
    deferred = []
    for table, index, index_sql, constraint, constraint_sql in cursor.fetchall():
        if constraint:
            create = f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" {constraint_sql}'
            deferred.append(_Deferred(table, constraint, create, True))
        else:
            deferred.append(_Deferred(table, index, index_sql, False))
    return deferred


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

        scratch = [_BASE, _NUMBER]
        for name in scratch:
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

        record_columns = _columns(RegistryRecord)
        listing_columns = _columns(Listing)
        # Every copied table with the column holding its parent's key and the
        # base's column that key joins.
        copied_tables = [
            _Table(record_table, record_columns, "id", "record_id"),
            _Table(listing_table, listing_columns, "id", "listing_id"),
            *_child_tables(),
        ]
        # The base's rows of each table, tagged with their listing's position, are
        # copied aside once: every batch reads them from there, so the copies
        # never need an index on the tables they grow (dropped below).
        sources: dict[str, str] = {}
        with transaction.atomic():
            for i, table in enumerate(copied_tables):
                source = sources[table.table] = _ROWS.format(i)
                scratch.append(source)
                cursor.execute(f"DROP TABLE IF EXISTS {source}")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {source} AS SELECT b.pos AS pos,"  # noqa: S608
                    f" {', '.join(f't.{c}' for c in table.columns)}"
                    f" FROM {_BASE} b JOIN {table.table} t ON t.{table.key} = b.{table.base_column}"
                )
                cursor.execute(f"CREATE INDEX {source}_pos ON {source} (pos)")
        prepared = time.perf_counter()

        def select(columns: tuple[str, ...], shifted: dict[str, str]) -> str:
            return ", ".join(shifted.get(c, f"t.{c}") for c in columns)

        def insert(table: _Table, shifted: dict[str, str], join: str = "") -> str:
            return (
                f"INSERT INTO {table.table} ({', '.join(table.columns)})"  # noqa: S608
                f" SELECT {select(table.columns, shifted)} FROM {sources[table.table]} t{join}"
                " WHERE t.pos >= %s AND t.pos < %s"
            )

        record, listing, *child_tables = copied_tables
        record_sql = insert(
            record,
            {"id": "t.id + %s", "registration_number": "n.number"},
            f" JOIN {_NUMBER} n ON n.idx = t.pos + %s",
        )
        listing_sql = insert(listing, {"id": "t.id + %s", "record_id": "t.record_id + %s"})
        children = [
            (child, insert(child, {child.key: f"t.{child.key} + %s"})) for child in child_tables
        ]
        postgresql = connection.vendor == "postgresql"
        # PostgreSQL checks every copied foreign key at commit, row by row (Django's
        # are deferred triggers): about half the copy's time. The copies point only
        # at rows of the same batch or at reference rows the originals already
        # use, so a superuser skips those checks, per transaction.
        skip_checks = postgresql and _is_superuser(cursor)
        names = [table.table for table in copied_tables]
        deferred = _deferrable(cursor, names) if postgresql else []
        if postgresql:
            # ALTER TABLE refuses while foreign-key checks of this transaction
            # are pending (a caller's open transaction, as in the tests): run them now.
            connection.check_constraints()
            for name in names:
                cursor.execute(f"ALTER TABLE {name} SET (autovacuum_enabled = false)")
            for item in deferred:
                cursor.execute(item.drop_sql())
        rows: dict[str, int] = {record_table: 0, listing_table: 0}
        copied = 0
        try:
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
        finally:
            # Also after a failure: the database keeps every index it had.
            copied_at = time.perf_counter()
            if postgresql:
                connection.check_constraints()
                cursor.execute(f"SET maintenance_work_mem = '{_INDEX_MEMORY}'")
                for item in deferred:
                    cursor.execute(item.create)
                cursor.execute("RESET maintenance_work_mem")
                for name in names:
                    cursor.execute(f"ALTER TABLE {name} RESET (autovacuum_enabled)")
        indexed_at = time.perf_counter()

        for name in scratch:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        if postgresql:
            # Explicit ids leave the identity sequences behind: the next
            # ordinary insert would collide with a copy.
            for sql in connection.ops.sequence_reset_sql(no_style(), [RegistryRecord, Listing]):
                cursor.execute(sql)
        if analyze:
            if postgresql and not connection.in_atomic_block:
                # What autovacuum would have done by now: without it the first
                # full read of the copies (the snapshot build) writes every
                # page again to set hint bits, and autovacuum runs during the
                # bench's timings instead. (VACUUM cannot run in a transaction.)
                cursor.execute(f"VACUUM (ANALYZE) {', '.join(names)}")
            # The planner's statistics still describe the base: refresh them
            # so the bench measures the plans a real register this size gets.
            cursor.execute("ANALYZE")
    # One "everything changed" entry: every process (and the snapshot) rebuilds.
    record_everything()
    finished = time.perf_counter()
    return report | {
        "copied": copied,
        "foreign_key_checks": not skip_checks,
        "indexes_deferred": len(deferred),
        "listing_step": listing_step,
        "record_step": record_step,
        "rows": rows,
        "prepare_s": round(prepared - started, 2),
        "copy_s": round(copied_at - prepared, 2),
        "index_s": round(indexed_at - copied_at, 2),
        "analyze_s": round(finished - indexed_at, 2),
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
