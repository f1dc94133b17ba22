"""The mail outbox: queued with the change, sent by the worker once, retried
with back-off, failed mail shown to operators, never SMTP inside a request."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from sekispe.accounts.services import invite_specialist
from sekispe.audit.models import AuditEvent
from sekispe.outbox.models import MailState, OutgoingMail
from sekispe.outbox.services import (
    claim_due,
    deliver_all,
    deliver_due,
    queue_message,
    queue_templated,
    retry_delay,
)
from sekispe.registry.models import RegistryRecord
from tests.factories import create_specialists, make_input
from tests.outbox_backends import DownBackend, FailingForBackend, RecordingBackend
from tests.outbox_support import delivered
from tests.worker_support import delivered_log, start_worker, wait_for

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def recording(settings):
    settings.EMAIL_BACKEND = "tests.outbox_backends.RecordingBackend"
    RecordingBackend.delivered = []
    return RecordingBackend


# ----------------------------------------------------------- queued with the change


def test_a_mail_is_a_row_written_with_its_change_and_sent_by_the_worker():
    with transaction.atomic():
        row = queue_templated("signup_exists", "a@example.jp", {"login_url": "https://x/"})
        assert OutgoingMail.objects.filter(pk=row.pk).exists()
    assert mail.outbox == []  # nothing leaves until the worker runs
    assert row.state == MailState.QUEUED
    assert row.template == "signup_exists"
    assert "\n" not in row.subject
    assert row.message_id.startswith("<") and row.message_id.endswith("@sekispe.example.jp>")
    [message] = delivered()
    assert message.to == ["a@example.jp"]
    assert message.extra_headers["Message-ID"] == row.message_id
    row.refresh_from_db()
    assert row.state == MailState.SENT
    assert row.attempts == 1
    assert row.sent_at is not None
    assert deliver_all().claimed == 0  # sent once


def test_a_rolled_back_change_sends_nothing(operator):
    create_specialists(make_input(registration_number="200001"))
    record = RegistryRecord.objects.get(registration_number="200001")
    with pytest.raises(RuntimeError), transaction.atomic():
        invite_specialist(record, "someone@example.jp", actor=operator)
        assert OutgoingMail.objects.count() == 1  # written in the same transaction...
        raise RuntimeError("the change fails after the mail was queued")
    assert not OutgoingMail.objects.exists()  # ...and gone with it
    assert delivered() == []


@pytest.mark.parametrize("address", ["a@example.jp\r\nBcc: b@example.jp", "no-at-sign", "a\0@b.jp"])
def test_an_address_that_is_not_one_address_is_refused(address):
    with pytest.raises(ValueError, match="single e-mail address"):
        queue_message(address, "件名", "本文", template="test")


def test_a_subject_is_always_one_line():
    row = queue_message("a@example.jp", "一行目\r\n二行目\n", "本文", template="test")
    assert row.subject == "一行目 二行目"


# ------------------------------------------------------------------- SMTP down


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/accounts/password-reset/", {"email": "sme@example.co.jp"}),
        (
            "/accounts/signup/",
            {
                "email": "new@example.co.jp",
                "organization": "株式会社新規",
                "display_name": "新規 太郎",
                "password1": "a-long-enough-pass-2026",
                "password2": "a-long-enough-pass-2026",
                "terms": "on",
            },
        ),
    ],
)
def test_smtp_down_the_request_succeeds_and_the_mail_goes_once_smtp_is_back(
    client, sme, settings, path, data
):
    settings.EMAIL_BACKEND = "tests.outbox_backends.DownBackend"
    DownBackend.attempts = 0
    response = client.post(path, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert DownBackend.attempts == 0  # the request never talked to the mail server
    row = OutgoingMail.objects.get()
    assert row.state == MailState.QUEUED

    report = deliver_all()  # the worker, while the server is still down
    assert (report.claimed, report.sent, report.retried) == (1, 0, 1)
    assert DownBackend.attempts == 1
    row.refresh_from_db()
    assert row.state == MailState.QUEUED
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at > timezone.now() + dt.timedelta(seconds=50)

    settings.EMAIL_BACKEND = LOCMEM  # the server is back
    assert deliver_all().claimed == 0  # waiting out its back-off
    deliver_all(now=timezone.now() + retry_delay(1))
    assert [m.to for m in mail.outbox] == [[row.to]]
    deliver_all(now=timezone.now() + dt.timedelta(days=1))
    assert len(mail.outbox) == 1  # once
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (MailState.SENT, 2, "")


def test_back_off_doubles_up_to_its_cap(settings):
    settings.OUTBOX_RETRY_CAP_SECONDS = 3600
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_after_the_last_attempt_a_mail_is_failed_and_operators_retry_or_cancel_it(
    settings, client_for, operator
):
    settings.EMAIL_BACKEND = "tests.outbox_backends.RejectingBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    row = queue_message("bounce@example.jp", "お知らせ", "本文", template="listing_stale")
    now = timezone.now()
    for attempt in (1, 2, 3):
        assert deliver_due(now=now).claimed == 1
        row.refresh_from_db()
        assert row.attempts == attempt
        now = row.next_attempt_at
    assert row.state == MailState.FAILED
    assert "SMTPDataError" in row.last_error
    assert deliver_all(now=now + dt.timedelta(days=30)).claimed == 0  # failed stays failed

    client = client_for(operator)
    page = client.get("/ops/outbox/").content.decode()  # failed is the default tab
    assert "bounce@example.jp" in page
    assert "SMTPDataError" in page
    assert "本文" not in page.split("<main", 1)[1]  # bodies hold links: never shown

    response = client.post(f"/ops/outbox/{row.pk}/retry/")
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.state, row.attempts) == (MailState.QUEUED, 0)
    response = client.post(f"/ops/outbox/{row.pk}/cancel/")
    row.refresh_from_db()
    assert row.state == MailState.CANCELLED
    settings.EMAIL_BACKEND = LOCMEM
    deliver_all(now=timezone.now() + dt.timedelta(days=1))
    assert mail.outbox == []  # a cancelled mail is never sent
    actions = list(
        AuditEvent.objects.filter(target_type="outgoing_mail")
        .order_by("pk")
        .values_list("action", "actor")
    )
    assert actions == [("outbox.retry", operator.pk), ("outbox.cancel", operator.pk)]
    # A sent mail can be neither retried nor cancelled.
    sent = queue_message("ok@example.jp", "件名", "本文", template="test")
    deliver_all()
    client.post(f"/ops/outbox/{sent.pk}/cancel/")
    sent.refresh_from_db()
    assert sent.state == MailState.SENT


def test_one_failing_address_does_not_hold_back_the_rest(settings, recording):
    rows = [queue_message(f"r{i}@example.jp", "件名", "本文", template="test") for i in range(3)]
    settings.EMAIL_BACKEND = "tests.outbox_backends.FailingForBackend"
    FailingForBackend.fail_for = {"r1@example.jp"}
    report = deliver_due()
    assert (report.sent, report.retried) == (2, 1)
    assert [to for to, _ in recording.delivered] == ["r0@example.jp", "r2@example.jp"]
    assert OutgoingMail.objects.get(pk=rows[1].pk).state == MailState.QUEUED


# ------------------------------------------------------------- concurrency


@pytest.mark.django_db(transaction=True)
def test_workers_racing_send_each_mail_exactly_once(settings, recording):
    """Four workers (real threads, each its own database connection) drain one outbox."""
    settings.OUTBOX_BATCH_SIZE = 7
    total, workers = 300, 4
    OutgoingMail.objects.bulk_create(
        OutgoingMail(
            template="test",
            to=f"r{i}@example.jp",
            from_email="noreply@sekispe.example.jp",
            subject="件名",
            body="本文",
            message_id=f"<race-{i}@sekispe.example.jp>",
        )
        for i in range(total)
    )
    start = threading.Barrier(workers)
    claims: list[int] = []

    def work() -> None:
        try:
            start.wait()
            while report := deliver_due():
                if not report.claimed:
                    return
                claims.append(report.claimed)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - began
    sent_ids = [message_id for _, message_id in recording.delivered]
    duplicates = len(sent_ids) - len(set(sent_ids))
    print(
        f"\noutbox race ({connection.vendor}): {total} mails, {workers} workers, "
        f"{len(claims)} claims, {len(sent_ids)} sent, {duplicates} duplicates, {elapsed:.2f} s"
    )
    assert duplicates == 0
    assert len(sent_ids) == total
    assert sum(claims) == total  # no row was claimed by two workers
    assert OutgoingMail.objects.filter(state=MailState.SENT).count() == total


def test_a_claim_holds_its_rows_until_it_times_out(settings):
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 600
    row = queue_message("a@example.jp", "件名", "本文", template="test")
    now = timezone.now()
    token, [claimed] = claim_due(now=now)
    assert claimed.pk == row.pk
    assert claim_due(now=now + dt.timedelta(seconds=599))[1] == []
    token2, [again] = claim_due(now=now + dt.timedelta(seconds=601))
    assert again.pk == row.pk and token2 != token
    assert again.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_before_the_server_took_the_mail_leaves_it_to_be_sent_once(
    tmp_path, settings, recording
):
    row = queue_message("killed@example.jp", "件名", "本文", template="test")
    log = tmp_path / "mail.log"
    worker = start_worker(
        log, "--no-jobs", "--poll", "0.2", backend="tests.outbox_backends.HangBeforeSendingBackend"
    )
    try:
        wait_for(lambda: OutgoingMail.objects.get(pk=row.pk).state == MailState.SENDING)
    finally:
        worker.kill()  # SIGKILL: no clean-up of any kind
        worker.wait()
    assert deliver_all().claimed == 0  # another worker leaves a live-looking claim alone
    later = timezone.now() + dt.timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS + 1)
    deliver_all(now=later)
    row.refresh_from_db()
    assert recording.delivered == [("killed@example.jp", row.message_id)]
    assert delivered_log(log) == []
    assert (row.state, row.attempts) == (MailState.SENT, 2)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_the_server_took_the_mail_is_the_one_duplicate_window(
    tmp_path, settings, recording
):
    """Documented in docs/operations.md: the copy goes out only after the claim
    timeout, and carries the same Message-ID."""
    row = queue_message("window@example.jp", "件名", "本文", template="test")
    log = tmp_path / "mail.log"
    worker = start_worker(
        log, "--no-jobs", "--poll", "0.2", backend="tests.outbox_backends.HangAfterSendingBackend"
    )
    try:
        wait_for(lambda: delivered_log(log) != [])
    finally:
        worker.kill()
        worker.wait()
    assert deliver_all().claimed == 0
    deliver_all(
        now=timezone.now() + dt.timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS + 1)
    )
    row.refresh_from_db()
    assert delivered_log(log) == [("window@example.jp", row.message_id)]
    assert recording.delivered == [("window@example.jp", row.message_id)]
    assert row.state == MailState.SENT


def test_sent_mail_is_purged_after_its_retention(settings):
    from sekispe.outbox.services import purge_sent

    settings.OUTBOX_KEEP_SENT_DAYS = 90
    old = queue_message("old@example.jp", "件名", "本文", template="test")
    new = queue_message("new@example.jp", "件名", "本文", template="test")
    failed = queue_message("failed@example.jp", "件名", "本文", template="test")
    deliver_all()
    OutgoingMail.objects.filter(pk=old.pk).update(sent_at=timezone.now() - dt.timedelta(days=91))
    OutgoingMail.objects.filter(pk=failed.pk).update(state=MailState.FAILED)
    assert purge_sent() == 1
    assert set(OutgoingMail.objects.values_list("pk", flat=True)) == {new.pk, failed.pk}
