"""`sekispe search-snapshot`: build today's search snapshot file now.

The worker runs this daily just after midnight (job `search-snapshot`), so the
web processes map a ready file instead of building one. Safe while the site
serves: the file is written under a new name and renamed into place, and a
process keeps the file it maps until it moves to a newer one.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from sekispe.core.commandline import parse_today
from sekispe.search.index import refresh_snapshot


class Command(BaseCommand):
    help = "Build today's search snapshot (docs/search.md) and prune the change log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="build for this date (YYYY-MM-DD)")
        # A web process that builds through this command holds the lock itself.
        parser.add_argument("--no-lock", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--no-prune", action="store_true", help="keep the change log as is")
        parser.add_argument("--dir", help="the snapshot folder (default: SEARCH_SNAPSHOT_DIR)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dir"]:
            settings.SEARCH_SNAPSHOT_DIR = options["dir"]
        report = refresh_snapshot(
            parse_today(options["today"]) or timezone.localdate(),
            lock=not options["no_lock"],
            prune=not options["no_prune"],
        )
        self.stdout.write(
            f"{report.path}: {report.visible:,} listings visible ({report.rows:,} rows), "
            f"change {report.generation}, {report.bytes / 1e6:,.1f} MB in {report.seconds:.2f} s; "
            f"{report.changes_deleted:,} old change-log rows deleted"
        )
