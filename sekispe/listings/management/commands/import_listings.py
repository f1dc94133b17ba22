"""`sekispe import-listings FILE`: load the pilot Active List from a CSV export.

The format is described in docs/import-formats.md.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from sekispe.lib.csvfile import CsvDecodeError, decode_csv_bytes, encoding_label
from sekispe.listings.importer import parse_listing_csv
from sekispe.listings.services import ListingInput, WriteCounts, write_listings

ACTOR_LABEL = "import-listings"


class _DryRunRollback(Exception):
    """Raised inside the dry-run transaction so nothing it wrote is kept."""


class Command(BaseCommand):
    help = (
        "パイロット版アクティブリストのCSV（UTF-8 または Shift_JIS）を取り込みます。"
        "登録番号が同じ掲載情報は更新します。1行でも誤りがあれば何も取り込みません。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="取り込むCSVファイル")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="検証と件数の確認だけを行い、データベースには書き込みません。",
        )
        parser.add_argument("--no-progress", action="store_true", help="進捗バーを表示しません。")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                f"ファイル「{path}」を読み込めません: {exc.strerror or exc}"
            ) from exc
        try:
            text, encoding = decode_csv_bytes(data)
        except CsvDecodeError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc

        items, errors = parse_listing_csv(text)
        if errors:
            lines = [
                f"{path.name} に {len(errors)} 件の誤りがあるため、何も取り込みませんでした。",
                *(str(error) for error in errors),
            ]
            raise CommandError("\n".join(lines))
        if not items:
            self.stdout.write(f"{path.name} にはデータ行がありません。何も取り込みませんでした。")
            return

        source = {
            "file": path.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "encoding": encoding,
            "rows": len(items),
        }
        # tqdm decides on its own not to draw when stderr is not a terminal (disable=None).
        with tqdm(
            total=len(items),
            desc="取り込み",
            unit="件",
            file=sys.stderr,
            disable=True if options["no_progress"] else None,
        ) as bar:
            counts = self._write(items, source, bar.update, dry_run=options["dry_run"])

        summary = (
            f"追加 {counts.inserted} 件、更新 {counts.updated} 件、変更なし {counts.unchanged} 件"
        )
        detail = f"（{path.name}、文字コード {encoding_label(encoding)}、{len(items)} 行）"
        if options["dry_run"]:
            self.stdout.write(f"[確認のみ] 取り込むと次のようになります: {summary}{detail}")
            self.stdout.write("データベースには書き込んでいません。")
        else:
            self.stdout.write(self.style.SUCCESS(f"取り込みました: {summary}{detail}"))

    def _write(
        self,
        items: Sequence[ListingInput],
        source: dict[str, Any],
        progress: Callable[[int], None],
        *,
        dry_run: bool,
    ) -> WriteCounts:
        if not dry_run:
            return write_listings(items, actor_label=ACTOR_LABEL, source=source, progress=progress)
        # Running the real write and rolling it back gives exact counts, where a
        # separate "what would change" comparison could drift from write_listings.
        result = WriteCounts()
        try:
            with transaction.atomic():
                result = write_listings(
                    items, actor_label=ACTOR_LABEL, source=source, progress=progress
                )
                raise _DryRunRollback
        except _DryRunRollback:
            pass
        return result
