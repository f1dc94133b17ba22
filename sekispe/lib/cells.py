"""Cell parsers shared by the CSV importers (`import-listings`, `import-registry`, …).

Parsing never stops at the first problem: operators fix a spreadsheet in one
pass, so importers collect every bad cell of every row as a `RowError`. Cell
parsers raise `CellError` with a message that is shown to the operator as is.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from sekispe.lib.csvfile import CsvRow, header_problems
from sekispe.lib.text import UnsafeText, clean_free_text, clean_single_line, reject_control, visible
from sekispe.reference.services import resolve_prefecture

T = TypeVar("T")

SEPARATOR = "|"
PREFECTURE_DESCRIPTION = "都道府県名またはJISコード（01〜47）"

_TRUE = frozenset({"true", "1", "あり"})
_FALSE = frozenset({"false", "0", "なし"})
DIGITS6 = re.compile(r"[0-9]{6}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class RowError:
    row: int  # line number in the file; the header is row 1
    column: str  # empty when the problem concerns the whole row
    message: str

    def __post_init__(self) -> None:
        # Messages quote cells, and a cell may hold NUL or U+202E: written as
        # escapes, the message is safe on a terminal and in the audit event
        # (PostgreSQL refuses NUL in jsonb), and shows what the file holds.
        object.__setattr__(self, "column", visible(self.column))
        object.__setattr__(self, "message", visible(self.message))

    def __str__(self) -> str:
        if self.column:
            return f"行 {self.row}, 列 {self.column}: {self.message}"
        return f"行 {self.row}: {self.message}"


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the operator as is."""


class UnsafeCellError(CellError):
    """A cell holding a character the text rule (sekispe.lib.text) refuses."""


def unsafe_message(exc: UnsafeText, label: str = "") -> str:
    subject = f"{label}に" if label else ""
    if exc.kind == "newline":
        return f"{subject}改行（{exc.code_point}）を含めることはできません。"
    what = "見えない書式文字" if exc.kind == "invisible" else "制御文字"
    return f"{subject}{what}を含めることはできません。{exc.code_point} の文字を削除してください。"


def read_cell(parse: Callable[[], T], value: str, *, multiline: bool = False) -> T:
    """`parse()` for the cell `value`, with the text rule applied to every cell.

    A parser's own text check (check_text) names the field and wins; otherwise
    a cell holding a control character (or, single-line, an invisible one) is
    refused whatever the parser made of it: str.strip() alone would silently
    drop \x1c-\x1f at the edges, and a date or code parser would quote the NUL.
    """
    try:
        result = parse()
    except UnsafeCellError:
        raise
    except CellError:
        _screen(value, multiline=multiline)
        raise
    _screen(value, multiline=multiline)
    return result


def _screen(value: str, *, multiline: bool) -> None:
    try:
        reject_control(value, multiline=True) if multiline else clean_single_line(value)
    except UnsafeText as exc:
        raise UnsafeCellError(unsafe_message(exc)) from None


def normalize_cell(value: str) -> str:
    """NFKC folds full-width digits, letters and punctuation typed in Japanese IMEs."""
    return unicodedata.normalize("NFKC", value).strip()


def split_cell(value: str) -> list[str]:
    """Split a multi-value cell on "|", dropping blanks and repeats, keeping order."""
    parts = (normalize_cell(part) for part in normalize_cell(value).split(SEPARATOR))
    return list(dict.fromkeys(part for part in parts if part))


def model_max_length(model: type, field: str) -> int | None:
    return model._meta.get_field(field).max_length  # type: ignore[attr-defined]


# -- rows and headers ---------------------------------------------------------------


def header_errors(header: CsvRow | None, columns: Sequence[str]) -> list[RowError]:
    """Errors for a missing or wrong header row; empty when it matches `columns` exactly."""
    if header is None:
        return [RowError(1, "", "ファイルが空です。ヘッダー行が必要です。")]
    unsafe = []
    for number, cell in enumerate(header.cells, start=1):
        try:
            clean_single_line(cell)
        except UnsafeText as exc:
            label = f"ヘッダー行の {number} 列目「{cell}」"
            unsafe.append(RowError(header.line, "", unsafe_message(exc, label)))
    if unsafe:
        return unsafe
    problems = header_problems([normalize_cell(c) for c in header.cells], columns)
    return [RowError(header.line, "", f"ヘッダー行が正しくありません。{p}") for p in problems]


def row_cells(row: CsvRow, columns: Sequence[str]) -> list[str] | RowError:
    """The row's cells, one per column, or the error saying the count is wrong."""
    cells = row.cells
    if len(cells) > len(columns) and not any(c.strip() for c in cells[len(columns) :]):
        # Spreadsheets pad rows with empty cells after the last used column.
        cells = cells[: len(columns)]
    if len(cells) != len(columns):
        return RowError(
            row.line,
            "",
            f"列の数が {len(cells)} 個です（ヘッダーと同じ {len(columns)} 個が必要です）。"
            '値に「,」や改行を含むときは全体を " で囲んでください。',
        )
    return cells


# -- cell parsers ---------------------------------------------------------------------


def parse_registration_number(value: str) -> str:
    value = normalize_cell(value)
    if not value:
        raise CellError("登録番号は必須です。")
    if not DIGITS6.fullmatch(value):
        raise CellError(f"「{value}」は登録番号（6桁の数字）ではありません。")
    return value


def parse_required_text(value: str, label: str, max_length: int | None = None) -> str:
    value = normalize_cell(value)
    if not value:
        raise CellError(f"{label}は必須です。")
    return check_text(value, label, max_length)


def parse_text(
    value: str, label: str, max_length: int | None = None, *, multiline: bool = False
) -> str:
    # Free prose keeps the author's typography (全角括弧, ー): NFKC would rewrite
    # it, and search normalises at query time anyway.
    text = value.strip() if multiline else normalize_cell(value)
    return check_text(text, label, max_length, multiline=multiline)


def check_text(value: str, label: str, max_length: int | None, *, multiline: bool = False) -> str:
    """`value` under the text rule (sekispe.lib.text), or UnsafeCellError naming `label`.

    Single-line text refuses line breaks, control and invisible characters;
    multi-line text keeps line breaks and tabs and loses invisible characters.
    """
    try:
        value = clean_free_text(value) if multiline else clean_single_line(value)
    except UnsafeText as exc:
        raise UnsafeCellError(unsafe_message(exc, label)) from None
    if max_length is not None and len(value) > max_length:
        raise CellError(
            f"{label}は{max_length}文字以内にしてください（{len(value)}文字あります）。"
        )
    return value


def parse_date(value: str, label: str) -> dt.date:
    value = normalize_cell(value)
    if not value:
        raise CellError(f"{label}は必須です。")
    # fromisoformat alone would also take "20240401" and week dates.
    if _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise CellError(f"「{value}」は日付（YYYY-MM-DD、例: 2024-04-01）ではありません。")


def parse_bool(value: str, default: bool) -> bool:
    """true/false, 1/0 or あり/なし (any case); an empty cell gives `default`."""
    key = normalize_cell(value).casefold()
    if not key:
        return default
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise CellError(
        f"「{normalize_cell(value)}」は真偽値ではありません。true/false、1/0、あり/なし のいずれかを"
        "指定してください。"
    )


def parse_prefecture(value: str, label: str) -> str:
    value = normalize_cell(value)
    if not value:
        raise CellError(f"{label}は必須です。")
    code = resolve_prefecture(value)
    if code is None:
        raise CellError(f"「{value}」は{PREFECTURE_DESCRIPTION}ではありません。")
    return code


def parse_email(value: str, max_length: int | None = 254) -> str:
    """An optional e-mail address; an empty cell gives ""."""
    value = normalize_cell(value)
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise CellError(f"「{value}」はメールアドレスの形式ではありません。") from None
    return check_text(value, "メールアドレス", max_length)
