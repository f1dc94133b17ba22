"""`sekispe refresh-insights [--today YYYY-MM-DD] [--no-progress]`: rebuild the
summary tables the policy pages and the open statistics read (the worker runs
it daily as the `refresh-insights` job)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from sekispe.core.commandline import parse_today
from sekispe.insights.refresh import AREAS, refresh_insights


class Command(BaseCommand):
    help = "政策の指標（/insights/）と公開統計の集計表を作り直します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="基準日（YYYY-MM-DD、既定は今日）")
        parser.add_argument("--no-progress", action="store_true", help="進捗バーを表示しません。")

    def handle(self, *args: Any, **options: Any) -> None:
        today = parse_today(options["today"])
        disable = True if options["no_progress"] else None
        # One step per area, and one for writing the cells.
        with tqdm(
            total=len(AREAS) + 1, desc="集計", unit="領域", file=sys.stderr, disable=disable
        ) as bar:

            def step(name: str) -> None:
                bar.set_postfix_str(name)
                bar.update(1)

            run = refresh_insights(today, progress=step)
        self.stdout.write(
            f"{run.as_of.isoformat()} 時点の集計：{run.cells:,} セル、{run.seconds:.1f} 秒"
        )
