"""The worker: send the outbox continuously, run each daily job once a day.

`sekispe worker` runs two loops in one process, each on its own thread and
database connection, so a long job never holds up the mail:

- mail: claim and send due outbox rows (`outbox.services.deliver_due`);
- jobs: take the lease of each job whose day has come and run it
  (`run_due_jobs`), then any bulk invitation or mailing an operator queued
  (`onboarding.services.run_pending_invitations`, `run_pending_mailings`).

Both follow the same shape: claim, work, record, sleep. SIGTERM sets a stop
event; each loop finishes the item in hand (a job, or the mail being sent,
handing the rest of its claim back) and the process exits.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from sekispe.onboarding.services import run_pending_invitations, run_pending_mailings
from sekispe.outbox.services import deliver_due
from sekispe.worker.models import JobOutcome, JobRun
from sekispe.worker.schedule import JOBS, Job, latest_slot

logger = logging.getLogger(__name__)

# Longer than any job takes; a worker that dies mid-job frees it after this.
JOB_LEASE = dt.timedelta(hours=2)
# A failed job is tried again after 5 min, 10, 20, … at most an hour.
JOB_RETRY_FIRST = dt.timedelta(minutes=5)
JOB_RETRY_CAP = dt.timedelta(hours=1)
# Readiness calls a job overdue when its last success is older than this.
JOB_OVERDUE_AFTER = dt.timedelta(hours=26)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def ensure_job_rows(jobs: Iterable[Job] = JOBS) -> None:
    # ignore_conflicts: two workers starting at once both try to create them.
    JobRun.objects.bulk_create([JobRun(name=job.name) for job in jobs], ignore_conflicts=True)


def claim_job(job: Job, *, now: dt.datetime, owner: str) -> dt.date | None:
    """Take the job's lease for its latest slot; the slot, or None when not due or taken."""
    slot = latest_slot(job, now)
    taken = (
        JobRun.objects.filter(name=job.name)
        .filter(Q(last_slot__isnull=True) | Q(last_slot__lt=slot))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(
            lease_owner=owner,
            lease_until=now + JOB_LEASE,
            last_started_at=now,
            last_outcome=JobOutcome.RUNNING,
        )
    )
    return slot if taken == 1 else None


def _retry_delay(failures: int) -> dt.timedelta:
    return min(JOB_RETRY_FIRST * 2 ** max(0, failures - 1), JOB_RETRY_CAP)


@dataclass
class JobsReport:
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def run_job(job: Job, slot: dt.date, *, owner: str) -> bool:
    """Run a job whose lease `owner` holds and record the outcome; True on success."""
    mine = JobRun.objects.filter(name=job.name, lease_owner=owner)
    try:
        summary = job.run(timezone.localdate())
    except Exception as exc:  # recorded, retried after a back-off
        logger.exception("job %s failed", job.name)
        now = timezone.now()
        run = JobRun.objects.get(name=job.name)
        failures = run.failures + 1
        mine.update(
            lease_owner="",
            # The lease doubles as the back-off: nobody retries before it ends.
            lease_until=now + _retry_delay(failures),
            last_finished_at=now,
            last_outcome=JobOutcome.ERROR,
            last_error="".join(traceback.format_exception_only(exc)).strip()[:2000],
            failures=failures,
        )
        return False
    now = timezone.now()
    mine.update(
        lease_owner="",
        lease_until=None,
        last_slot=slot,
        last_finished_at=now,
        last_success_at=now,
        last_outcome=JobOutcome.OK,
        last_error="",
        last_summary=summary,
        failures=0,
    )
    logger.info("job %s done: %s", job.name, summary)
    return True


def run_due_jobs(
    *,
    now: dt.datetime | None = None,
    owner: str | None = None,
    jobs: Iterable[Job] = JOBS,
    should_stop: Callable[[], bool] = lambda: False,
) -> JobsReport:
    """Run every job whose day has come and that no other worker has; in schedule order."""
    owner = owner or worker_identity()
    jobs = tuple(jobs)
    ensure_job_rows(jobs)
    report = JobsReport()
    for job in jobs:
        if should_stop():
            break
        slot = claim_job(job, now=now or timezone.now(), owner=owner)
        if slot is None:
            continue
        logger.info("job %s started for %s", job.name, slot.isoformat())
        (report.ran if run_job(job, slot, owner=owner) else report.failed).append(job.name)
    return report


# ------------------------------------------------------------------ the loops


class Worker:
    """The `sekispe worker` process: a mail loop and a jobs loop until `stop` is set."""

    def __init__(
        self,
        *,
        mail: bool = True,
        jobs: bool = True,
        poll: float | None = None,
        schedule: Iterable[Job] = JOBS,
    ):
        self.stop = threading.Event()
        self.schedule = tuple(schedule)
        self.poll = settings.WORKER_POLL_SECONDS if poll is None else poll
        self.loops: list[tuple[str, Callable[[], bool]]] = []
        if mail:
            self.loops.append(("mail", self._mail_once))
        if jobs:
            self.loops.append(("jobs", self._jobs_once))

    def _mail_once(self) -> bool:
        report = deliver_due(should_stop=self.stop.is_set)
        # A full batch means more may be waiting: go again without sleeping.
        return report.claimed >= settings.OUTBOX_BATCH_SIZE and not report.retried

    def _jobs_once(self) -> bool:
        run_due_jobs(jobs=self.schedule, should_stop=self.stop.is_set)
        # Operators' bulk work started from a page waits here, not in a web process.
        run_pending_invitations(should_stop=self.stop.is_set)
        run_pending_mailings(should_stop=self.stop.is_set)
        return False

    def _loop(self, name: str, once: Callable[[], bool]) -> None:
        logger.info("worker %s loop started", name)
        try:
            while not self.stop.is_set():
                close_old_connections()  # drop a connection the database closed meanwhile
                try:
                    more = once()
                except Exception:  # the loop outlives a failing database or mail server
                    logger.exception("worker %s loop failed; retrying", name)
                    more = False
                if not more:
                    self.stop.wait(self.poll)
        finally:
            connection.close()
            logger.info("worker %s loop stopped", name)

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._loop, args=loop, name=f"worker-{loop[0]}")
            for loop in self.loops
        ]
        for thread in threads:
            thread.start()
        # Joined with a timeout so the main thread stays free to take signals.
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.5)
