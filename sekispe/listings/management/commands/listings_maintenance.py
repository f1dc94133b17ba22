"""`sekispe listings-maintenance [--today YYYY-MM-DD]`: the daily listing job.

Run it once a day (cron or a systemd timer). It is idempotent: running it
twice, or after a crash, sends no e-mail twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sekispe.core import ratelimit
from sekispe.listings.maintenance import run_listing_maintenance


class Command(BaseCommand):
    help = (
        "掲載情報の日次処理：受付再開日を迎えた受付状況を戻し、"
        "180日更新のない掲載（要更新）と1年更新のない掲載（非表示）の登録セキスペにメールで知らせます。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="基準日（YYYY-MM-DD、既定は今日）")

    def handle(self, *args: Any, **options: Any) -> None:
        today = None
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError as exc:
                raise CommandError("--today: 日付は YYYY-MM-DD で指定してください") from exc
        report = run_listing_maintenance(today)
        # This is the one daily job operators schedule, so it also drops old
        # rate-limit counters (one row per address or account that ever counted).
        purged = ratelimit.purge_expired()
        self.stdout.write(
            f"受付状況の切り替え {report.availability_flipped} 件、"
            f"要更新の通知 {report.stale_notified} 件、"
            f"非表示の通知 {report.hidden_notified} 件、"
            f"期限切れのアクセス制限カウンタの削除 {purged} 件"
        )
