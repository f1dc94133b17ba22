"""`sekispe expire-registrations [--today YYYY-MM-DD]`: the daily expiry.

Marks as expired every active registrant whose registration ran out before
today (after any disaster extension). Idempotent: a second run finds nobody.
Registrants whose renewal application awaits a decision stay active and are
listed so an operator can decide on it.

The work is committed in batches (`--batch-size`, default the service's
EXPIRY_BATCH_SIZE), so a run neither blocks listing saves for its whole
length nor loses everything when interrupted; overlapping runs share the
work and expire each registrant once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from sekispe.core.commandline import parse_today
from sekispe.registry.models import RegistryRecord
from sekispe.registry.services import run_daily_expiry

ACTOR_LABEL = "expire-registrations"
SHOWN = 100


class Command(BaseCommand):
    help = (
        "有効期限（災害特例による延長を含む）を過ぎても更新されなかった登録を失効にします。"
        "更新申請の審査中の登録者は失効させず、一覧に表示します。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="基準日（YYYY-MM-DD、既定は今日）")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=0,
            help="1回のトランザクションで処理する件数（既定はサービスの既定値）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = parse_today(options["today"]) or timezone.localdate()
        if options["batch_size"] < 0:
            raise CommandError("--batch-size は0以上の整数で指定してください。")
        result = run_daily_expiry(
            today, actor_label=ACTOR_LABEL, batch_size=options["batch_size"] or None
        )
        self.stdout.write(
            f"{today.isoformat()}: 失効 {len(result.expired)} 件、"
            f"更新申請の審査待ちのため保留 {len(result.awaiting_decision)} 件"
        )
        if result.expired:
            shown = result.expired[:SHOWN]
            rest = len(result.expired) - len(shown)
            more = f" ほか {rest} 件（監査ログに全件）" if rest else ""
            self.stdout.write("失効にした登録番号: " + "、".join(shown) + more)
        if result.awaiting_decision:
            names = dict(
                RegistryRecord.objects.filter(
                    registration_number__in=result.awaiting_decision
                ).values_list("registration_number", "name")
            )
            self.stdout.write(
                self.style.WARNING(
                    "有効期限を過ぎていますが、更新申請の審査中のため登録中のままです。"
                    "審査を進めてください:"
                )
            )
            for number in result.awaiting_decision:
                self.stdout.write(f"  {number} {names.get(number, '')}")
