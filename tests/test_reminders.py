"""`sekispe send-reminders`: which reminders fall due when, what they say, and
that each is sent at most once, even across failures and crashes."""

from __future__ import annotations

import datetime as dt
import io
from smtplib import SMTPException
from typing import Any, ClassVar

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sekispe.audit.models import AuditEvent
from sekispe.outbox.models import MailState, OutgoingMail
from sekispe.outbox.services import deliver_all, retry_delay
from sekispe.registrant_requests import reminders
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registrant_requests.reminders import find_due, occasions, send_reminders
from sekispe.registry import rules
from sekispe.registry.models import (
    CourseCompletion,
    DisasterMeasure,
    RegistryRecord,
    RegistryStatus,
    Reminder,
    ReminderState,
)
from sekispe.registry.services import apply_disaster_measure
from tests.factories import make_user
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

_numbers = iter(range(300000, 399999))

APRIL_EXPIRY = dt.date(2027, 3, 31)  # period 2024-04-01 – 2027-03-31, deadline 2027-01-30
APRIL_DONE = [
    ("common", dt.date(2024, 6, 1)),
    ("common", dt.date(2025, 6, 1)),
    ("common", dt.date(2026, 6, 1)),
    ("practical", dt.date(2025, 10, 1)),
]
OCTOBER_EXPIRY = dt.date(2026, 9, 30)  # period 2023-10-01 – 2026-09-30, deadline 2026-08-01
OCTOBER_DONE = [
    ("common", dt.date(2023, 12, 1)),
    ("common", dt.date(2024, 12, 1)),
    ("common", dt.date(2025, 12, 1)),
    ("specific", dt.date(2024, 5, 1)),
]


def make_record(
    expires_on: dt.date,
    courses: list[tuple[str, dt.date]] = (),
    *,
    email: str | None = None,
    status: str = RegistryStatus.ACTIVE,
    prefecture: str = "13",
    name: str = "佐藤 健太",
) -> RegistryRecord:
    number = f"{next(_numbers):06d}"
    record = RegistryRecord.objects.create(
        registration_number=number,
        name=name,
        name_kana="サトウ ケンタ",
        registered_on=dt.date(expires_on.year - 3, expires_on.month % 12 + 1, 1),
        expires_on=expires_on,
        status=status,
        home_prefecture_id=prefecture,
        email=f"r{number}@example.jp" if email is None else email,
    )
    for kind, completed_on in courses:
        CourseCompletion.objects.create(
            record=record,
            kind=kind,
            fiscal_year=completed_on.year if completed_on.month >= 4 else completed_on.year - 1,
            provider="IPA",
            completed_on=completed_on,
        )
    return record


def kinds_due(today: dt.date) -> set[tuple[str, str]]:
    return {(item.kind, item.key) for item in find_due(today)}


def run(today: dt.date, *args: str) -> str:
    out = io.StringIO()
    call_command("send_reminders", "--no-progress", f"--today={today.isoformat()}", *args,
                 stdout=out)  # fmt: skip
    return out.getvalue()


# ------------------------------------------------------------- when they fire


@pytest.mark.parametrize(
    ("expires_on", "courses", "today", "expected"),
    [
        # April cohort, deadline 2027-01-30, every course done.
        (APRIL_EXPIRY, APRIL_DONE, dt.date(2026, 12, 30), set()),
        (APRIL_EXPIRY, APRIL_DONE, dt.date(2026, 12, 31), {("deadline_30", "2027-01-30")}),
        (APRIL_EXPIRY, APRIL_DONE, dt.date(2027, 1, 14), {("deadline_30", "2027-01-30")}),
        (APRIL_EXPIRY, APRIL_DONE, dt.date(2027, 1, 15), {("deadline_15", "2027-01-30")}),
        (APRIL_EXPIRY, APRIL_DONE, dt.date(2027, 1, 30), {("deadline_15", "2027-01-30")}),
        (APRIL_EXPIRY, APRIL_DONE, dt.date(2027, 1, 31), set()),
        # October cohort, deadline 2026-08-01 (a specific course counts as practical).
        (OCTOBER_EXPIRY, OCTOBER_DONE, dt.date(2026, 7, 1), set()),
        (OCTOBER_EXPIRY, OCTOBER_DONE, dt.date(2026, 7, 2), {("deadline_30", "2026-08-01")}),
        (OCTOBER_EXPIRY, OCTOBER_DONE, dt.date(2026, 7, 16), {("deadline_30", "2026-08-01")}),
        (OCTOBER_EXPIRY, OCTOBER_DONE, dt.date(2026, 7, 17), {("deadline_15", "2026-08-01")}),
        (OCTOBER_EXPIRY, OCTOBER_DONE, dt.date(2026, 8, 1), {("deadline_15", "2026-08-01")}),
        (OCTOBER_EXPIRY, OCTOBER_DONE, dt.date(2026, 8, 2), set()),
        # April cohort mid-period (2025-04-01 – 2028-03-31), FY2026 common course
        # missing: due at the end of the fiscal year, 2027-03-31.
        (dt.date(2028, 3, 31), [("common", dt.date(2025, 7, 1))], dt.date(2027, 1, 29), set()),
        (
            dt.date(2028, 3, 31),
            [("common", dt.date(2025, 7, 1))],
            dt.date(2027, 1, 30),
            {("courses", "2027-03-31")},
        ),
        (
            dt.date(2028, 3, 31),
            [("common", dt.date(2025, 7, 1))],
            dt.date(2027, 3, 31),
            {("courses", "2027-03-31")},
        ),
        # FY2027 has begun; its course falls due 2028-01-31, not within 60 days yet.
        (dt.date(2028, 3, 31), [("common", dt.date(2025, 7, 1))], dt.date(2027, 4, 1), set()),
        # October cohort mid-period (2025-10-01 – 2028-09-30): the second year
        # runs 2026-10-01 – 2027-09-30.
        (dt.date(2028, 9, 30), [("common", dt.date(2025, 11, 1))], dt.date(2027, 7, 31), set()),
        (
            dt.date(2028, 9, 30),
            [("common", dt.date(2025, 11, 1))],
            dt.date(2027, 8, 1),
            {("courses", "2027-09-30")},
        ),
        (
            dt.date(2028, 9, 30),
            [("common", dt.date(2025, 11, 1))],
            dt.date(2027, 9, 30),
            {("courses", "2027-09-30")},
        ),
        (dt.date(2028, 9, 30), [("common", dt.date(2025, 11, 1))], dt.date(2027, 10, 1), set()),
        # Last year with its course missing: the course falls due on the
        # application deadline, so both kinds fire in the last 15 days.
        (
            APRIL_EXPIRY,
            APRIL_DONE[:2] + APRIL_DONE[3:],
            dt.date(2026, 11, 30),
            set(),
        ),
        (
            APRIL_EXPIRY,
            APRIL_DONE[:2] + APRIL_DONE[3:],
            dt.date(2026, 12, 1),
            {("courses", "2027-01-30")},
        ),
        (
            APRIL_EXPIRY,
            APRIL_DONE[:2] + APRIL_DONE[3:],
            dt.date(2027, 1, 20),
            {("courses", "2027-01-30"), ("deadline_15", "2027-01-30")},
        ),
    ],
)
def test_reminders_fall_due_on_the_right_days(expires_on, courses, today, expected):
    make_record(expires_on, courses)
    assert kinds_due(today) == expected


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    expires_on=st.dates(dt.date(2021, 1, 1), dt.date(2031, 12, 31)),
    offsets=st.lists(
        st.tuples(st.sampled_from(["common", "practical", "deemed"]), st.integers(-1200, 100)),
        max_size=6,
    ),
    before=st.integers(-100, 1150),
    lead=st.sampled_from([30, 60, 90]),
)
def test_nothing_done_is_the_most_reminded_case(expires_on, offsets, before, lead):
    """Why send-reminders may look only at expiry dates for which a registrant
    with no course done would get a reminder: doing courses only removes reminders."""
    today = expires_on - dt.timedelta(days=before)
    completions = [(kind, expires_on + dt.timedelta(days=n)) for kind, n in offsets]
    actual = occasions(rules.renewal_status(expires_on, completions, today), lead)
    nothing_done = occasions(rules.renewal_status(expires_on, (), today), lead)
    assert {(k, key) for k, key, _r in actual} <= {(k, key) for k, key, _r in nothing_done}


def test_course_reminder_lead_time_is_a_setting(settings):
    make_record(dt.date(2028, 3, 31), [("common", dt.date(2025, 7, 1))])
    settings.REMINDER_COURSES_DAYS_BEFORE = 90
    assert kinds_due(dt.date(2026, 12, 31)) == {("courses", "2027-03-31")}
    assert kinds_due(dt.date(2026, 12, 30)) == set()


@pytest.mark.parametrize("status", ["expired", "deregistered", "deceased", "revoked"])
def test_inactive_registrants_get_nothing(status):
    make_record(APRIL_EXPIRY, status=status)
    assert kinds_due(dt.date(2027, 1, 15)) == set()


def test_no_address_no_reminder_and_the_account_address_is_the_fallback():
    make_record(APRIL_EXPIRY, APRIL_DONE, email="")
    assert kinds_due(dt.date(2027, 1, 15)) == set()
    with_account = make_record(APRIL_EXPIRY, APRIL_DONE, email="")
    make_user("specialist", "account@example.jp", record=with_account)
    due = find_due(dt.date(2027, 1, 15))
    assert [(item.record_id, item.email) for item in due] == [
        (with_account.pk, "account@example.jp")
    ]


def test_the_registry_address_comes_before_the_account_address():
    record = make_record(APRIL_EXPIRY, APRIL_DONE, email="registry@example.jp")
    make_user("specialist", "account@example.jp", record=record)
    assert [item.email for item in find_due(dt.date(2027, 1, 15))] == ["registry@example.jp"]


def _renewal(record: RegistryRecord, status: str, submitted_on: dt.date) -> RegistrantRequest:
    return RegistrantRequest.objects.create(
        record=record,
        kind=RequestKind.RENEWAL,
        status=status,
        fiscal_year=2026,
        submitted_at=dt.datetime.combine(submitted_on, dt.time(10), tzinfo=dt.UTC),
    )


def test_no_reminder_once_a_renewal_application_is_submitted_or_approved():
    submitted = make_record(APRIL_EXPIRY, APRIL_DONE)
    _renewal(submitted, RequestStatus.SUBMITTED, dt.date(2026, 12, 20))
    approved = make_record(APRIL_EXPIRY, APRIL_DONE)
    _renewal(approved, RequestStatus.APPROVED, dt.date(2026, 12, 20))
    rejected = make_record(APRIL_EXPIRY, APRIL_DONE)
    _renewal(rejected, RequestStatus.REJECTED, dt.date(2026, 12, 20))
    # An approval from the previous period does not cover this one.
    previous = make_record(APRIL_EXPIRY, APRIL_DONE)
    _renewal(previous, RequestStatus.APPROVED, dt.date(2023, 12, 20))
    due = {item.record_id for item in find_due(dt.date(2027, 1, 15))}
    assert due == {rejected.pk, previous.pk}


def test_no_practical_course_reminder_once_a_deemed_credit_counts():
    """Deemed attendance (みなし受講) approved before the deadline meets the
    practical requirement: the reminders no longer ask for a practical course."""
    from sekispe.registry.services import grant_deemed_credit

    common_only = APRIL_DONE[:3]
    credited = make_record(APRIL_EXPIRY, common_only, name="みなし 済")
    grant_deemed_credit(
        credited, approved_on=dt.date(2026, 12, 1), reference="DEEMED-1", actor=None
    )
    # Approved after the deadline: it does not count, so the course is still asked for.
    late = make_record(APRIL_EXPIRY, [*common_only, ("deemed", dt.date(2027, 1, 31))])
    lacking = make_record(APRIL_EXPIRY, common_only)
    today = dt.date(2027, 1, 15)
    due = {item.record_id: item for item in find_due(today)}
    assert due[credited.pk].context["missing"] == []
    for record in (late, lacking):
        assert [m["label"] for m in due[record.pk].context["missing"]] == [
            "実践講習または特定講習（いずれか1つ）"
        ]
    run(today)
    bodies = {m.to[0]: m.body for m in delivered()}
    assert "更新に必要な講習はすべて修了しています" in bodies[credited.email]
    assert "実践講習" not in bodies[credited.email]
    assert "実践講習または特定講習（いずれか1つ）" in bodies[lacking.email]


# ---------------------------------------------------------------- messages


def test_deadline_message_says_what_is_missing_and_by_when():
    record = make_record(APRIL_EXPIRY, APRIL_DONE[:2], name="山田 一郎")
    output = run(dt.date(2027, 1, 15))
    # The last year's course falls due on the deadline too, so it has its own reminder.
    assert "送信 2 件" in output
    [message] = [m for m in delivered() if "更新申請の期限" in m.subject]
    assert message.to == [record.email]
    assert message.subject == "【登録セキスペ】更新申請の期限（2027年1月30日）まであと15日です"
    body = message.body
    assert "山田 一郎 様" in body
    assert "更新申請の期限は 2027年1月30日 です（あと15日）" in body
    assert "2026年度の共通講習（受講期限：2027年1月30日）" in body
    assert "実践講習または特定講習（いずれか1つ）（受講期限：2027年1月30日）" in body
    assert "2024年度の共通講習" not in body
    assert "2027年3月31日をもって失効" in body
    assert "http://127.0.0.1:8000/me/registry/" in body


def test_deadline_message_when_every_course_is_done():
    make_record(APRIL_EXPIRY, APRIL_DONE)
    run(dt.date(2026, 12, 31))
    [message] = delivered()
    assert "あと30日" in message.subject
    assert "更新に必要な講習はすべて修了しています" in message.body


def test_course_message_names_the_course_the_late_ones_and_the_practical_course():
    # Period 2025-10-01 – 2028-09-30; nothing done: year 1 is late, year 2 is due.
    make_record(dt.date(2028, 9, 30), [])
    run(dt.date(2027, 8, 1))
    [message] = delivered()
    label = "共通講習（2026年10月1日〜2027年9月30日）"
    assert message.subject == f"【登録セキスペ】{label}が未受講です（受講期限：2027年9月30日）"
    assert f"{label}の修了がまだ確認できていません。受講期限は 2027年9月30日 です（あと60日）" in (
        message.body
    )
    assert (
        "共通講習（2025年10月1日〜2026年9月30日）（受講期限：2026年9月30日、受講期限を過ぎています）"
        in (message.body)
    )
    assert "実践講習または特定講習（いずれか1つ）（受講期限：2028年8月1日）" in message.body
    # The third year has not begun: its course is not mentioned.
    assert "2027年10月1日" not in message.body


# ------------------------------------------------------------- idempotence


def test_running_twice_sends_once_and_writes_an_audit_event():
    records = [make_record(APRIL_EXPIRY, APRIL_DONE) for _ in range(3)]
    first = run(dt.date(2027, 1, 15))
    second = run(dt.date(2027, 1, 15))
    assert sorted(m.to[0] for m in delivered()) == sorted(r.email for r in records)
    assert "新規登録 3 件、送信 3 件、失敗 0 件" in first
    assert "新規登録 0 件、送信 0 件、失敗 0 件、送信済みのため省略 3 件" in second
    assert set(Reminder.objects.values_list("state", flat=True)) == {ReminderState.SENT}
    events = list(AuditEvent.objects.filter(action="registry.reminders").order_by("id"))
    assert [e.data["sent"] for e in events] == [3, 0]
    assert events[0].data["planned"] == 3
    assert events[0].actor_label == "send-reminders"
    # The next occasion is a new reminder.
    run(dt.date(2027, 1, 16))
    assert len(delivered()) == 3


def test_dry_run_writes_and_sends_nothing():
    make_record(APRIL_EXPIRY, APRIL_DONE)
    output = run(dt.date(2027, 1, 15), "--dry-run")
    assert "本日送るべきリマインダー 1 件（新規 1 件" in output
    assert delivered() == []
    assert not Reminder.objects.exists()
    assert not AuditEvent.objects.filter(action="registry.reminders").exists()


def test_an_extended_deadline_gets_its_own_reminders(operator):
    record = make_record(APRIL_EXPIRY, APRIL_DONE, prefecture="43")
    run(dt.date(2027, 1, 15))
    assert [m.subject for m in delivered()] == [
        "【登録セキスペ】更新申請の期限（2027年1月30日）まであと15日です"
    ]
    measure = DisasterMeasure.objects.create(
        title="令和9年1月地震",
        deadline_from=dt.date(2027, 1, 1),
        deadline_to=dt.date(2027, 1, 31),
        new_deadline=dt.date(2027, 3, 1),
    )
    measure.prefectures.set(["43"])
    apply_disaster_measure(measure, actor=operator)
    record.refresh_from_db()
    assert record.extension_measure == measure
    run(dt.date(2027, 1, 15))  # the same day again: the old reminder is not repeated
    run(dt.date(2027, 1, 30))
    run(dt.date(2027, 2, 14))
    run(dt.date(2027, 2, 15))
    assert [m.subject for m in delivered()[1:]] == [
        "【登録セキスペ】更新申請の期限（2027年3月1日）まであと30日です",
        "【登録セキスペ】更新申請の期限（2027年3月1日）まであと15日です",
    ]
    assert "災害特例「令和9年1月地震」により延長されたものです" in delivered()[1].body
    assert "2027年4月30日をもって失効" in delivered()[1].body
    assert set(Reminder.objects.values_list("kind", "key")) == {
        ("deadline_15", "2027-01-30"),
        ("deadline_30", "2027-03-01"),
        ("deadline_15", "2027-03-01"),
    }


class FlakyBackend(BaseEmailBackend):
    """Raises on the messages whose (1-based) number is in `fail_on`, across instances."""

    delivered: ClassVar[list[str]] = []
    count: ClassVar[int] = 0
    fail_on: ClassVar[set[int]] = set()

    def send_messages(self, messages: Any) -> int:
        for message in messages:
            type(self).count += 1
            if type(self).count in self.fail_on:
                raise SMTPException("451 temporary failure")
            type(self).delivered.append(message.to[0])
        return len(messages)


class Crash(BaseException):
    """The process dying (not an exception the command could catch)."""


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.delivered = []
    FlakyBackend.count = 0
    FlakyBackend.fail_on = {3}
    return FlakyBackend


def test_an_smtp_failure_is_retried_by_the_outbox_and_each_reminder_queued_once(flaky):
    records = [make_record(APRIL_EXPIRY, APRIL_DONE) for _ in range(4)]
    output = run(dt.date(2027, 1, 15))
    assert "送信 4 件、失敗 0 件" in output
    report = deliver_all()
    # The outbox goes on after a failure: one bad message does not hold back the rest.
    assert flaky.delivered == [records[0].email, records[1].email, records[3].email]
    assert (report.sent, report.retried) == (3, 1)
    waiting = OutgoingMail.objects.get(state=MailState.QUEUED)
    assert waiting.to == records[2].email
    assert "SMTPException: 451 temporary failure" in waiting.last_error

    # Another run of the job queues nothing again; the outbox retries after its back-off.
    output = run(dt.date(2027, 1, 15))
    assert "新規登録 0 件、送信 0 件、失敗 0 件、送信済みのため省略 4 件" in output
    assert deliver_all().claimed == 0  # not due yet
    deliver_all(now=timezone.now() + retry_delay(1))
    assert flaky.delivered == [*(r.email for r in records[:2]), records[3].email, records[2].email]
    assert set(OutgoingMail.objects.values_list("state", flat=True)) == {MailState.SENT}


def test_a_message_that_cannot_be_rendered_is_retried_next_run(monkeypatch):
    records = [make_record(APRIL_EXPIRY, APRIL_DONE) for _ in range(2)]
    real = reminders.render_message
    broken = {records[0].registration_number}

    def render(kind: str, context: dict[str, Any]) -> tuple[str, str]:
        if context["registration_number"] in broken:
            raise ValueError("template error")
        return real(kind, context)

    monkeypatch.setattr(reminders, "render_message", render)
    output = run(dt.date(2027, 1, 15))
    assert "送信 1 件、失敗 1 件" in output
    failed = Reminder.objects.get(state=ReminderState.FAILED)
    assert failed.record == records[0]
    assert "ValueError: template error" in failed.error

    # Fixed, and the registrant corrected the address: the retry goes to the new one.
    broken.clear()
    RegistryRecord.objects.filter(pk=records[0].pk).update(email="fixed@example.jp")
    output = run(dt.date(2027, 1, 15))
    assert "送信 1 件、失敗 0 件、送信済みのため省略 1 件" in output
    assert sorted(m.to[0] for m in delivered()) == sorted(["fixed@example.jp", records[1].email])
    assert Reminder.objects.get(record=records[0]).error == ""


def test_a_crash_while_queueing_loses_nothing_and_queues_nothing_twice(monkeypatch):
    records = [make_record(APRIL_EXPIRY, APRIL_DONE, name=f"登録者{i}") for i in range(4)]
    real = reminders.queue_message
    calls = []

    def queue(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        if len(calls) == 2:
            raise Crash  # the process dies inside the second reminder's transaction
        return real(*args, **kwargs)

    monkeypatch.setattr(reminders, "queue_message", queue)
    with pytest.raises(Crash):
        run(dt.date(2027, 1, 15))
    states = dict(Reminder.objects.values_list("record_id", "state"))
    # The second claim rolled back with its mail: neither half survives alone.
    assert [states[r.pk] for r in records] == ["sent", "pending", "pending", "pending"]
    assert OutgoingMail.objects.count() == 1

    output = run(dt.date(2027, 1, 15))
    assert "送信 3 件" in output
    assert sorted(m.to[0] for m in delivered()) == sorted(r.email for r in records)


def test_a_pending_row_left_by_a_crash_is_sent_only_while_it_is_still_due():
    record = make_record(APRIL_EXPIRY, APRIL_DONE)
    Reminder.objects.create(record=record, kind="deadline_30", key="2027-01-30", email=record.email)
    send_reminders(dt.date(2027, 1, 15))  # the 30-day occasion has passed
    assert [m.subject for m in delivered()] == [
        "【登録セキスペ】更新申請の期限（2027年1月30日）まであと15日です"
    ]
    assert Reminder.objects.get(kind="deadline_30").state == ReminderState.PENDING


def test_a_row_already_in_sending_is_never_picked_up(flaky):
    """Another run's claim, or a dead run's: either way it is not sent again."""
    record = make_record(APRIL_EXPIRY, APRIL_DONE)
    Reminder.objects.create(
        record=record,
        kind="deadline_15",
        key="2027-01-30",
        email=record.email,
        state=ReminderState.SENDING,
    )
    report = send_reminders(dt.date(2027, 1, 15))
    assert flaky.delivered == []
    assert report.sent == 0
    assert [r.record_id for r in report.stuck] == [record.pk]
