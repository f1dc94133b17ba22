"""`sekispe seed-demo --specialists N --seed S [--if-empty]`: deterministic demo data.

The data is anchored on `DEMO_ANCHOR`, not on the run date, so the same N and S
always give the same specialists (see sekispe/devtools/demo/listings.py).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sekispe.devtools.demo.accounts import DEMO_PASSWORD, create_demo_accounts
from sekispe.devtools.demo.listings import DEMO_ANCHOR, generate_specialists, write_demo_specialists
from sekispe.devtools.demo.registrant_requests import create_demo_requests
from sekispe.listings.models import Availability, Listing
from sekispe.registry.models import RegistryStatus

ACTOR_LABEL = "seed-demo"


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--anchor: 日付は YYYY-MM-DD で指定してください（{value}）") from exc


class Command(BaseCommand):
    help = (
        "デモ用の登録セキスペと掲載情報を生成して書き込みます。"
        "人数とシードが同じなら、いつ実行しても同じデータになります。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--specialists", type=int, default=3000, help="人数（既定 3000）")
        parser.add_argument("--seed", type=int, default=1, help="乱数のシード（既定 1）")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="掲載情報が1件でもあれば何もしません（make run 用）。",
        )
        parser.add_argument(
            "--anchor",
            type=_date,
            default=DEMO_ANCHOR,
            help=f"データの基準日（既定 {DEMO_ANCHOR.isoformat()}）。登録期間や更新日時はこの日から決まります。",
        )
        parser.add_argument("--no-progress", action="store_true", help="進捗バーを表示しません。")
        parser.add_argument(
            "--accounts",
            action="store_true",
            help="役割ごとのデモ用アカウントも作成し、いくつかの掲載を審査待ちにします（make run 用）。",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n: int = options["specialists"]
        seed: int = options["seed"]
        anchor: dt.date = options["anchor"]
        if n < 1:
            raise CommandError("--specialists は1以上を指定してください。")
        if options["if_empty"] and Listing.objects.exists():
            self.stdout.write(
                "掲載情報が既にあるため、デモデータは投入しませんでした（--if-empty）。"
            )
            if options["accounts"]:
                self._accounts()
            return

        started = time.perf_counter()
        items = generate_specialists(n, seed, anchor)
        quiet = options["no_progress"] or options["verbosity"] == 0
        counts = write_demo_specialists(
            items,
            actor_label=ACTOR_LABEL,
            source={"specialists": n, "seed": seed, "anchor": anchor.isoformat()},
            progress=not quiet,
        )
        elapsed = time.perf_counter() - started

        statuses = Counter(item.status for item in items)
        not_accepting = sum(1 for item in items if item.availability == Availability.NOT_ACCEPTING)
        resuming = sum(
            1
            for item in items
            if item.availability == Availability.NOT_ACCEPTING and item.availability_until
        )
        hidden = statuses[RegistryStatus.EXPIRED] + statuses[RegistryStatus.DEREGISTERED]
        self.stdout.write(
            self.style.SUCCESS(
                f"デモデータを投入しました: 追加 {counts.inserted} 件、更新 {counts.updated} 件、"
                f"変更なし {counts.unchanged} 件（{n} 人、シード {seed}、基準日 {anchor.isoformat()}、"
                f"{elapsed:.1f} 秒）"
            )
        )
        self.stdout.write(
            f"  受付停止中 {not_accepting} 件（うち期限付き {resuming} 件）、"
            f"失効 {statuses[RegistryStatus.EXPIRED]} 件・登録抹消 "
            f"{statuses[RegistryStatus.DEREGISTERED]} 件（計 {hidden} 件は検索に表示されません）"
        )
        requests = create_demo_requests(seed, anchor)
        if requests:
            self.stdout.write(
                f"  申請・届出 {sum(requests.values())} 件（うち審査中 {requests['submitted']} 件）"
            )
        if options["accounts"]:
            self._accounts()

    def _accounts(self) -> None:
        self.stdout.write(f"デモ用アカウント（パスワードはすべて {DEMO_PASSWORD}）:")
        for account in create_demo_accounts():
            self.stdout.write(f"  {account.email}  {account.note}")
