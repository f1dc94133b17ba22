"""Renewal and course reminders, queued at most once each (`sekispe send-reminders`).

A run has two steps:

1. plan: work out which reminders are due today and create one `Reminder`
   row (state pending) for each; the unique (record, kind, key) constraint
   makes a second run, or a concurrent one, find the rows the first created.
2. queue: for each pending or failed row, one transaction claims it with a
   conditional UPDATE to `sent` and writes the message to the mail outbox
   (`sekispe.outbox`), which the worker delivers with retries. Claim and mail
   commit together, so a crash leaves either both or neither: the reminder
   is never lost and never queued twice. A message that cannot be rendered
   marks the row `failed`, and the next run retries it.

Rows in `sending` come only from versions that sent mail here directly: such
a run died between sending and confirming, so the message may have gone out.
They are never resent by themselves but reported for an operator to check.

A failing message does not stop the run: one bad row must not hold back
everybody else's reminders. Only reminders due today are queued, so a row left
pending by a crash weeks ago does not go out once its occasion has passed.

When reminders fall due:
- `deadline_30`: application deadline − 30 ≤ today < deadline − 15;
- `deadline_15`: deadline − 15 ≤ today ≤ deadline;
  keyed by the deadline, so a deadline moved by a disaster measure gets its
  own reminders;
- `courses`: the common course of the current period year is outstanding
  and its due date is at most `REMINDER_COURSES_DAYS_BEFORE` (60) days away;
  keyed by that due date.
Nobody who has a renewal application under review, or approved for the
current period, gets any reminder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from sekispe.audit.services import record_event
from sekispe.core.mail import site_url
from sekispe.listings.prompt import active_list_prompt, listing_of
from sekispe.outbox.services import queue_message
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registry import rules
from sekispe.registry.models import (
    RegistryRecord,
    RegistryStatus,
    Reminder,
    ReminderKind,
    ReminderState,
)
from sekispe.registry.services import completions_by_record, renewal_status_of

ACTOR_LABEL = "send-reminders"
CHUNK = 2000
SPECIALIST_PAGE = "/me/registry/"
DEADLINE_FIRST_DAYS = 30
DEADLINE_SECOND_DAYS = 15


@dataclass(frozen=True)
class DueReminder:
    """A reminder due today, with everything its message says."""

    record_id: int
    registration_number: str
    kind: str
    key: str
    email: str
    context: dict[str, Any]

    @property
    def identity(self) -> tuple[int, str, str]:
        return (self.record_id, self.kind, self.key)


@dataclass
class ReminderReport:
    due: int = 0  # reminders due today, whether or not created before
    planned: int = 0  # rows created by this run
    sent: int = 0
    failed: int = 0
    already_sent: int = 0  # due today but sent by an earlier run
    # Rows found in `sending` at the start of the run: an operator must check them.
    stuck: list[Reminder] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "planned": self.planned,
            "sent": self.sent,
            "failed": self.failed,
            "already_sent": self.already_sent,
            "left_in_sending": len(self.stuck),
            "left_in_sending_ids": [r.pk for r in self.stuck],
        }


def recipient(record: RegistryRecord) -> str:
    """The registry's address, else the specialist account's."""
    if record.email:
        return record.email
    account = getattr(record, "account", None)
    return getattr(account, "email", "") or ""


def _has_applied(requests: list[tuple[str, dt.datetime]], status: rules.RenewalStatus) -> bool:
    for state, submitted_at in requests:
        if state == RequestStatus.SUBMITTED:
            return True
        # An approval normally moves expires_on on, which starts a new period;
        # this also covers an approval recorded before the expiry moved.
        if timezone.localdate(submitted_at) >= status.period_starts_on:
            return True
    return False


def _requirement_row(requirement: rules.CourseRequirement, today: dt.date) -> dict[str, Any]:
    return {
        "label": requirement.label,
        "due": requirement.due,
        "days_left": (requirement.due - today).days,
        "overdue": requirement.due < today,
    }


def occasions(
    status: rules.RenewalStatus, courses_days_before: int
) -> list[tuple[str, str, rules.CourseRequirement | None]]:
    """(kind, key, course requirement) of each reminder due on `status.today`."""
    today = status.today
    deadline = status.application_deadline
    found: list[tuple[str, str, rules.CourseRequirement | None]] = []
    days_left = (deadline - today).days
    if DEADLINE_SECOND_DAYS < days_left <= DEADLINE_FIRST_DAYS:
        found.append((ReminderKind.DEADLINE_30, deadline.isoformat(), None))
    elif 0 <= days_left <= DEADLINE_SECOND_DAYS:
        found.append((ReminderKind.DEADLINE_15, deadline.isoformat(), None))
    current = rules.current_year_requirement(status)
    if (
        current is not None
        and current.outstanding
        and current.due - dt.timedelta(days=courses_days_before) <= today <= current.due
    ):
        found.append((ReminderKind.COURSES, current.due.isoformat(), current))
    return found


def due_reminders_for(
    record: RegistryRecord,
    status: rules.RenewalStatus,
    email: str,
    *,
    courses_days_before: int,
) -> list[DueReminder]:
    """The reminders `record` should get on `status.today`, with their messages' facts."""
    due = occasions(status, courses_days_before)
    if not due:
        return []
    today = status.today
    common: dict[str, Any] = {
        "name": record.name,
        "registration_number": record.registration_number,
        "today": today,
        "deadline": status.application_deadline,
        "deadline_days_left": status.days_to_deadline,
        "valid_until": status.valid_until,
        "extended": status.extended,
        "measure_title": record.extension_measure.title if status.extended else "",
        "url": site_url(SPECIALIST_PAGE),
    }
    found = []
    for kind, key, current in due:
        if current is None:
            items = list(status.missing)
        else:
            # The current year's course, then anything already late, then the
            # practical course: never next year's course, which is not due yet.
            items = [current]
            items += [r for r in status.missing if r is not current and r.due < today]
            items += [r for r in status.missing if r.kind == rules.PRACTICAL and r not in items]
        missing = [_requirement_row(r, today) for r in items]
        context = {
            **common,
            "missing": missing,
            "any_overdue": any(item["overdue"] for item in missing),
        }
        if current is not None:
            context["requirement"] = _requirement_row(current, today)
        else:
            # The renewal moment prompts an Active List listing or its update.
            context["active_list"] = active_list_prompt(listing_of(record))
        found.append(DueReminder(record.pk, record.registration_number, kind, key, email, context))
    return found


def candidate_expiries(today: dt.date, courses_days_before: int) -> list[dt.date]:
    """The expiry dates for which a registrant without an extension may have a reminder today.

    A registrant with nothing done gets every reminder one with the same
    expiry could get (doing courses only removes the course reminder), so
    evaluating that case once per distinct expiry date rules out most of the
    registry before any record or completion is loaded.
    """
    expiries = (
        RegistryRecord.objects.filter(status=RegistryStatus.ACTIVE)
        .order_by()
        .values_list("expires_on", flat=True)
        .distinct()
    )
    return sorted(
        day
        for day in expiries
        if occasions(rules.renewal_status(day, (), today), courses_days_before)
    )


def _chunks(today: dt.date, courses_days_before: int) -> Iterator[list[RegistryRecord]]:
    queryset = (
        RegistryRecord.objects.filter(status=RegistryStatus.ACTIVE)
        .filter(~Q(email="") | Q(account__isnull=False))
        .filter(
            Q(expires_on__in=candidate_expiries(today, courses_days_before))
            # An extension moves the deadline and may waive courses: always look.
            | Q(extension_measure__isnull=False)
        )
        # The listing for the Active List paragraph, without a query per record.
        .select_related("extension_measure", "account", "listing")
        .order_by("pk")
    )
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def find_due(today: dt.date, progress: Callable[[int], None] | None = None) -> list[DueReminder]:
    """Every reminder due on `today`, computed in chunks (a few queries per chunk)."""
    days_before = getattr(settings, "REMINDER_COURSES_DAYS_BEFORE", 60)
    due: list[DueReminder] = []
    for chunk in _chunks(today, days_before):
        ids = [record.pk for record in chunk]
        completions = completions_by_record(ids)
        applied: dict[int, list[tuple[str, dt.datetime]]] = {}
        for record_id, state, submitted_at in RegistrantRequest.objects.filter(
            record_id__in=ids,
            kind=RequestKind.RENEWAL,
            status__in=[RequestStatus.SUBMITTED, RequestStatus.APPROVED],
        ).values_list("record_id", "status", "submitted_at"):
            applied.setdefault(record_id, []).append((state, submitted_at))
        for record in chunk:
            email = recipient(record)
            if not email:
                continue
            status = renewal_status_of(record, today, completions[record.pk])
            if record.pk in applied and _has_applied(applied[record.pk], status):
                continue
            due += due_reminders_for(record, status, email, courses_days_before=days_before)
        if progress:
            progress(len(chunk))
    return due


def _existing(due: list[DueReminder]) -> dict[tuple[int, str, str], Reminder]:
    rows: dict[tuple[int, str, str], Reminder] = {}
    ids = sorted({item.record_id for item in due})
    wanted = {item.identity for item in due}
    for start in range(0, len(ids), 900):
        for row in Reminder.objects.filter(record_id__in=ids[start : start + 900]):
            identity = (row.record_id, row.kind, row.key)
            if identity in wanted:
                rows[identity] = row
    return rows


def plan(due: list[DueReminder]) -> int:
    """Create the pending rows not yet there; returns how many this call created."""
    existing = _existing(due)
    new = [
        Reminder(record_id=item.record_id, kind=item.kind, key=item.key, email=item.email)
        for item in due
        if item.identity not in existing
    ]
    # ignore_conflicts: a concurrent run may have created some of them since.
    Reminder.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return len(new)


def render_message(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    template = "courses" if kind == ReminderKind.COURSES else "deadline"
    with translation.override("ja"):
        subject = render_to_string(f"emails/reminder_{template}_subject.txt", context)
        body = render_to_string(f"emails/reminder_{template}_body.txt", context)
    # A header cannot hold a line break.
    return " ".join(subject.split()), body


def _queue_one(row: Reminder, item: DueReminder, report: ReminderReport) -> None:
    try:
        subject, body = render_message(item.kind, {**item.context, "kind": item.kind})
    except Exception as exc:  # recorded on the row and retried next run
        error = f"{type(exc).__name__}: {exc}"[:200]
        Reminder.objects.filter(
            pk=row.pk, state__in=[ReminderState.PENDING, ReminderState.FAILED]
        ).update(state=ReminderState.FAILED, error=error)
        report.failed += 1
        report.errors.append(f"{item.registration_number} {item.kind}: {error}")
        return
    with transaction.atomic():
        # Today's address: a retry after a failure goes to the corrected one.
        claimed = Reminder.objects.filter(
            pk=row.pk, state__in=[ReminderState.PENDING, ReminderState.FAILED]
        ).update(state=ReminderState.SENT, sent_at=timezone.now(), email=item.email, error="")
        if claimed != 1:
            return  # another run has it
        queue_message(item.email, subject, body, template=f"reminder_{item.kind}")
    report.sent += 1


def send_reminders(
    today: dt.date | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    sending_progress: Callable[[int], None] | None = None,
) -> ReminderReport:
    """Plan and queue today's reminders; see the module docstring."""
    today = today or timezone.localdate()
    report = ReminderReport()
    report.stuck = list(
        Reminder.objects.filter(state=ReminderState.SENDING)
        .select_related("record")
        .order_by("created_at", "pk")
    )
    due = find_due(today, progress)
    report.due = len(due)
    if dry_run:
        existing = _existing(due)
        report.planned = sum(item.identity not in existing for item in due)
        report.already_sent = sum(row.state == ReminderState.SENT for row in existing.values())
        return report

    report.planned = plan(due)
    rows = _existing(due)
    for item in due:
        row = rows.get(item.identity)
        if row is None or row.state == ReminderState.SENDING:
            pass  # created and claimed by a concurrent run, or stuck (reported above)
        elif row.state == ReminderState.SENT:
            report.already_sent += 1
        else:
            _queue_one(row, item, report)
        if sending_progress:
            sending_progress(1)

    record_event(
        "registry.reminders",
        actor_label=ACTOR_LABEL,
        target_type="reminders",
        target_id=today.isoformat(),
        data={"today": today.isoformat(), **report.as_data()},
    )
    return report
