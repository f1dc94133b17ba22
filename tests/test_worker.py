"""`sekispe worker`: the schedule, once a day across workers, catch-up, back-off
after a failure, and a real process that stops cleanly on SIGTERM."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import get_commands
from django.db import connection
from django.utils import timezone

from sekispe.outbox.models import MailState, OutgoingMail
from sekispe.outbox.services import queue_message
from sekispe.worker.models import JobOutcome, JobRun
from sekispe.worker.schedule import JOBS, Job, latest_slot
from sekispe.worker.services import JOB_RETRY_FIRST, run_due_jobs
from tests.worker_support import PROJECT_DIR, delivered_log, start_worker, wait_for, worker_env

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=JST)


class Counter:
    def __init__(self, fail: bool = False) -> None:
        self.runs: list[dt.date] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, today: dt.date) -> dict:
        with self.lock:
            self.runs.append(today)
        if self.fail:
            raise RuntimeError("the job broke")
        return {"done": len(self.runs)}


def job(counter: Counter, at_time: dt.time = dt.time(0, 5)) -> Job:
    return Job("test-job", at_time, counter, "テスト")


# ------------------------------------------------------------------ schedule


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (at(4, 0, 4), dt.date(2026, 12, 3)),  # before today's time: yesterday's run
        (at(4, 0, 5), dt.date(2026, 12, 4)),
        (at(4, 23, 59), dt.date(2026, 12, 4)),
        (dt.datetime(2026, 12, 3, 15, 10, tzinfo=dt.UTC), dt.date(2026, 12, 4)),  # 00:10 JST
    ],
)
def test_the_latest_slot_is_in_japan_time(now, slot):
    assert latest_slot(job(Counter()), now) == slot


def test_every_daily_job_is_scheduled_and_keeps_its_manual_command():
    names = [j.name for j in JOBS]
    assert names == [
        "expire-registrations",
        "listings-maintenance",
        "search-snapshot",
        "expire-inquiries",
        "exposure-maintenance",
        "refresh-insights",
        "outbox-maintenance",
        "send-reminders",
    ]
    commands = get_commands()
    for name in names[:6] + names[7:]:
        assert name.replace("-", "_") in commands, name


def test_every_real_job_runs_and_records_its_outcome():
    report = run_due_jobs()
    assert report.failed == []
    assert report.ran == [j.name for j in JOBS]
    runs = {run.name: run for run in JobRun.objects.all()}
    for j in JOBS:
        run = runs[j.name]
        assert run.last_outcome == JobOutcome.OK, (j.name, run.last_error)
        assert run.last_started_at <= run.last_finished_at == run.last_success_at
        assert run.lease_owner == ""
        assert isinstance(run.last_summary, dict)
    assert runs["send-reminders"].last_summary["due"] == 0


# ------------------------------------------------------------- once a day


@pytest.mark.django_db(transaction=True)
def test_a_job_runs_once_a_day_across_two_workers():
    counter = Counter()
    start = threading.Barrier(2)

    def worker(owner: str) -> None:
        try:
            start.wait()
            run_due_jobs(now=at(4, 1), owner=owner, jobs=[job(counter)])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(f"host-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(counter.runs) == 1
    # Later the same day, on either host: nothing.
    run_due_jobs(now=at(4, 23), owner="host-1", jobs=[job(counter)])
    run_due_jobs(now=at(4, 23), owner="host-2", jobs=[job(counter)])
    assert len(counter.runs) == 1
    # The next day's slot: once more.
    run_due_jobs(now=at(5, 0, 6), owner="host-2", jobs=[job(counter)])
    run_due_jobs(now=at(5, 0, 7), owner="host-1", jobs=[job(counter)])
    assert len(counter.runs) == 2
    assert JobRun.objects.get(name="test-job").last_slot == dt.date(2026, 12, 5)


def test_a_missed_stretch_of_days_is_caught_up_once():
    counter = Counter()
    run_due_jobs(now=at(1, 1), jobs=[job(counter)])
    # The worker was down for three days.
    run_due_jobs(now=at(4, 1), jobs=[job(counter)])
    run_due_jobs(now=at(4, 2), jobs=[job(counter)])
    assert len(counter.runs) == 2
    assert JobRun.objects.get(name="test-job").last_slot == dt.date(2026, 12, 4)


def test_a_job_is_not_run_before_its_time_of_day():
    counter = Counter()
    morning = job(counter, dt.time(9, 0))
    run_due_jobs(now=at(4, 9), jobs=[morning])
    run_due_jobs(now=at(5, 8, 59), jobs=[morning])  # the 4th's run is done; the 5th's not yet
    assert len(counter.runs) == 1
    run_due_jobs(now=at(5, 9), jobs=[morning])
    assert len(counter.runs) == 2


# The back-off is counted from the real clock; held at the test's day, so the
# retries stay inside 2026-12-04 whenever the suite runs.
@time_machine.travel(
    dt.datetime(2026, 12, 4, 1, tzinfo=dt.timezone(dt.timedelta(hours=9))), tick=False
)
def test_a_failed_job_is_recorded_and_retried_after_a_back_off():
    counter = Counter(fail=True)
    report = run_due_jobs(now=at(4, 1), jobs=[job(counter)])
    assert report.failed == ["test-job"]
    run = JobRun.objects.get(name="test-job")
    assert run.last_outcome == JobOutcome.ERROR
    assert "RuntimeError: the job broke" in run.last_error
    assert run.failures == 1
    assert run.last_slot is None and run.last_success_at is None
    # Not again at once, in a tight loop…
    run_due_jobs(now=at(4, 1, 1), jobs=[job(counter)])
    assert len(counter.runs) == 1
    # …but after the back-off, and it doubles after each failure.
    retry_at = run.lease_until + dt.timedelta(seconds=1)
    run_due_jobs(now=retry_at, jobs=[job(counter)])
    assert len(counter.runs) == 2
    run.refresh_from_db()
    assert run.failures == 2
    counter.fail = False
    run_due_jobs(now=run.lease_until + dt.timedelta(seconds=1), jobs=[job(counter)])
    run.refresh_from_db()
    assert (run.last_outcome, run.failures, run.last_error) == (JobOutcome.OK, 0, "")
    assert run.last_slot == dt.date(2026, 12, 4)


def test_a_dead_workers_lease_expires_and_the_job_runs_again():
    counter = Counter()
    run_due_jobs(now=at(4, 1), jobs=[job(counter)])
    # A worker took tomorrow's lease and died.
    JobRun.objects.filter(name="test-job").update(
        lease_owner="dead:1", lease_until=at(5, 3), last_outcome=JobOutcome.RUNNING
    )
    run_due_jobs(now=at(5, 1), jobs=[job(counter)])
    assert len(counter.runs) == 1
    run_due_jobs(now=at(5, 3, 1), jobs=[job(counter)])
    assert len(counter.runs) == 2


def test_the_first_retry_waits_the_documented_back_off():
    counter = Counter(fail=True)
    run_due_jobs(now=at(4, 1), jobs=[job(counter)])
    run = JobRun.objects.get(name="test-job")
    assert run.lease_until - run.last_finished_at == pytest.approx(
        JOB_RETRY_FIRST, abs=dt.timedelta(seconds=5)
    )


# ---------------------------------------------------------- a real process


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_runs_the_jobs_and_stops_on_sigterm(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "sekispe.cli", "worker", "--poll", "0.2"],
        env=worker_env(tmp_path / "mail.log"),
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    connection.close()
    try:
        wait_for(
            lambda: JobRun.objects.filter(last_outcome=JobOutcome.OK).count() == len(JOBS),
            timeout=90,
        )
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "SIGTERM" in output or "Terminated" in output
    assert "worker stopped" in output
    assert JobRun.objects.filter(lease_owner="").count() == len(JOBS)


@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_mail_in_hand_and_hands_the_rest_back(tmp_path):
    rows = [queue_message(f"s{i}@example.jp", "件名", "本文", template="test") for i in range(6)]
    log = tmp_path / "mail.log"
    worker = start_worker(
        log, "--no-jobs", "--poll", "0.2", backend="tests.outbox_backends.SlowBackend"
    )
    try:
        wait_for(lambda: delivered_log(log) != [])
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    sent = delivered_log(log)
    states = dict(OutgoingMail.objects.values_list("pk", "state"))
    assert 1 <= len(sent) < len(rows)
    assert sorted(states.values()).count(MailState.SENT) == len(sent)
    assert MailState.SENDING not in states.values()  # nothing left waiting for a claim timeout
    back = OutgoingMail.objects.filter(state=MailState.QUEUED)
    assert back.count() == len(rows) - len(sent)
    assert set(back.values_list("attempts", flat=True)) == {0}
    assert back.first().next_attempt_at <= timezone.now()  # the next worker sends them at once
