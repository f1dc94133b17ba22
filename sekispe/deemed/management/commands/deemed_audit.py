"""`sekispe deemed-audit --rate 0.10 [--seed N] [--dry-run] [--no-progress]`
and `sekispe deemed-audit --verify DRAW_ID`: the deemed-attendance sample audit.

A draw takes approved or pending applications never drawn before, samples
round(rate × n) of them with `random.Random(seed)`, records the seed, the
population and the sample (`AuditDraw`), marks the drawn ones under audit and
mails each applicant a request for evidence (through the outbox, in the same
transaction). Without `--seed` a seed is made with `secrets.randbits(32)`;
it is printed either way, so the draw can be re-run and checked.
"""

from __future__ import annotations

import secrets
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from sekispe.deemed import services
from sekispe.deemed.models import AuditDraw, DeemedApplication

ACTOR_LABEL = "sekispe deemed-audit"


def parse_rate(value: str) -> Decimal:
    try:
        rate = Decimal(value)
    except InvalidOperation as exc:
        raise CommandError("--rate: 0より大きく1以下の小数で指定してください（例 0.10）") from exc
    if not Decimal("0") < rate <= Decimal("1"):
        raise CommandError("--rate: 0より大きく1以下の小数で指定してください（例 0.10）")
    return rate


class Command(BaseCommand):
    help = (
        "みなし受講のサンプル調査の抽出：承認済みまたは審査待ちで未抽出の申請から、"
        "乱数の種を使って再現可能に抽出し、記録して、申請者に資料の提出を依頼します。"
        "--verify で記録済みの抽出を再現して検証します。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rate", help="抽出率（0より大きく1以下、例 0.10）")
        parser.add_argument(
            "--seed",
            type=int,
            help="乱数の種（0以上の整数）。省略すると無作為に生成して表示します。",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="抽出される申請を表示するだけで、記録も通知もしません（同じ乱数）。",
        )
        parser.add_argument(
            "--verify",
            type=int,
            metavar="DRAW_ID",
            help="記録済みの抽出を、記録された種と母集団から再現して一致を確かめます。",
        )
        parser.add_argument("--no-progress", action="store_true", help="進捗バーを表示しません。")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verify"] is not None:
            if options["rate"] or options["seed"] is not None or options["dry_run"]:
                raise CommandError("--verify は --rate・--seed・--dry-run と一緒に指定できません。")
            self._verify(options["verify"])
            return
        if not options["rate"]:
            raise CommandError("--rate を指定してください（例 --rate 0.10）。")
        rate = parse_rate(options["rate"])
        seed = options["seed"]
        if seed is None:
            seed = secrets.randbits(32)
        elif seed < 0:
            raise CommandError("--seed: 0以上の整数で指定してください。")
        if options["dry_run"]:
            population, drawn = services.preview_draw(rate, seed)
            self.stdout.write("[確認のみ] 記録も通知もしていません。")
            self._summary(seed, rate, len(population), drawn)
            self.stdout.write(
                f"同じ抽出を記録するには: sekispe deemed-audit --rate {rate} --seed {seed}"
                "（母集団が変わると結果も変わります）"
            )
            return
        disable = True if options["no_progress"] else None
        # The bar is sized after the draw is known; the marking and mailing happen
        # inside one transaction, so it advances once per application mailed.
        population, expected = services.preview_draw(rate, seed)
        with tqdm(
            total=len(expected), desc="抽出・通知", unit="件", file=sys.stderr, disable=disable
        ) as bar:
            draw = services.draw_audit(rate, seed, actor_label=ACTOR_LABEL, progress=bar.update)
        self.stdout.write(self.style.SUCCESS(f"抽出 {draw.pk} を記録しました。"))
        self._summary(draw.seed, draw.rate, len(draw.population), list(draw.drawn))
        self.stdout.write(
            f"抽出した申請を「サンプル調査中」にし、申請者 {len(draw.drawn)} 人に"
            "資料の提出を依頼するメールを送信待ちにしました。"
        )
        self.stdout.write(f"検証: sekispe deemed-audit --verify {draw.pk}")

    def _summary(self, seed: int, rate: Decimal, population: int, drawn: list[int]) -> None:
        self.stdout.write(f"乱数の種: {seed}")
        self.stdout.write(f"抽出率: {rate}")
        self.stdout.write(f"母集団: {population} 件")
        self.stdout.write(f"抽出: {len(drawn)} 件")
        applications = DeemedApplication.objects.filter(pk__in=drawn).select_related("record")
        for application in sorted(applications, key=lambda a: a.pk):
            self.stdout.write(
                f"  {application.reference}  登録番号 {application.record.registration_number}"
                f"  {application.get_status_display()}"
            )

    def _verify(self, draw_id: int) -> None:
        draw = AuditDraw.objects.filter(pk=draw_id).first()
        if draw is None:
            raise CommandError(f"抽出 {draw_id} は記録されていません。")
        self.stdout.write(
            f"抽出 {draw.pk}（{timezone.localtime(draw.drawn_at):%Y-%m-%d %H:%M}、{draw.drawn_by}）: "
            f"種 {draw.seed}、抽出率 {draw.rate}、母集団 {len(draw.population)} 件、"
            f"抽出 {len(draw.drawn)} 件"
        )
        if services.verify_draw(draw):
            self.stdout.write(
                self.style.SUCCESS(
                    "一致: 記録された種と母集団から、記録どおりの抽出が再現されました。"
                )
            )
            return
        recomputed = services.draw_sample(draw.seed, list(draw.population), len(draw.drawn))
        self.stdout.write(f"  記録された抽出: {_references(draw.drawn)}")
        self.stdout.write(f"  再現した抽出:   {_references(recomputed)}")
        raise CommandError("不一致: 記録された抽出は、記録された種と母集団から再現できません。")


def _references(ids: list[int]) -> str:
    return ", ".join(DeemedApplication(pk=pk).reference for pk in ids) or "なし"
