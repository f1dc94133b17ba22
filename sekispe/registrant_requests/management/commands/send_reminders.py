"""`sekispe send-reminders [--today YYYY-MM-DD] [--dry-run] [--no-progress]`: the daily reminders.

Run it once a day. Each reminder is sent at most once, even if the command
runs twice or dies halfway; see `sekispe.registrant_requests.reminders`.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from sekispe.core.commandline import parse_today
from sekispe.registrant_requests.reminders import send_reminders


class Command(BaseCommand):
    help = (
        "更新申請期限の30日前・15日前と、今年度の共通講習が未受講の登録セキスペに"
        "リマインダーメールを送ります。同じリマインダーを二度送ることはありません。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="基準日（YYYY-MM-DD、既定は今日）")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="送るべきリマインダーを数えるだけで、メールを送らず、データベースにも書き込みません。",
        )
        parser.add_argument("--no-progress", action="store_true", help="進捗バーを表示しません。")

    def handle(self, *args: Any, **options: Any) -> None:
        today = parse_today(options["today"])
        disable = True if options["no_progress"] else None
        # tqdm decides on its own not to draw when stderr is not a terminal (disable=None).
        with (
            # Only registrants who may have a reminder today are looked at, so no total.
            tqdm(desc="対象の確認", unit="件", file=sys.stderr, disable=disable) as bar,
            tqdm(desc="送信", unit="通", file=sys.stderr, disable=disable) as sending,
        ):
            report = send_reminders(
                today,
                dry_run=options["dry_run"],
                progress=bar.update,
                sending_progress=sending.update,
            )

        if options["dry_run"]:
            self.stdout.write(
                f"[確認のみ] 本日送るべきリマインダー {report.due} 件"
                f"（新規 {report.planned} 件、送信済み {report.already_sent} 件）。"
                "メールは送らず、データベースにも書き込んでいません。"
            )
        else:
            summary = (
                f"本日のリマインダー {report.due} 件：新規登録 {report.planned} 件、"
                f"送信 {report.sent} 件、失敗 {report.failed} 件、"
                f"送信済みのため省略 {report.already_sent} 件"
            )
            style = self.style.WARNING if report.failed else self.style.SUCCESS
            self.stdout.write(style(summary))
            for error in report.errors:
                self.stdout.write(f"  失敗（次回の実行で再送します）: {error}")
        if report.stuck:
            self.stdout.write(
                self.style.WARNING(
                    f"送信中のまま残っているリマインダー {len(report.stuck)} 件"
                    "（前回の実行が送信の確認前に停止しました。送信されたかどうかを確認してください。"
                    "自動では再送しません）:"
                )
            )
            for row in report.stuck:
                self.stdout.write(
                    f"  {row.record.registration_number} {row.record.name} "
                    f"{row.get_kind_display()} {row.key} {row.email}"
                )
        else:
            self.stdout.write("送信中のまま残っているリマインダー 0 件")
