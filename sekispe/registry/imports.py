"""Bulk writers for the registry and course-completion imports.

Both writers upsert inside one transaction, compare every row with what is
stored (so importing the same file twice writes nothing and reports
everything unchanged), write one history row per inserted or changed row,
one audit event with the counts and the file's hash, and bump the search
generation when anything changed. They read what is stored once, in chunks,
into dictionaries and write many rows per statement (`_Table`): per-row
queries, and even bulk_create, would not meet the 50,000 + 300,000 rows in
60 s target (see docs/benchmarks.md).

Rejected imports are audited too, by `record_rejected`, which the commands
call outside the rolled-back work so that the event persists.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from sekispe.audit.services import record_event
from sekispe.core.changes import record_everything
from sekispe.lib.cells import RowError
from sekispe.lib.text import visible
from sekispe.registry.importer import CourseRow, RegistryRow
from sekispe.registry.models import CourseCompletion, RegistryRecord, RegistryStatus

T = TypeVar("T")

# Stays under SQLite's 999-variable limit in IN (...) lookups.
CHUNK = 900
# From this many keys on, the stored rows are read in one pass over the table (`_stored`).
WHOLE_TABLE_FROM = 5 * CHUNK
# Rows per INSERT/COPY round: large enough to be fast, small enough to move the progress bar.
BATCH = 10_000
# The audit event lists changed registration numbers up to this many; a full
# first import would otherwise put 50,000 numbers into one JSON document.
CHANGED_CAP = 1000
# Rejected imports keep this many error lines in the audit event.
REJECTED_ERRORS_CAP = 20

REGISTRY_COMMAND = "import-registry"
COURSES_COMMAND = "import-courses"
_TARGET_TYPES = {REGISTRY_COMMAND: "registry_record", COURSES_COMMAND: "course_completion"}

REGISTRY_FIELDS: tuple[str, ...] = (
    "name",
    "name_kana",
    "birth_year",
    "home_prefecture_id",
    "registered_on",
    "expires_on",
    "renewal_count",
    "status",
    "email",
)

# Decided on measurement (docs/benchmarks.md): history rows for 300,000 course
# completions add a few seconds and keep the target, so every written
# completion gets one, like every other write to the registry.
COURSE_HISTORY = True


@dataclass(frozen=True)
class ImportSource:
    """Who ran an import and on what file; goes into every audit event of the import."""

    file: str
    sha256: str
    encoding: str
    os_user: str
    operator: Any = None  # an operator User, or None

    def actor_label(self, command: str) -> str:
        return f"{command} (by {self.os_user})"

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            # A file name may hold any character but "/" and NUL.
            "file": visible(self.file),
            "sha256": self.sha256,
            "encoding": self.encoding,
            "os_user": self.os_user,
        }
        if self.operator is not None:
            data["operator"] = self.operator.email
        return data


@dataclass
class ImportCounts:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Registration numbers with an inserted or changed row, in file order (repeats are
    # dropped in the audit event).
    changed: list[str] = field(default_factory=list)
    # Revoked records whose row asked for another status: a revocation is only
    # undone by a decision recorded in sekispe, never by an extract.
    kept_revoked: list[str] = field(default_factory=list)

    def audit_data(self) -> dict[str, Any]:
        changed = list(dict.fromkeys(self.changed))
        data: dict[str, Any] = {
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "changed": changed[:CHANGED_CAP],
        }
        if len(changed) > CHANGED_CAP:
            data["changed_truncated"] = True
            data["changed_count"] = len(changed)
        if self.kept_revoked:
            data["kept_revoked"] = self.kept_revoked[:CHANGED_CAP]
        return data


def os_user() -> str:
    """The operating-system account running the command, for the audit trail."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER variable and no passwd entry (some containers)
        return "unknown"


def record_rejected(
    action: str, command: str, source: ImportSource, errors: Sequence[RowError | str]
) -> None:
    """Audit an import that was refused; call outside any transaction that rolls back."""
    record_event(
        action,
        actor=source.operator,
        actor_label=source.actor_label(command),
        target_type=_TARGET_TYPES.get(command, ""),
        data={
            **source.data(),
            "error_count": len(errors),
            # RowError escapes its own text; plain strings get the same here,
            # as PostgreSQL refuses NUL in jsonb and the event must be written.
            "errors": [visible(str(e)) for e in errors[:REJECTED_ERRORS_CAP]],
        },
    )


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stored(
    queryset: Any, key: str, wanted: Sequence[Any], fields: Sequence[str]
) -> Iterable[tuple[Any, ...]]:
    """`fields` of the stored rows whose `key` is in `wanted`.

    A large import reads the whole table in one query and filters here: an
    `IN` query per chunk of 900 costs milliseconds each to build and run, more
    than reading rows that are not wanted (a fresh import reads an empty table).
    """
    if len(wanted) <= WHOLE_TABLE_FROM:
        for chunk in _chunks(wanted):
            yield from queryset.filter(**{f"{key}__in": chunk}).values_list(*fields)
        return
    wanted_set = set(wanted)
    at = list(fields).index(key)
    for row in queryset.values_list(*fields).iterator(chunk_size=20_000):
        if row[at] in wanted_set:
            yield row


def _bump_search() -> None:
    # Too many rows to name: search rebuilds its snapshot once (core.changes).
    record_everything()


# -- writing many rows ------------------------------------------------------------------


def _memo(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Convert each distinct value once: dates repeat, and a batch shares one timestamp."""
    cache: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            result = cache[value] = convert(value)
            return result

    return cached


class _Table:
    """Insert or update many rows of one model's table without model instances.

    bulk_create prepares every value of every instance through the field API,
    about 100 µs a row here: 350,000 rows and as many history rows would take
    longer than the whole target. This converts only the values that need it
    (dates and datetimes for SQLite, JSON), each distinct value once, and sends
    the rows with one prepared statement (`executemany`) or, on PostgreSQL,
    with COPY. Table and column names come from the model.
    """

    def __init__(self, model: type, attnames: Sequence[str]) -> None:
        meta = model._meta  # type: ignore[attr-defined]
        by_attname = {f.attname: f for f in meta.concrete_fields}
        self.fields = [by_attname[name] for name in attnames]
        self.table = meta.db_table

    def _converters(self, *, for_copy: bool) -> list[tuple[int, Callable[[Any], Any]]]:
        """(column index, converter) for the columns whose values need converting."""
        ops = connection.ops
        converters: list[tuple[int, Callable[[Any], Any]]] = []
        for index, f in enumerate(self.fields):
            kind = f.get_internal_type()
            if kind == "JSONField":
                encoder = f.encoder
                # COPY's text format reads JSON from its text; executemany needs the adapter.
                converters.append(
                    (index, lambda v, e=encoder: json.dumps(v, cls=e))
                    if for_copy
                    else (index, lambda v, e=encoder: ops.adapt_json_value(v, e))
                )
            elif for_copy:
                continue  # psycopg writes dates and datetimes itself
            elif kind == "DateField":
                converters.append((index, _memo(ops.adapt_datefield_value)))
            elif kind == "DateTimeField":
                converters.append((index, _memo(ops.adapt_datetimefield_value)))
        return converters

    @staticmethod
    def _convert(
        rows: Sequence[Sequence[Any]], converters: list[tuple[int, Callable[[Any], Any]]]
    ) -> Sequence[Sequence[Any]]:
        if not converters:
            return rows
        converted: list[list[Any]] = []
        for row in rows:
            values = list(row)
            for index, convert in converters:
                if values[index] is not None:
                    values[index] = convert(values[index])
            converted.append(values)
        return converted

    def insert(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in self.fields)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                converted = self._convert(rows, self._converters(for_copy=True))
                with cursor.cursor.copy(f"COPY {qn(self.table)} ({columns}) FROM STDIN") as copy:
                    for row in converted:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f"INSERT INTO {qn(self.table)} ({columns}) VALUES ({placeholders})",  # noqa: S608 (names from the model)
                    self._convert(rows, self._converters(for_copy=False)),
                )

    def update(self, rows: Sequence[Sequence[Any]], pk_column: str = "id") -> None:
        """Each row holds the new values of the columns, then the primary key."""
        if not rows:
            return
        qn = connection.ops.quote_name
        assignments = ", ".join(f"{qn(f.column)} = %s" for f in self.fields)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {qn(self.table)} SET {assignments} WHERE {qn(pk_column)} = %s",  # noqa: S608 (names from the model)
                self._convert(rows, self._converters(for_copy=False)),
            )


def _sequence(table: str, column: str) -> str:
    """The name of the sequence behind a PostgreSQL id column.

    Looked up once: `nextval(pg_get_serial_sequence(...))` over generate_series
    repeats the catalogue lookup for every row, 1 s for 300,000 ids against
    85 ms for `nextval(name)`.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", [connection.ops.quote_name(table), column]
        )
        return cursor.fetchone()[0]


def _allocate_ids(model: type, count: int) -> Sequence[int]:
    """Reserve `count` primary keys, so inserted rows need not be read back for their ids.

    PostgreSQL draws them from the column's sequence. SQLite continues after the
    largest id ever used (AUTOINCREMENT keeps it in sqlite_sequence); that is
    safe because the caller's transaction already holds the write lock (the
    settings open transactions IMMEDIATE), and were it not, a clash would only
    fail the import as a whole.
    """
    if count == 0:
        return []
    meta = model._meta  # type: ignore[attr-defined]
    table, pk = meta.db_table, meta.pk.column
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [_sequence(table, pk), count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT MAX({qn(pk)}) FROM {qn(table)}")  # noqa: S608 (names from the model)
        top = cursor.fetchone()[0] or 0
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            top = max(top, row[0] if row else 0)
        return range(top + 1, top + 1 + count)


def _new_values(model: type, given: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Every column of a new row: `given`, then auto timestamps, then field defaults."""
    values: dict[str, Any] = {}
    for f in model._meta.concrete_fields:  # type: ignore[attr-defined]
        if f.primary_key:
            continue
        if f.attname in given:
            values[f.attname] = given[f.attname]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values[f.attname] = now
        else:
            values[f.attname] = f.get_default()
    return values


def _tracked(model: type) -> list[str]:
    return [f.attname for f in model.history.model.tracked_fields]  # type: ignore[attr-defined]


def _write_history(
    model: type,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    history_type: str,
    user: Any,
    reason: str,
    now: dt.datetime,
) -> None:
    """One simple-history row per row of `columns` (all tracked fields, with the id).

    The same rows `bulk_history_create` writes ("+" created, "~" changed), built
    from plain values instead of model instances.
    """
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    historical = model.history.model  # type: ignore[attr-defined]
    tracked = _tracked(model)
    extras = {
        "history_date": now,
        "history_change_reason": reason[:100],
        "history_type": history_type,
        "history_user_id": user.pk if getattr(user, "is_authenticated", False) else None,
    }
    expected = {f.attname for f in historical._meta.concrete_fields if not f.primary_key}
    if {*tracked, *extras} != expected:
        # A new simple-history option (history_relation, extra fields) needs code here.
        raise RuntimeError(f"unexpected history columns: {sorted(expected ^ {*tracked, *extras})}")
    pick = operator.itemgetter(*(list(columns).index(name) for name in tracked))
    tail = tuple(extras.values())
    _Table(historical, [*tracked, *extras]).insert([pick(row) + tail for row in rows])


def _history_target(model: type) -> tuple[Any, list[str], dict[str, Any]] | None:
    """(historical model, tracked attnames, the extra columns' fields by attname), or None
    when history is switched off; checks that the history table has no other column."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return None
    historical = model.history.model  # type: ignore[attr-defined]
    tracked = _tracked(model)
    fields = {f.attname: f for f in historical._meta.concrete_fields if not f.primary_key}
    extras = ("history_date", "history_change_reason", "history_type", "history_user_id")
    if set(fields) != {*tracked, *extras}:
        raise RuntimeError(
            f"unexpected history columns: {sorted(set(fields) ^ {*tracked, *extras})}"
        )
    return historical, tracked, {name: fields[name] for name in extras}


def _constant_columns(model: type, given: Sequence[str], now: dt.datetime) -> dict[str, Any]:
    """The value of every other column of a new row: auto timestamps, then field defaults.

    Computed once for all rows, which is only right for constant defaults and
    the `list`/`dict` kind (serialised, never shared as objects); a per-row
    callable default (uuid4, a counter) must be handled by the caller.
    """
    values: dict[str, Any] = {}
    for f in model._meta.concrete_fields:  # type: ignore[attr-defined]
        if f.primary_key or f.attname in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values[f.attname] = now
            continue
        if f.has_default() and callable(f.default) and f.default not in (list, dict):
            raise RuntimeError(f"{f.attname}: a per-row default needs code in _insert_new")
        values[f.attname] = f.get_default()
    return values


class _IsoDates(dict):
    """date -> "YYYY-MM-DD", each distinct day converted once (a dict lookup after)."""

    def __missing__(self, day: Any) -> str:
        text = self[day] = day.isoformat()
        return text


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_column(field: Any, values: Sequence[Any]) -> Iterable[str]:
    """One column as COPY text cells: NULL as \\N, backslash and line breaks escaped.

    Works a column at a time so the common cases stay in C (`map(str, ...)`,
    a dict lookup per date) rather than one Python call per cell.
    """
    kind = field.get_internal_type()
    nullable = None in values
    if kind == "JSONField":
        encoder = field.encoder
        cells = [
            r"\N" if v is None else json.dumps(v, cls=encoder).translate(_COPY_ESCAPES)
            for v in values
        ]
        return cells
    if kind == "DateField":
        iso = _IsoDates()
        if nullable:
            iso[None] = r"\N"
        return map(iso.__getitem__, values)
    if kind == "BooleanField":
        return [r"\N" if v is None else ("t" if v else "f") for v in values]
    if isinstance(values[0] if values else "", str) and not nullable:
        # Imported text is single-line (the text rule), so escaping is rare:
        # one search over the whole column decides.
        if any(c in "\x00".join(values) for c in "\\\t\n\r"):
            return [v.translate(_COPY_ESCAPES) for v in values]
        return values
    return [
        r"\N"
        if v is None
        else (v.isoformat() if isinstance(v, dt.datetime) else str(v).translate(_COPY_ESCAPES))
        for v in values
    ]


def _reserve_ids(model: type, count: int) -> tuple[int, int] | list[int]:
    """`count` new primary keys: (first, last) when they are one range, else the list.

    PostgreSQL draws them from the column's sequence in one statement and
    returns only their bounds: a sequence never gives a value twice, so when
    max - min + 1 == count every id between them is ours, and only if another
    session drew values at the same moment are the ids fetched one by one.
    SQLite: `_allocate_ids` (one range, under the transaction's write lock).
    """
    if connection.vendor != "postgresql":
        ids = _allocate_ids(model, count)
        return (ids[0], ids[-1])
    meta = model._meta  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(v), max(v) FROM "
            "(SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)) AS drawn",
            [_sequence(meta.db_table, meta.pk.column), count],
        )
        low, high = cursor.fetchone()
        if high - low + 1 == count:
            return (low, high)
    return list(_allocate_ids(model, count))


def _insert_new(
    model: type,
    columns: Mapping[str, Sequence[Any]],
    *,
    history: Mapping[str, Any] | None,
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
    ids: Sequence[int] | None = None,
) -> None:
    """Insert new rows, given as one list per column (attname), in list order, with
    one "+" history row each (`history`: user and reason; None for none).

    Every other column gets its default. Ids are reserved first (`_reserve_ids`),
    so the history rows are copied from the inserted rows by the database
    (INSERT ... SELECT over the id range) and each value crosses from Python
    once. The rows go in with COPY on PostgreSQL (its text built a column at a
    time, sent in blocks while the server already inserts) and with
    `executemany` on SQLite.
    """
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if count == 0:
        return
    meta = model._meta  # type: ignore[attr-defined]
    by_attname = {f.attname: f for f in meta.concrete_fields}
    constants = _constant_columns(model, names, now)
    all_names = [*names, *constants]
    qn = connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    all_cols = ", ".join(
        qn(c) for c in [meta.pk.column, *(by_attname[n].column for n in all_names)]
    )
    history_sql = ""
    history_params: list[Any] = []
    target = _history_target(model) if history is not None else None
    if target is not None:
        historical, tracked, extra_fields = target
        user = history.get("user")  # type: ignore[union-attr]
        extra_values = [
            now,
            str(history["reason"])[:100],  # type: ignore[index]
            "+",
            user.pk if getattr(user, "is_authenticated", False) else None,
        ]
        hist_columns = ", ".join(
            qn(historical._meta.get_field(name).column) for name in [*tracked, *extra_fields]
        )
        # Tracked columns have the same names in both tables.
        source_columns = ", ".join(qn(by_attname[name].column) for name in tracked)
        history_sql = (
            f"INSERT INTO {qn(historical._meta.db_table)} ({hist_columns}) "  # noqa: S608
            f"SELECT {source_columns}, %s, %s, %s, %s FROM {table} "
        )
        history_params = [
            f.get_db_prep_save(v, connection)
            for f, v in zip(extra_fields.values(), extra_values, strict=True)
        ]

    # `ids` given: drawn by the caller (the tests pass ids that are not one range).
    reserved = _reserve_ids(model, count) if ids is None else list(ids)
    ids = range(reserved[0], reserved[1] + 1) if isinstance(reserved, tuple) else reserved
    with connection.cursor() as cursor:

        def write_history(first: int, last: int) -> None:
            if not history_sql:
                return
            if isinstance(reserved, tuple):
                cursor.execute(
                    f"{history_sql}WHERE {pk} BETWEEN %s AND %s ORDER BY {pk}",
                    [*history_params, ids[first], ids[last]],
                )
            else:
                for chunk in _chunks(ids[first : last + 1]):
                    cursor.execute(
                        f"{history_sql}WHERE {pk} IN ({', '.join(['%s'] * len(chunk))}) "
                        f"ORDER BY {pk}",
                        [*history_params, *chunk],
                    )

        if connection.vendor == "postgresql":
            cells = [map(str, ids)] + [_copy_column(by_attname[n], columns[n]) for n in names]
            for name in constants:
                (text,) = _copy_column(by_attname[name], [constants[name]])
                cells.append(repeat(text, count))
            lines = map("\t".join, zip(*cells, strict=False))
            with cursor.cursor.copy(f"COPY {table} ({all_cols}) FROM STDIN") as copy:
                for start in range(0, count, BATCH):
                    # Blocks of lines: the server inserts one while the next is built.
                    size = min(BATCH, count - start)
                    copy.write("\n".join(islice(lines, size)) + "\n")
                    if progress:
                        progress(size)
            # One statement: an index scan over the whole range.
            write_history(0, count - 1)
            return

        converters = dict(_Table(model, all_names)._converters(for_copy=False))
        values: list[Iterable[Any]] = [ids]
        for index, name in enumerate(names):
            convert = converters.get(index)
            values.append(
                columns[name]
                if convert is None
                else [None if v is None else convert(v) for v in columns[name]]
            )
        for offset, name in enumerate(constants, start=len(names)):
            value = constants[name]
            convert = converters.get(offset)
            values.append(repeat(value if convert is None or value is None else convert(value)))
        placeholders = ", ".join(["%s"] * (1 + len(all_names)))
        # The repeat() columns end with the shortest, the ids.
        rows = list(zip(*values, strict=False))
        for start in range(0, count, BATCH):
            batch = rows[start : start + BATCH]
            cursor.executemany(
                f"INSERT INTO {table} ({all_cols}) VALUES ({placeholders})",  # noqa: S608
                batch,
            )
            write_history(start, start + len(batch) - 1)
            if progress:
                progress(len(batch))


# -- the registry ---------------------------------------------------------------------


def write_registry(
    rows: Sequence[RegistryRow],
    source: ImportSource,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportCounts:
    """Upsert records by registration number, all or nothing.

    Only the columns of the extract are written: published items, phone,
    disaster extension and end date are the registry's own and stay as they are.
    """
    numbers = [row.registration_number for row in rows]
    if len(set(numbers)) != len(numbers):
        raise ValueError("duplicate registration numbers; the parser reports them as row errors")
    counts = ImportCounts(rows=len(rows))
    history = {"user": source.operator, "reason": f"bulk:{REGISTRY_COMMAND}"}
    now = timezone.now()
    with transaction.atomic():
        stored: dict[str, tuple[int, tuple[Any, ...]]] = {}
        for id_, number, *values in _stored(
            RegistryRecord.objects.all(),
            "registration_number",
            numbers,
            ("id", "registration_number", *REGISTRY_FIELDS),
        ):
            stored[number] = (id_, tuple(values))

        new: list[dict[str, Any]] = []
        changed: list[tuple[Any, ...]] = []
        status_at = REGISTRY_FIELDS.index("status")
        for row in rows:
            wanted = row.values()
            found = stored.get(row.registration_number)
            if (
                found is not None
                and found[1][status_at] == RegistryStatus.REVOKED
                and wanted["status"] != RegistryStatus.REVOKED
            ):
                wanted["status"] = RegistryStatus.REVOKED
                counts.kept_revoked.append(row.registration_number)
            if found is None:
                new.append({"registration_number": row.registration_number, **wanted})
                counts.inserted += 1
                counts.changed.append(row.registration_number)
            elif found[1] == tuple(wanted.values()):
                counts.unchanged += 1
            else:
                # The stamp is explicit: only save() sets auto_now fields.
                changed.append((*wanted.values(), now, found[0]))
                counts.updated += 1
                counts.changed.append(row.registration_number)
        if progress:
            progress(counts.unchanged)

        if new:
            _insert_new(
                RegistryRecord,
                {name: [given[name] for given in new] for name in new[0]},
                history=history,
                now=now,
                progress=progress,
            )

        updater = _Table(RegistryRecord, [*REGISTRY_FIELDS, "updated_at"])
        tracked = _tracked(RegistryRecord)
        for batch in _chunks(changed, BATCH):
            updater.update(batch)
            for chunk in _chunks([row[-1] for row in batch]):
                _write_history(
                    RegistryRecord,
                    tracked,
                    RegistryRecord.objects.filter(id__in=chunk).values_list(*tracked),
                    history_type="~",
                    now=now,
                    **history,
                )
            if progress:
                progress(len(batch))

        record_event(
            "registry.import",
            actor=source.operator,
            actor_label=source.actor_label(REGISTRY_COMMAND),
            target_type="registry_record",
            data={**source.data(), **counts.audit_data()},
        )
        if counts.inserted or counts.updated:
            _bump_search()
    return counts


# -- course completions ------------------------------------------------------------------


CourseKey = tuple[int, str, str, dt.date]
_COURSE_COLUMNS = (
    "id",
    "record_id",
    "kind",
    "course_code",
    "completed_on",
    "provider",
    "fiscal_year",
)


def write_courses(
    rows: Sequence[CourseRow],
    record_ids: Mapping[str, int],
    source: ImportSource,
    *,
    progress: Callable[[int], None] | None = None,
    history: bool = COURSE_HISTORY,
) -> ImportCounts:
    """Add course completions and update their provider, all or nothing.

    A completion is identified by (registrant, kind, course code, completion
    date). Completions that are stored but not in the file are kept: IPA's
    extracts may be incremental. `record_ids` maps every registration number
    in `rows` to its record id.
    """
    counts = ImportCounts(rows=len(rows))
    snapshot = {"user": source.operator, "reason": f"bulk:{COURSES_COMMAND}"}
    now = timezone.now()
    with transaction.atomic():
        stored: dict[CourseKey, tuple[int, str]] = {}
        for pk, *key, provider in _stored(
            CourseCompletion.objects.all(),
            "record_id",
            sorted({record_ids[row.registration_number] for row in rows}),
            ("id", "record_id", "kind", "course_code", "completed_on", "provider"),
        ):
            stored[tuple(key)] = (pk, provider)  # type: ignore[index]

        # The new rows, one list per column of _COURSE_COLUMNS after the id.
        new: tuple[list[Any], ...] = ([], [], [], [], [], [])
        add_record, add_kind, add_code, add_day, add_provider, add_year = (
            column.append for column in new
        )
        years: dict[dt.date, int] = {}
        new_provider: dict[int, str] = {}
        for row in rows:
            record_id = record_ids[row.registration_number]
            key = (record_id, row.kind, row.course_code, row.completed_on)
            found = stored.get(key)
            if found is None:
                add_record(record_id)
                add_kind(row.kind)
                add_code(row.course_code)
                add_day(row.completed_on)
                add_provider(row.provider)
                year = years.get(row.completed_on)
                if year is None:
                    year = years[row.completed_on] = row.fiscal_year
                add_year(year)
                counts.inserted += 1
                counts.changed.append(row.registration_number)
            elif found[1] != row.provider:
                new_provider[found[0]] = row.provider
                counts.updated += 1
                counts.changed.append(row.registration_number)
            else:
                counts.unchanged += 1
        if progress:
            progress(counts.unchanged)

        if counts.inserted:
            _insert_new(
                CourseCompletion,
                dict(zip(_COURSE_COLUMNS[1:], new, strict=True)),
                history=snapshot if history else None,
                now=now,
                progress=progress,
            )

        # Few distinct providers change at once (a renamed company), so one
        # UPDATE per provider and chunk does it.
        by_provider: dict[str, list[int]] = defaultdict(list)
        for pk, provider in new_provider.items():
            by_provider[provider].append(pk)
        tracked = _tracked(CourseCompletion)
        for provider, pks in by_provider.items():
            for chunk in _chunks(pks):
                CourseCompletion.objects.filter(id__in=chunk).update(provider=provider)
                if history:
                    _write_history(
                        CourseCompletion,
                        tracked,
                        CourseCompletion.objects.filter(id__in=chunk).values_list(*tracked),
                        history_type="~",
                        now=now,
                        **snapshot,
                    )
                if progress:
                    progress(len(chunk))

        record_event(
            "courses.import",
            actor=source.operator,
            actor_label=source.actor_label(COURSES_COMMAND),
            target_type="course_completion",
            data={**source.data(), **counts.audit_data(), "history": history},
        )
        if counts.inserted or counts.updated:
            # Course status is shown in search results and on listings.
            _bump_search()
    return counts
