"""`sekispe import-registry FILE`: load IPA's registry extract from a CSV file.

The format is described in docs/import-formats.md. `ImportCommand` is shared
with `import-courses`: reading and decoding the file, the operator, progress
bars, the dry run and the audit event for a rejected file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from sekispe.lib.cells import RowError
from sekispe.lib.csvfile import CsvDecodeError, decode_csv_bytes, encoding_label
from sekispe.registry.importer import parse_registry_csv
from sekispe.registry.imports import (
    REGISTRY_COMMAND,
    ImportCounts,
    ImportSource,
    os_user,
    record_rejected,
    write_registry,
)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Parsing and writing allocate millions of objects that live until the end
    (rows, cells, parsed values), and each full pass of the cyclic garbage
    collector walks all of them: about 2 s of a 50,000 + 300,000 row import.
    They hold no reference cycles worth collecting early, so the collector waits
    until the import is done and then finds whatever the run left behind."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _DryRunRollback(Exception):
    """Raised inside the dry-run transaction so nothing it wrote is kept."""


class ImportCommand(BaseCommand):
    """The steps every registry CSV import shares; subclasses parse and write."""

    command_name = ""
    rejected_action = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="取り込むCSVファイル")
        parser.add_argument(
            "--operator",
            default="",
            metavar="EMAIL",
            help="取り込みを行う運用担当者のメールアドレス（監査ログと変更履歴に記録します）",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="検証と件数の確認だけを行い、データベースには書き込みません。",
        )
        parser.add_argument("--no-progress", action="store_true", help="進捗バーを表示しません。")

    # -- hooks ------------------------------------------------------------------------

    def parse(
        self, text: str, today: dt.date, progress: Callable[[int], None]
    ) -> tuple[Sequence[Any], list[RowError]]:
        raise NotImplementedError

    def write(
        self, rows: Sequence[Any], source: ImportSource, progress: Callable[[int], None]
    ) -> ImportCounts:
        raise NotImplementedError

    # -- the run ------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                f"ファイル「{path}」を読み込めません: {exc.strerror or exc}"
            ) from exc
        dry_run = options["dry_run"]
        no_progress = options["no_progress"]
        source = ImportSource(
            file=path.name,
            sha256=hashlib.sha256(data).hexdigest(),
            encoding="",
            os_user=os_user(),
            operator=self._operator(options["operator"]),
        )
        try:
            text, encoding = decode_csv_bytes(data)
        except CsvDecodeError as exc:
            self._reject(source, [str(exc)], dry_run=dry_run)
            raise CommandError(f"{path.name}: {exc}") from exc
        source = dataclasses.replace(source, encoding=encoding)

        with _cyclic_gc_paused():
            self._run(path, text, encoding, source, dry_run=dry_run, no_progress=no_progress)

    def _run(
        self,
        path: Path,
        text: str,
        encoding: str,
        source: ImportSource,
        *,
        dry_run: bool,
        no_progress: bool,
    ) -> None:
        # tqdm decides on its own not to draw when stderr is not a terminal (disable=None).
        with self._bar("検証", None, no_progress) as bar:
            rows, errors = self.parse(text, timezone.localdate(), bar.update)
        if errors:
            self._reject(source, errors, dry_run=dry_run)
            lines = [
                f"{path.name} に {len(errors)} 件の誤りがあるため、何も取り込みませんでした。",
                *(str(error) for error in errors),
            ]
            raise CommandError("\n".join(lines))
        if not rows:
            self.stdout.write(f"{path.name} にはデータ行がありません。何も取り込みませんでした。")
            return

        with self._bar("取り込み", len(rows), no_progress) as bar:
            counts = self._write(rows, source, bar.update, dry_run=dry_run)

        summary = (
            f"追加 {counts.inserted} 件、更新 {counts.updated} 件、変更なし {counts.unchanged} 件"
        )
        detail = f"（{path.name}、文字コード {encoding_label(encoding)}、{len(rows)} 行）"
        if dry_run:
            self.stdout.write(f"[確認のみ] 取り込むと次のようになります: {summary}{detail}")
            self.stdout.write("データベースには書き込んでいません。")
        else:
            self.stdout.write(self.style.SUCCESS(f"取り込みました: {summary}{detail}"))
        kept = counts.kept_revoked
        if kept:
            shown = "、".join(kept[:20]) + ("ほか" if len(kept) > 20 else "")
            self.stdout.write(
                self.style.WARNING(
                    f"登録取消のため状態を変えなかった {len(kept)} 件（{shown}）："
                    "取消を解くのは sekispe での決定だけです。"
                )
            )

    def _operator(self, email: str) -> Any:
        if not email:
            return None
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None or not user.is_operator:
            raise CommandError(f"「{email}」は有効な運用担当者のアカウントではありません。")
        return user

    def _reject(
        self, source: ImportSource, errors: Sequence[RowError | str], *, dry_run: bool
    ) -> None:
        # A dry run is a check, not an import: only real attempts are audited.
        if not dry_run:
            record_rejected(self.rejected_action, self.command_name, source, errors)

    def _bar(self, desc: str, total: int | None, no_progress: bool) -> tqdm:
        return tqdm(
            total=total,
            desc=desc,
            unit="行",
            file=sys.stderr,
            disable=True if no_progress else None,
        )

    def _write(
        self,
        rows: Sequence[Any],
        source: ImportSource,
        progress: Callable[[int], None],
        *,
        dry_run: bool,
    ) -> ImportCounts:
        if not dry_run:
            return self.write(rows, source, progress)
        # Running the real write and rolling it back gives exact counts, where a
        # separate "what would change" comparison could drift from the writer.
        result = ImportCounts()
        try:
            with transaction.atomic():
                result = self.write(rows, source, progress)
                raise _DryRunRollback
        except _DryRunRollback:
            pass
        return result


class Command(ImportCommand):
    help = (
        "IPAの登録簿データのCSV（UTF-8 または Shift_JIS）を取り込みます。"
        "登録番号が同じレコードは更新します。1行でも誤りがあれば何も取り込みません。"
    )
    command_name = REGISTRY_COMMAND
    rejected_action = "registry.import_rejected"

    def parse(
        self, text: str, today: dt.date, progress: Callable[[int], None]
    ) -> tuple[Sequence[Any], list[RowError]]:
        return parse_registry_csv(text, today=today, progress=progress)

    def write(
        self, rows: Sequence[Any], source: ImportSource, progress: Callable[[int], None]
    ) -> ImportCounts:
        return write_registry(rows, source, progress=progress)
