"""`sekispe exposure-maintenance`: the exposure ledger's daily tidy-up.

Drops order snapshots older than the order tokens that may still point at them
(exposure.KEEP_BUCKETS) and ledger rows of listings that no longer exist.
Idempotent; safe to run while the site serves searches. Each web process also
flushes its own buffered impressions on its own (size, time, exit).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sekispe.search import exposure


class Command(BaseCommand):
    help = "Prune old exposure snapshots and ledger rows of deleted listings (run daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = exposure.maintenance()
        self.stdout.write(
            f"snapshots deleted: {report['snapshots_deleted']}, "
            f"ledger rows deleted: {report['ledger_rows_deleted']}"
        )
