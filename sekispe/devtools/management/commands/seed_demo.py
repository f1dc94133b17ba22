"""`sekispe seed-demo --specialists N --seed S [--if-empty] [--accounts]`: deterministic demo data.

The data is anchored on `DEMO_ANCHOR`, not on the run date, so the same N and S
always give the same specialists (see sekispe/devtools/demo/listings.py).

Demo data must never reach a real registry: demo specialists would mix with
real registrants, and `--accounts` creates an operator whose password is
published. So the command refuses, writing nothing:

- under production settings (`SEKISPE_ENVIRONMENT == "production"`), always.
  Production settings do not install this app at all; this is the second lock.
- on a database that holds real data, unless `--allow-real-data` is given.

A database holds real data (`real_data_reason`) when any of these is true:

1. `seed-demo --allow-real-data` was run on it before (audit action
   `devtools.demo_seeded_over_real_data`): once real, always real.
2. `import-registry` or `import-courses` ran on it, even if the file was
   rejected (audit actions `registry.import*`, `courses.import*`).
3. Listings were bulk-written by anything but seed-demo, i.e. `import-listings`
   (audit action `listings.bulk_write` with another actor label).
4. It has registry records, or accounts other than the demo ones, and seed-demo
   never seeded it (no `devtools.demo_seeded` audit event, nor a
   `listings.bulk_write` by seed-demo from before that event existed). Where
   they came from is unknown (a restored dump, the admin, `createsuperuser`),
   so they count as real.

So an empty database may be seeded, and a demo-seeded one may be seeded again;
records or accounts added by hand after a demo seed count as demo data. Every
run that writes records `devtools.demo_seeded` (or, forced over real data,
`devtools.demo_seeded_over_real_data`) in the same transaction as its writes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from sekispe.accounts.models import User
from sekispe.audit.models import AuditEvent
from sekispe.audit.services import record_event
from sekispe.deemed.models import DeemedStatus
from sekispe.devtools.demo.accounts import DEMO_PASSWORD, create_demo_accounts
from sekispe.devtools.demo.deemed import create_demo_deemed
from sekispe.devtools.demo.insights import create_demo_insights
from sekispe.devtools.demo.intake import create_demo_applications
from sekispe.devtools.demo.listings import (
    DEMO_ANCHOR,
    generate_specialists,
    write_demo_specialists,
)
from sekispe.devtools.demo.mailings import create_demo_mailing
from sekispe.devtools.demo.pages import create_demo_notices
from sekispe.devtools.demo.registrant_requests import create_demo_requests
from sekispe.insights.refresh import refresh_insights
from sekispe.listings.models import Availability, Listing
from sekispe.registry.models import RegistryRecord, RegistryStatus

ACTOR_LABEL = "seed-demo"
DEMO_MARKER = "devtools.demo_seeded"
OVER_REAL_DATA_MARKER = "devtools.demo_seeded_over_real_data"
# The audit actions of import-registry and import-courses, accepted or rejected.
IMPORT_ACTION_PREFIXES = ("registry.import", "courses.import")
BULK_WRITE_ACTION = "listings.bulk_write"  # listings.services.write_listings
DEMO_EMAIL_DOMAIN = "@demo.sekispe.example"


def real_data_reason() -> str | None:
    """Why the database counts as holding real data, or None; see the module docstring."""
    events = AuditEvent.objects.all()
    if events.filter(action=OVER_REAL_DATA_MARKER).exists():
        return "以前 --allow-real-data を指定してデモデータを投入しています"
    imports = Q()
    for prefix in IMPORT_ACTION_PREFIXES:
        imports |= Q(action__startswith=prefix)
    if events.filter(imports).exists():
        return "import-registry または import-courses の実行記録があります"
    if events.filter(action=BULK_WRITE_ACTION).exclude(actor_label=ACTOR_LABEL).exists():
        return "seed-demo 以外による掲載情報の一括書き込み（import-listings など）の記録があります"
    seeded = (
        events.filter(action=DEMO_MARKER).exists()
        or events.filter(action=BULK_WRITE_ACTION, actor_label=ACTOR_LABEL).exists()
    )
    if seeded:
        return None
    if RegistryRecord.objects.exists():
        return "seed-demo が投入したことのないデータベースに登録情報があります"
    if User.objects.exclude(email__iendswith=DEMO_EMAIL_DOMAIN).exists():
        return "seed-demo が投入したことのないデータベースにデモ用以外のアカウントがあります"
    return None


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--anchor: 日付は YYYY-MM-DD で指定してください（{value}）") from exc


class Command(BaseCommand):
    help = (
        "デモ用の登録セキスペと掲載情報を生成して書き込みます。"
        "人数とシードが同じなら、いつ実行しても同じデータになります。"
        "本番環境の設定では実行できません。実データのあるデータベースには、"
        "--allow-real-data を指定しない限り何も書き込みません。"
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
        parser.add_argument(
            "--allow-real-data",
            action="store_true",
            help=(
                "実データのあるデータベースにも書き込みます。実データがあるとは、"
                "import-registry・import-courses の実行記録、seed-demo 以外による掲載情報の"
                "一括書き込み（import-listings）の記録、以前の --allow-real-data での投入の"
                "いずれかがあるか、seed-demo が投入したことのないデータベースに登録情報か"
                "デモ用以外のアカウントがあることです。一度指定したデータベースは、以後も"
                "実データありとして扱います。本番環境の設定では指定しても実行しません。"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n: int = options["specialists"]
        seed: int = options["seed"]
        anchor: dt.date = options["anchor"]
        if n < 1:
            raise CommandError("--specialists は1以上を指定してください。")
        if settings.SEKISPE_ENVIRONMENT == "production":
            raise CommandError(
                "本番環境の設定（SEKISPE_ENVIRONMENT=production）ではデモデータを投入できません。"
                "--allow-real-data を指定しても同じです。何も書き込んでいません。"
            )
        # One transaction: the check and the writes see the same database, and a
        # failed seed leaves nothing behind, the marker included.
        with transaction.atomic():
            reason = real_data_reason()
            if reason and not options["allow_real_data"]:
                raise CommandError(
                    f"このデータベースには実データがあるため、何も書き込んでいません（{reason}）。"
                    "デモの登録セキスペが実在の登録者に混ざり、デモ用アカウントのパスワードは"
                    "公開されています。空のデータベース（DATABASE_URL）で実行してください。"
                    "それでも書き込む場合は --allow-real-data を指定してください。"
                )
            self._seed(options, reason, n=n, seed=seed, anchor=anchor)

    def _seed(
        self, options: dict[str, Any], reason: str | None, *, n: int, seed: int, anchor: dt.date
    ) -> None:
        if options["if_empty"] and Listing.objects.exists():
            self.stdout.write(
                "掲載情報が既にあるため、デモデータは投入しませんでした（--if-empty）。"
            )
            if options["accounts"]:
                # A database that passed the check already carries a demo marker;
                # only a forced run over real data must be recorded.
                if reason:
                    self._mark(reason, {"accounts": True})
                self._accounts()
            return

        self._mark(
            reason,
            {
                "specialists": n,
                "seed": seed,
                "anchor": anchor.isoformat(),
                "accounts": options["accounts"],
            },
        )
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
        notices = create_demo_notices(anchor)
        if notices:
            self.stdout.write(f"  お知らせ {notices} 件")
        requests = create_demo_requests(seed, anchor)
        if requests:
            self.stdout.write(
                f"  申請・届出 {sum(requests.values())} 件（うち審査中 {requests['submitted']} 件）"
            )
        applications = create_demo_applications()
        if applications:
            self.stdout.write(
                f"  登録申請 {sum(applications.values())} 件（うち審査中 {applications.get('submitted', 0)} 件）"
            )
        mailed = create_demo_mailing()
        if mailed:
            self.stdout.write(f"  過去の一斉メール 1 件（{mailed} 人）")
        if options["accounts"]:
            self._accounts()
            # Applications need specialist accounts, so they come with the accounts.
            deemed = create_demo_deemed(seed)
            if deemed:
                self.stdout.write(
                    f"  みなし受講の申請 {deemed.total()} 件（"
                    + "、".join(f"{DeemedStatus(s).label} {n}" for s, n in sorted(deemed.items()))
                    + "）"
                )
        create_demo_insights(seed, n, accounts=options["accounts"], write=self.stdout.write)
        # The policy pages read summary tables that the worker refreshes at night;
        # a fresh demo should not wait for that.
        refresh = refresh_insights()
        self.stdout.write(f"  政策向けの集計 {refresh.cells:,} セル")

    def _mark(self, reason: str | None, data: dict[str, Any]) -> None:
        if reason:
            self.stderr.write(f"実データのあるデータベースに書き込みます（{reason}）。")
        record_event(
            OVER_REAL_DATA_MARKER if reason else DEMO_MARKER,
            actor_label=ACTOR_LABEL,
            data={**data, **({"real_data": reason} if reason else {})},
        )

    def _accounts(self) -> None:
        self.stdout.write(f"デモ用アカウント（パスワードはすべて {DEMO_PASSWORD}）:")
        for account in create_demo_accounts():
            self.stdout.write(f"  {account.email}  {account.note}")
