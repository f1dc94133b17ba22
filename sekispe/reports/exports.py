"""A `Report` as CSV or as an Excel workbook.

CSV: UTF-8 with a BOM, because Excel on Japanese Windows reads a file
without one as CP932 and garbles it; CRLF line ends; one header row per
table, and a section-title row before each table when there are several.

xlsx: one sheet per table, numbers as numbers, dates as dates and
percentages (`Percent`) as fractions with a % number format, so the
operator can sum and filter without converting anything.

Names in the registry can be changed by their owners (登録事項変更届), so a
cell that a spreadsheet would run as a formula is neutralised in both formats.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from functools import lru_cache

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from sekispe.lib.text import text_width
from sekispe.reports.services import Cell, Report, Table

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# OWASP's list of characters that make a spreadsheet cell a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31
PERCENT_FORMAT = "0.0%"


class Percent(str):
    """A percentage cell: reads "25.0%" in pages and CSV, and is the number
    0.25 with the format 0.0% in a workbook.

    A str, so templates, CSV and column widths treat it as the text they
    always showed; `fraction` is what a spreadsheet should calculate with.
    """

    fraction: float

    def __new__(cls, text: str, fraction: float) -> Percent:
        value = super().__new__(cls, text)
        value.fraction = fraction
        return value

    def __reduce__(self) -> tuple[type[Percent], tuple[str, float]]:
        return (Percent, (str(self), self.fraction))

    @classmethod
    def of(cls, part: int, whole: int) -> Percent:
        fraction = part / whole
        return cls(f"{fraction * 100:.1f}%", fraction)


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_cell(value: Cell) -> str | int:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _safe_text(value)
    return value


def _table_rows(table: Table) -> list[tuple[Cell, ...]]:
    rows = list(table.rows)
    if table.total is not None:
        rows.append(table.total)
    return rows


def to_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    sections = len(report.tables) > 1
    for n, table in enumerate(report.tables):
        if sections:
            if n:
                writer.writerow([])
            writer.writerow([_safe_text(table.title)])
        writer.writerow([_safe_text(h) for h in table.headers])
        for row in _table_rows(table):
            writer.writerow([_csv_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sheet_name(name: str, taken: set[str]) -> str:
    """An Excel-legal sheet name: no []:*?/\\, at most 31 characters, unique in the book."""
    base = SHEET_NAME_FORBIDDEN.sub("_", name).strip("'") or "Sheet"
    base = base[:SHEET_NAME_MAX]
    candidate, n = base, 2
    # Excel compares sheet names case-insensitively.
    while candidate.lower() in {t.lower() for t in taken}:
        suffix = f"({n})"
        candidate = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    taken.add(candidate)
    return candidate


def _display_width(value: Cell) -> int:
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, int):
        return len(f"{value:,}")
    return _text_columns(value)


@lru_cache(maxsize=4096)
def _text_columns(value: str) -> int:
    """Column widths are in characters of the default font; a full-width one counts two."""
    return round(text_width(value, font_size=12) / 6)


def to_xlsx(report: Report) -> bytes:
    book = Workbook()
    book.remove(book.active)
    book.properties.title = f"{report.title} {report.period}"
    taken: set[str] = set()
    bold = Font(bold=True)
    for table in report.tables:
        sheet = book.create_sheet(sheet_name(table.sheet_name or table.title, taken))
        sheet.append(list(table.headers))
        for cell in sheet[1]:
            cell.font = bold
        widths = [_display_width(h) for h in table.headers]
        # Rows are counted here: Worksheet.max_row scans every cell, quadratic over a long list.
        row_number = 1
        for row in _table_rows(table):
            row_number += 1
            for column, value in enumerate(row, start=1):
                cell = sheet.cell(
                    row=row_number,
                    column=column,
                    value=value.fraction if isinstance(value, Percent) else value,
                )
                if isinstance(value, Percent):
                    cell.number_format = PERCENT_FORMAT
                elif isinstance(value, str) and value.startswith("="):
                    # openpyxl stores a string starting with "=" as a formula.
                    cell.data_type = "s"
                elif isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
                if column <= len(widths):
                    widths[column - 1] = max(widths[column - 1], _display_width(value))
                if table.total is not None and row_number == len(table.rows) + 2:
                    cell.font = bold
        for column, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), 80)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
