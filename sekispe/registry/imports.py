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
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from sekispe.audit.services import record_event
from sekispe.lib.cells import RowError
from sekispe.lib.text import visible
from sekispe.registry.importer import CourseRow, RegistryRow
from sekispe.registry.models import CourseCompletion, RegistryRecord, RegistryStatus

T = TypeVar("T")

# Stays under SQLite's 999-variable limit in IN (...) lookups.
CHUNK = 900
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


def _bump_search() -> None:
    from sekispe.search.services import bump_generation

    bump_generation()


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
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [qn(table), pk, count],
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
        for chunk in _chunks(numbers):
            for id_, number, *values in RegistryRecord.objects.filter(
                registration_number__in=chunk
            ).values_list("id", "registration_number", *REGISTRY_FIELDS):
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
            columns = ["id", *_new_values(RegistryRecord, new[0], now)]
            inserter = _Table(RegistryRecord, columns)
            ids = iter(_allocate_ids(RegistryRecord, len(new)))
            for batch in _chunks(new, BATCH):
                values = [
                    (next(ids), *_new_values(RegistryRecord, given, now).values())
                    for given in batch
                ]
                inserter.insert(values)
                _write_history(
                    RegistryRecord, columns, values, history_type="+", now=now, **history
                )
                if progress:
                    progress(len(batch))

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
        for chunk in _chunks(sorted({record_ids[row.registration_number] for row in rows})):
            for pk, *key, provider in CourseCompletion.objects.filter(
                record_id__in=chunk
            ).values_list("id", "record_id", "kind", "course_code", "completed_on", "provider"):
                stored[tuple(key)] = (pk, provider)  # type: ignore[index]

        new: list[tuple[Any, ...]] = []
        new_provider: dict[int, str] = {}
        for row in rows:
            record_id = record_ids[row.registration_number]
            key = (record_id, row.kind, row.course_code, row.completed_on)
            found = stored.get(key)
            if found is None:
                new.append((*key, row.provider, row.fiscal_year))
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

        inserter = _Table(CourseCompletion, _COURSE_COLUMNS)
        ids = iter(_allocate_ids(CourseCompletion, len(new)))
        for batch in _chunks(new, BATCH):
            values = [(next(ids), *row) for row in batch]
            inserter.insert(values)
            if history:
                _write_history(
                    CourseCompletion,
                    _COURSE_COLUMNS,
                    values,
                    history_type="+",
                    now=now,
                    **snapshot,
                )
            if progress:
                progress(len(batch))

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
