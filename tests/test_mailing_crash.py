"""A mailing survives its worker being killed mid-send (issue 16, part 3).

A real `sekispe worker` process sends a queued mailing through a slow stand-in
mail server (tests/outbox_backends.SlowBackend: half a second a message, each
logged to a file once the "server" has it) and is killed with SIGKILL after a
few messages went out. A second worker then finishes the job. Every recipient
must be in the log exactly once: nobody got two copies, nobody was skipped.
Runs on SQLite and, with DATABASE_URL pointing at PostgreSQL, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from collections import Counter

import pytest
from django.db import connection

from sekispe.onboarding import services
from sekispe.onboarding.models import MailingKind, Segment
from sekispe.outbox.models import MailState, OutgoingMail
from sekispe.registry.models import RegistryRecord, RegistryStatus
from tests.worker_support import delivered_log, start_worker, wait_for

RECIPIENTS = 12
KILL_AFTER = 4
BACKEND = "tests.outbox_backends.SlowBackend"


def _sent() -> int:
    return OutgoingMail.objects.filter(template="mailing", state=MailState.SENT).count()


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_leaves_no_duplicates_and_no_one_skipped(tmp_path, settings, monkeypatch):
    settings.BULK_MAIL_PER_HOUR = 3_600_000
    # Small claims, and a dead worker's claim is taken over after 2 s (both workers
    # read these from the environment).
    monkeypatch.setenv("OUTBOX_BATCH_SIZE", "5")
    monkeypatch.setenv("OUTBOX_CLAIM_TIMEOUT_SECONDS", "2")
    RegistryRecord.objects.bulk_create(
        RegistryRecord(
            registration_number=f"{500_001 + n}",
            name=f"受信 {n}",
            name_kana="ジュシン",
            registered_on=dt.date(2025, 4, 1),
            expires_on=dt.date(2028, 3, 31),
            home_prefecture_id="13",
            email=f"crash{n:02d}@example.jp",
            status=RegistryStatus.ACTIVE,
        )
        for n in range(RECIPIENTS)
    )
    mailing = services.queue_mailing(
        services.create_mailing(
            kind=MailingKind.NEWS,
            segment=Segment.ACTIVE,
            subject="お知らせ",
            body="本文",
            measure=None,
            actor=None,
        )
    )
    assert mailing.recipient_count == RECIPIENTS
    log = tmp_path / "mail.log"
    began = time.perf_counter()

    first = start_worker(log, "--no-jobs", "--poll", "0.1", backend=BACKEND)
    try:
        # Killed between two messages: the next one is in its half-second pause.
        wait_for(lambda: _sent() >= KILL_AFTER, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)  # no clean-up of any kind
        first.wait()
    connection.close()
    at_kill = len(delivered_log(log))
    in_claim = OutgoingMail.objects.filter(template="mailing", state=MailState.SENDING).count()
    assert KILL_AFTER <= at_kill < RECIPIENTS

    second = start_worker(log, "--no-jobs", "--poll", "0.1", backend=BACKEND)
    try:
        wait_for(lambda: _sent() == RECIPIENTS, timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    connection.close()
    elapsed = time.perf_counter() - began

    delivered = Counter(to for to, _message_id in delivered_log(log))
    expected = set(mailing.recipients.values_list("email", flat=True))
    print(
        f"\nmailing crash-resume ({connection.vendor}): {RECIPIENTS} recipients, worker killed "
        f"after {at_kill} sent with {in_claim} left in its claim; after restart "
        f"{sum(delivered.values())} delivered to {len(delivered)} addresses, "
        f"{sum(n - 1 for n in delivered.values())} duplicates, "
        f"{len(expected - set(delivered))} skipped, {elapsed:.1f} s"
    )
    assert set(delivered) == expected  # nobody skipped
    assert all(n == 1 for n in delivered.values())  # nobody got two copies
    assert services.delivery_counts(mailing)[MailState.SENT] == RECIPIENTS
