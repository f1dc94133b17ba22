"""`sekispe import-courses FILE`: load IPA's course-completion extract from a CSV file.

The format is described in docs/import-formats.md. Completions not in the
file are never deleted, because extracts may be incremental.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sekispe.lib.cells import RowError
from sekispe.registry.importer import parse_course_csv
from sekispe.registry.imports import COURSES_COMMAND, ImportCounts, ImportSource, write_courses
from sekispe.registry.management.commands.import_registry import ImportCommand
from sekispe.registry.models import RegistryRecord


class Command(ImportCommand):
    help = (
        "IPAの講習修了データのCSV（UTF-8 または Shift_JIS）を取り込みます。"
        "登録簿にある登録番号の修了記録を追加し、実施機関の変更を反映します。"
        "ファイルにない修了記録は削除しません。1行でも誤りがあれば何も取り込みません。"
    )
    command_name = COURSES_COMMAND
    rejected_action = "courses.import_rejected"

    def parse(
        self, text: str, today: dt.date, progress: Callable[[int], None]
    ) -> tuple[Sequence[Any], list[RowError]]:
        # One query for every number: the registry is at most tens of thousands of rows.
        self._record_ids = dict(
            RegistryRecord.objects.values_list("registration_number", "id").iterator(
                chunk_size=10_000
            )
        )
        return parse_course_csv(
            text, known_numbers=self._record_ids, today=today, progress=progress
        )

    def write(
        self, rows: Sequence[Any], source: ImportSource, progress: Callable[[int], None]
    ) -> ImportCounts:
        return write_courses(rows, self._record_ids, source, progress=progress)
