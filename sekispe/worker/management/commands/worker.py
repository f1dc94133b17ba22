"""`sekispe worker`: the one background process. Sends the mail outbox and runs
the daily jobs on their schedule (sekispe/worker/schedule.py) until SIGTERM.

Run one per host (two hosts may each run one: the outbox claims and the job
leases keep every mail and every day's job to one worker). `--once` does one
pass of each and exits, for a manual run or a test.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sekispe.onboarding.services import run_pending_invitations
from sekispe.outbox.services import deliver_all
from sekispe.worker.schedule import JOBS
from sekispe.worker.services import Worker, run_due_jobs

logger = logging.getLogger("sekispe.worker")


class Command(BaseCommand):
    help = "Send queued e-mail and run the daily jobs until stopped (SIGTERM or Ctrl-C)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One pass of each loop, then exit.")
        parser.add_argument("--no-mail", action="store_true", help="Do not send the outbox.")
        parser.add_argument("--no-jobs", action="store_true", help="Do not run the daily jobs.")
        parser.add_argument("--poll", type=float, default=None, help="Seconds between looks.")

    def handle(self, *args: Any, **options: Any) -> None:
        mail, jobs = not options["no_mail"], not options["no_jobs"]
        if options["once"]:
            # Jobs first: the mail they queue goes out in the same pass.
            if jobs:
                ran = run_due_jobs()
                self.stdout.write(f"jobs: ran {ran.ran or '-'}, failed {ran.failed or '-'}")
                self.stdout.write(f"bulk invitations: {run_pending_invitations()} run(s)")
            if mail:
                report = deliver_all()
                self.stdout.write(
                    f"mail: sent {report.sent}, retry later {report.retried}, failed {report.failed}"
                )
            return
        worker = Worker(mail=mail, jobs=jobs, poll=options["poll"])

        def stop(signum: int, frame: Any) -> None:
            logger.info("worker: %s received, finishing the item in hand", signal.strsignal(signum))
            worker.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info(
            "worker started (mail=%s, jobs=%s: %s)", mail, jobs, ", ".join(j.name for j in JOBS)
        )
        worker.run()
        logger.info("worker stopped")
