"""Services over registry records: the one audited write path, renewal status,
disaster measures, deemed-attendance credits, revocation and the daily expiry.
Plain functions, testable without HTTP.

Every change to a record outside the bulk importers goes through
`update_record`, which writes one history row with the reason, one audit
event with the before and after values, and (through the record's post_save
signal) invalidates the search index. A deemed-attendance credit is a
`CourseCompletion` of kind `deemed`, written and deleted only here
(`grant_deemed_credit`, `withdraw_deemed_credit`), so every reader of course
completions counts it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Replace
from django.utils import timezone

from sekispe.audit.models import AuditEvent
from sekispe.audit.services import record_event
from sekispe.core.changes import deferred_changes, record_everything
from sekispe.lib.dates import fiscal_year
from sekispe.registry import providers, rules
from sekispe.registry.models import (
    CourseCompletion,
    CourseKind,
    DisasterMeasure,
    RegistryRecord,
    RegistryStatus,
)

# Fields `update_record` may change. Registration number and creation time never change.
UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "name_kana",
        "birth_year",
        "home_prefecture_id",
        "registered_on",
        "expires_on",
        "renewal_count",
        "status",
        "email",
        "phone",
        "published_items",
        "extension_measure_id",
        "ended_on",
    }
)


class RegistryError(Exception):
    """A registry change that the rules refuse; the message is shown to the user."""


@dataclass(frozen=True)
class CourseStatus:
    """The short form of `rules.RenewalStatus` used by listings and search."""

    up_to_date: bool
    # Human-readable items that are overdue (e.g. "2025年度の共通講習").
    overdue: list[str] = field(default_factory=list)
    practical_done: bool = False


def extension_for(record: RegistryRecord) -> rules.Extension | None:
    measure = record.extension_measure
    if measure is None:
        return None
    return _extension(measure.new_deadline, measure.deadline_from, measure.waived_courses)


def extensions_by_record(record_ids: Iterable[int] | None = None) -> dict[int, rules.Extension]:
    """The extension of every record (or of `record_ids`) under a disaster measure.

    Few, so one query; unordered, or SQLite walks the registry in number order.
    """
    records = RegistryRecord.objects.filter(extension_measure__isnull=False).order_by()
    if record_ids is not None:
        records = records.filter(pk__in=list(record_ids))
    return {
        record_id: _extension(new_deadline, deadline_from, waived)
        for record_id, new_deadline, deadline_from, waived in records.values_list(
            "pk",
            "extension_measure__new_deadline",
            "extension_measure__deadline_from",
            "extension_measure__waived_courses",
        )
    }


def _extension(new_deadline: dt.date, deadline_from: dt.date, waived: list[str]) -> rules.Extension:
    return rules.Extension(
        new_deadline=new_deadline, deadline_from=deadline_from, waived_courses=frozenset(waived)
    )


def renewal_status_of(
    record: RegistryRecord,
    today: dt.date | None = None,
    completions: Iterable[tuple[str, dt.date]] | None = None,
) -> rules.RenewalStatus:
    """`rules.renewal_status` for a stored record (one query for its courses)."""
    if completions is None:
        completions = record.courses.values_list("kind", "completed_on")
    return rules.renewal_status(
        record.expires_on,
        completions,
        today or timezone.localdate(),
        extension_for(record),
    )


def course_status(
    expires_on: dt.date,
    completions: Iterable[tuple[str, int, dt.date]],
    today: dt.date,
    extension: rules.Extension | None = None,
) -> CourseStatus:
    """Whether a registrant's mandatory courses are up to date for the current period.

    `completions` are (kind, fiscal_year, completed_on) tuples, as stored.
    """
    status = rules.renewal_status(
        expires_on,
        ((kind, completed_on) for kind, _fy, completed_on in completions),
        today,
        extension,
    )
    practical = next(r for r in status.requirements if r.kind == rules.PRACTICAL)
    return CourseStatus(
        up_to_date=status.courses_up_to_date,
        overdue=[r.label for r in status.overdue],
        practical_done=practical.done,
    )


def update_record(
    record: RegistryRecord,
    changes: dict[str, Any],
    *,
    actor: Any = None,
    actor_label: str = "",
    reason: str,
) -> dict[str, tuple[Any, Any]]:
    """Apply `changes` to `record`, audited; returns {field: (before, after)} of what changed.

    Nothing is written when nothing changes.
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"fields not updatable: {sorted(unknown)}")
    diff = {
        name: (getattr(record, name), value)
        for name, value in changes.items()
        if getattr(record, name) != value
    }
    if not diff:
        return {}
    with transaction.atomic():
        for name, (_before, after) in diff.items():
            setattr(record, name, after)
        record._change_reason = reason[:100]
        if getattr(actor, "is_authenticated", False):
            record._history_user = actor
        record.save(update_fields=[*diff, "updated_at"])
        record_event(
            "registry.update",
            actor=actor,
            actor_label=actor_label,
            target_type="registry_record",
            target_id=record.registration_number,
            data={
                "reason": reason,
                "changes": {name: [_json(b), _json(a)] for name, (b, a) in diff.items()},
            },
        )
    return diff


def approve_renewal(record: RegistryRecord, *, actor: Any, reason: str = "") -> RegistryRecord:
    """Start the next period: new expiry, one more renewal, any extension spent."""
    if record.status != RegistryStatus.ACTIVE:
        raise RegistryError(
            f"登録の状態が「{record.get_status_display()}」のため、更新できません。"
        )
    update_record(
        record,
        {
            "expires_on": rules.next_expiry(record.expires_on),
            "renewal_count": record.renewal_count + 1,
            "extension_measure_id": None,
        },
        actor=actor,
        reason=reason or "更新申請の承認",
    )
    return record


# Statuses from which the minister may revoke a registration (取消).
REVOCABLE_STATUSES = frozenset({RegistryStatus.ACTIVE, RegistryStatus.EXPIRED})
DEEMED_PROVIDER = "みなし受講"


def revoke_registration(
    record: RegistryRecord, *, actor: Any, reason: str, reference: str
) -> RegistryRecord:
    """Revoke the registration (登録取消), e.g. after a false deemed-attendance claim.

    The only way to the `revoked` status. Refused unless the record is active
    or expired; `reason` (the grounds) is required. Status and end date change
    through `update_record` (history row, audit event with `reference`, index
    bump through the record's post_save signal), on the record locked for the
    decision. Returns `record`, updated.
    """
    reason = reason.strip()
    if not reason:
        raise RegistryError("登録取消の理由を入力してください。")
    with transaction.atomic():
        locked = RegistryRecord.objects.select_for_update().get(pk=record.pk)
        if locked.status not in REVOCABLE_STATUSES:
            raise RegistryError(
                f"登録の状態が「{locked.get_status_display()}」のため、登録を取り消せません。"
                "取り消せるのは登録中または失効の登録だけです。"
            )
        update_record(
            locked,
            {"status": RegistryStatus.REVOKED, "ended_on": timezone.localdate()},
            actor=actor,
            reason=f"登録取消（{reference}）: {reason}" if reference else f"登録取消: {reason}",
        )
    record.status = locked.status
    record.ended_on = locked.ended_on
    record.updated_at = locked.updated_at
    return record


def grant_deemed_credit(
    record: RegistryRecord, *, approved_on: dt.date, reference: str, actor: Any
) -> CourseCompletion:
    """Write the registry credit of an approved deemed-attendance application.

    A `CourseCompletion` of kind `deemed` dated `approved_on`, with `reference`
    (the application's number, e.g. "DEEMED-123") as its course code. The rules
    count it for the practical requirement of the period holding `approved_on`,
    if no later than that period's application deadline. One transaction: the
    row, its history row (simple-history, with the reference as the reason),
    an audit event `registry.deemed_credit`, and the search-index bump (the
    completion's post_save signal; the Active List's course badge reads
    completions from the index). Refused for a registration that is not
    active, and for a reference already credited to the record.
    """
    reference = reference.strip()
    if not reference:
        raise RegistryError("みなし受講の参照番号がありません。")
    if len(reference) > CourseCompletion._meta.get_field("course_code").max_length:
        raise RegistryError(f"みなし受講の参照番号「{reference}」が長すぎます。")
    with transaction.atomic():
        locked = RegistryRecord.objects.select_for_update().get(pk=record.pk)
        if locked.status != RegistryStatus.ACTIVE:
            raise RegistryError(
                f"登録の状態が「{locked.get_status_display()}」のため、みなし受講を登録できません。"
            )
        if CourseCompletion.objects.filter(
            record=locked, kind=CourseKind.DEEMED, course_code=reference
        ).exists():
            raise RegistryError(f"みなし受講「{reference}」はすでに登録されています。")
        completion = CourseCompletion(
            record=locked,
            kind=CourseKind.DEEMED,
            fiscal_year=fiscal_year(approved_on),
            provider=DEEMED_PROVIDER,
            course_code=reference,
            completed_on=approved_on,
        )
        completion._change_reason = f"みなし受講の承認（{reference}）"[:100]
        if getattr(actor, "is_authenticated", False):
            completion._history_user = actor
        completion.save()
        record_event(
            "registry.deemed_credit",
            actor=actor,
            target_type="registry_record",
            target_id=locked.registration_number,
            data={
                "reference": reference,
                "approved_on": approved_on.isoformat(),
                "fiscal_year": completion.fiscal_year,
                "completion": completion.pk,
            },
        )
    return completion


def withdraw_deemed_credit(completion: CourseCompletion, *, actor: Any, reason: str) -> None:
    """Delete a deemed-attendance credit (its approval revoked, e.g. a false claim).

    One transaction: the row deleted (locked first, so two withdrawals cannot
    both succeed), a history row with `reason`, an audit event
    `registry.deemed_credit_withdrawn`, and the search-index bump (the
    completion's post_delete signal). From then on no reader counts it.
    """
    reason = reason.strip()
    if not reason:
        raise RegistryError("みなし受講を取り消す理由を入力してください。")
    with transaction.atomic():
        locked = (
            CourseCompletion.objects.select_for_update()
            .select_related("record")
            .filter(pk=completion.pk)
            .first()
        )
        if locked is None:
            raise RegistryError("このみなし受講の記録はすでに取り消されています。")
        if locked.kind != CourseKind.DEEMED:
            raise RegistryError("みなし受講ではない講習修了は、ここでは取り消せません。")
        data = {
            "reference": locked.course_code,
            "approved_on": locked.completed_on.isoformat(),
            "fiscal_year": locked.fiscal_year,
            "completion": locked.pk,
            "reason": reason,
        }
        number = locked.record.registration_number
        locked._change_reason = reason[:100]
        if getattr(actor, "is_authenticated", False):
            locked._history_user = actor
        locked.delete()
        record_event(
            "registry.deemed_credit_withdrawn",
            actor=actor,
            target_type="registry_record",
            target_id=number,
            data=data,
        )


@dataclass
class MeasureResult:
    covered: list[str] = field(default_factory=list)  # registration numbers


def apply_disaster_measure(measure: DisasterMeasure, *, actor: Any) -> MeasureResult:
    """Extend the deadlines of every active registrant the measure covers.

    Coverage: home prefecture among the measure's, and the normal application
    deadline within the measure's range and before its new deadline.
    Re-applying the same measure changes nothing; a registrant already under
    another measure moves to this one only if it gives the later deadline.
    """
    result = MeasureResult()
    prefectures = list(measure.prefectures.values_list("pk", flat=True))
    # expires_on = deadline + 60 days, so the deadline range is an expiry range.
    offset = dt.timedelta(days=rules.APPLICATION_DAYS_BEFORE_EXPIRY)
    # A registrant whose own deadline is not before the new one would gain
    # nothing from the measure, or even lose days (the range may reach past it).
    last_deadline = min(measure.deadline_to, measure.new_deadline - dt.timedelta(days=1))
    candidates = RegistryRecord.objects.filter(
        status=RegistryStatus.ACTIVE,
        home_prefecture_id__in=prefectures,
        expires_on__gte=measure.deadline_from + offset,
        expires_on__lte=last_deadline + offset,
    ).select_related("extension_measure")
    # One change-log write at the end, not one per record: see deferred_changes.
    with transaction.atomic(), deferred_changes():
        for record in candidates.select_for_update(of=("self",)):
            current = record.extension_measure
            if current is not None and (
                current.pk == measure.pk or current.new_deadline >= measure.new_deadline
            ):
                continue
            update_record(
                record,
                {"extension_measure_id": measure.pk},
                actor=actor,
                reason=f"災害特例: {measure.title}",
            )
            result.covered.append(record.registration_number)
        record_event(
            "registry.disaster_measure",
            actor=actor,
            target_type="disaster_measure",
            target_id=measure.pk,
            data={
                "title": measure.title,
                "prefectures": prefectures,
                "deadline_from": measure.deadline_from.isoformat(),
                "deadline_to": measure.deadline_to.isoformat(),
                "new_deadline": measure.new_deadline.isoformat(),
                "waived_courses": measure.waived_courses,
                "covered": result.covered,
            },
        )
    return result


# Candidates per batch of the daily expiry. Each batch is one short transaction,
# so a run never holds the search-generation row (which every listing save
# bumps) for longer than one batch, and a failure loses one batch, not the day.
EXPIRY_BATCH_SIZE = 1000
EXPIRY_REASON = "有効期限までに更新されなかったため失効"
# SQLite has one write lock for the whole database, and a writer waiting for it
# polls (its busy handler sleeps up to 100 ms between tries): back-to-back
# batches leave gaps of a millisecond, so a listing save waited seconds (and
# could hit the 5 s busy timeout). On SQLite the run therefore pauses for one
# full poll interval after every quarter second of batches.
SQLITE_YIELD_EVERY_S = 0.25
SQLITE_YIELD_S = 0.1
# The run's summary event lists at most this many numbers of each kind; every
# expired record has its own `registry.update` event anyway.
EXPIRY_SUMMARY_CAP = 1000


@dataclass
class ExpiryResult:
    expired: list[str] = field(default_factory=list)
    # Past expiry but kept active because a renewal application awaits a decision.
    awaiting_decision: list[str] = field(default_factory=list)


def expire_registrations(
    today: dt.date,
    *,
    actor_label: str = "expire-registrations",
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExpiryResult:
    """Mark as expired every active registrant whose registration ran out before `today`.

    Idempotent: a second run on the same day finds nobody. A registrant under a
    disaster extension is valid until 60 days after the extended deadline; one
    whose renewal application is still being reviewed is left for the operator.

    Works in batches of `batch_size` candidates in primary-key order, each
    committed on its own (see `_expire_batch`), so overlapping runs share the
    work and expire each record once. `progress(n)` is called after each
    batch with the number of candidates it examined.
    """
    size = batch_size or EXPIRY_BATCH_SIZE
    result = ExpiryResult()
    # The candidates' ids once, up front (300,000 ids are a few MB): paging with
    # "id > last ORDER BY id LIMIT n" made PostgreSQL read and sort every
    # remaining candidate through the (status, expires_on) index for each batch.
    # Records left active (extension, pending renewal) are simply passed over,
    # and what a concurrent run expired meanwhile no longer matches the claim.
    ids = list(
        RegistryRecord.objects.filter(status=RegistryStatus.ACTIVE, expires_on__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # Pausing inside an outer transaction would release nothing.
    yields = connection.vendor == "sqlite" and not connection.in_atomic_block
    working_since = time.monotonic()
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        _expire_batch(batch, today, actor_label, result)
        if progress is not None:
            progress(len(batch))
        if yields and time.monotonic() - working_since >= SQLITE_YIELD_EVERY_S:
            time.sleep(SQLITE_YIELD_S)
            working_since = time.monotonic()
    return result


def _expire_batch(ids: list[int], today: dt.date, actor_label: str, result: ExpiryResult) -> None:
    """Expire what is still due among `ids`, in one transaction.

    The claim: the rows are read again with SELECT ... FOR UPDATE SKIP LOCKED
    (PostgreSQL; on SQLite the IMMEDIATE transaction already excludes every
    other writer), so a row another run or an operator's edit holds is left to
    them (a missed one is expired by the next daily run), and what a
    concurrent run has already expired no longer matches `status=active`.
    The UPDATE repeats the condition and must change exactly the claimed rows.
    History rows and audit events are written for exactly those, and the
    search generation is bumped once, last, so its row lock is held only
    while the batch commits.
    """
    from sekispe.registry.imports import _Table, _tracked, _write_history

    now = timezone.now()
    # Every tracked column is read with the claim, so the history rows need no
    # second query: they are these values with the new status.
    tracked = _tracked(RegistryRecord)
    col = {name: tracked.index(name) for name in ("id", "status", "expires_on")}
    col["number"] = tracked.index("registration_number")
    col["measure"] = tracked.index("extension_measure_id")
    with transaction.atomic():
        rows = list(
            RegistryRecord.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, status=RegistryStatus.ACTIVE, expires_on__lt=today)
            .order_by("pk")
            .values_list(*tracked)
        )
        if not rows:
            return
        measures = {
            m.pk: _extension(m.new_deadline, m.deadline_from, m.waived_courses)
            for m in DisasterMeasure.objects.filter(
                pk__in={row[col["measure"]] for row in rows} - {None}
            )
        }
        pending = set(
            providers.pending_renewals()
            .filter(record_id__in=[row[col["id"]] for row in rows])
            .values_list("record_id", flat=True)
        )
        due: list[tuple[Any, ...]] = []
        for row in rows:
            extension = measures.get(row[col["measure"]])
            if rules.valid_until(row[col["expires_on"]], extension) >= today:
                continue
            if row[col["id"]] in pending:
                result.awaiting_decision.append(row[col["number"]])
                continue
            due.append(row)
        if not due:
            return
        claimed = RegistryRecord.objects.filter(
            pk__in=[row[col["id"]] for row in due], status=RegistryStatus.ACTIVE
        ).update(status=RegistryStatus.EXPIRED, updated_at=now)
        if claimed != len(due):
            # Cannot happen while the rows are locked; roll the batch back rather
            # than write history for rows this run did not change.
            raise RuntimeError(f"expiry claimed {claimed} of {len(due)} locked records")
        # The update sends no signals, so simple-history writes nothing by itself:
        # the same "~" rows it would write (updated_at is not tracked).
        status = col["status"]
        _write_history(
            RegistryRecord,
            tracked,
            [(*row[:status], RegistryStatus.EXPIRED.value, *row[status + 1 :]) for row in due],
            history_type="~",
            user=None,
            reason=EXPIRY_REASON,
            now=now,
        )
        numbers = [row[col["number"]] for row in due]
        # One `registry.update` event per record, as `update_record` writes it,
        # so each record's audit trail shows its expiry.
        data = {"reason": EXPIRY_REASON, "changes": {"status": ["active", "expired"]}}
        _Table(
            AuditEvent,
            ["created_at", "actor_label", "action", "target_type", "target_id", "data"],
        ).insert(
            [
                (now, actor_label, "registry.update", "registry_record", number, data)
                for number in numbers
            ]
        )
        record_everything()
    result.expired.extend(numbers)


def run_daily_expiry(
    today: dt.date,
    *,
    actor_label: str = "expire-registrations",
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExpiryResult:
    """The daily job: expire what ran out, and one audit summary per run, so the
    log shows the job ran even on days it changed nothing.

    No transaction around the whole run: the batches commit as they go (see
    `expire_registrations`) and the summary is written after the last one.
    """
    result = expire_registrations(
        today, actor_label=actor_label, batch_size=batch_size, progress=progress
    )
    data: dict[str, Any] = {"today": today.isoformat()}
    for name in ("expired", "awaiting_decision"):
        numbers = getattr(result, name)
        data[name] = numbers[:EXPIRY_SUMMARY_CAP]
        data[f"{name}_count"] = len(numbers)
        if len(numbers) > EXPIRY_SUMMARY_CAP:
            data[f"{name}_truncated"] = True
    record_event(
        "registry.expiry_run",
        actor_label=actor_label,
        target_type="registry",
        target_id=today.isoformat(),
        data=data,
    )
    return result


def completions_by_record(record_ids: Iterable[int]) -> dict[int, list[tuple[str, dt.date]]]:
    """(kind, completed_on) pairs per record, for computing many statuses at once."""
    ids = list(record_ids)
    found: dict[int, list[tuple[str, dt.date]]] = {pk: [] for pk in ids}
    for start in range(0, len(ids), 900):
        for record_id, kind, completed_on in CourseCompletion.objects.filter(
            record_id__in=ids[start : start + 900]
        ).values_list("record_id", "kind", "completed_on"):
            found[record_id].append((kind, completed_on))
    return found


def deadline_within(today: dt.date, days: int) -> Q:
    """Records whose renewal-application deadline falls in [today, today + days],
    the extended one for registrants under a disaster measure."""
    # The normal deadline is expires_on − 60 days, so its range is an expiry range.
    offset = dt.timedelta(days=rules.APPLICATION_DAYS_BEFORE_EXPIRY)
    last = today + dt.timedelta(days=days)
    return Q(
        extension_measure__isnull=True,
        expires_on__gte=today + offset,
        expires_on__lte=last + offset,
    ) | Q(
        extension_measure__new_deadline__gte=today,
        extension_measure__new_deadline__lte=last,
    )


def search_records(queryset: QuerySet[Any], q: str, prefix: str = "") -> QuerySet[Any]:
    """Operators' search: registration-number prefix, or name / kana ignoring
    spaces (operators type "佐藤健太" for 佐藤 健太). `prefix` reaches the record
    from another model, e.g. "record__"."""
    q = q.replace(" ", "").replace("\u3000", "")
    if not q:
        return queryset
    return queryset.annotate(
        _name=_without_spaces(f"{prefix}name"), _kana=_without_spaces(f"{prefix}name_kana")
    ).filter(
        Q(**{f"{prefix}registration_number__startswith": q})
        | Q(_name__icontains=q)
        | Q(_kana__icontains=q)
    )


def _without_spaces(expression: str) -> Replace:
    return Replace(Replace(expression, Value(" "), Value("")), Value("\u3000"), Value(""))


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
