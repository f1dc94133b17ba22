"""Reading CSV exports from spreadsheets used by Japanese offices.

Excel on Windows still saves "CSV" as CP932 (Shift_JIS with Microsoft's
extensions) unless told otherwise, while "CSV UTF-8" adds a BOM and other tools
write plain UTF-8. Callers get text plus physical line numbers, so error
messages point at the line an operator sees in a text editor even when a
quoted cell spans several lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


class CsvDecodeError(ValueError):
    """The bytes are neither UTF-8 nor CP932."""


class CsvFormatError(ValueError):
    """Malformed quoting, reported against the line where the bad record starts.

    An unclosed quote is only noticed at the end of the file, but the line to
    fix is the one where the quoted cell opens.
    """

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class CsvRow:
    line: int  # 1-based line on which the record starts; the header is line 1
    cells: list[str]


_ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（BOM付き）",
    "cp932": "Shift_JIS（CP932）",
}


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Return (text, encoding) where encoding is "utf-8", "utf-8-sig" or "cp932".

    UTF-8 is tried first and strictly: CP932 decodes most byte strings without
    complaint, so trying it first would silently turn UTF-8 into mojibake,
    whereas real CP932 text with any Japanese in it is almost never valid UTF-8.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode テキスト" is UTF-16; CP932 would decode it into nonsense.
        raise CsvDecodeError(
            "UTF-16 のファイルには対応していません。"
            "「CSV UTF-8（コンマ区切り）」または「CSV（コンマ区切り）」で保存し直してください。"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return text, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise CsvDecodeError(
            "ファイルの文字コードを判別できません。UTF-8 または Shift_JIS（CP932）で"
            f"保存してください（{exc.start + 1} バイト目付近で UTF-8 としても CP932 としても"
            "読み取れませんでした）。"
        ) from exc


def encoding_label(encoding: str) -> str:
    """A human-readable name for an encoding returned by `decode_csv_bytes`."""
    return _ENCODING_LABELS.get(encoding, encoding)


def read_rows(text: str) -> Iterator[CsvRow]:
    """Yield every record with the line it starts on, skipping blank records.

    Rows whose cells are all blank are skipped because spreadsheets often leave
    them at the end of an export (",,,,"). Raises `CsvFormatError` for
    malformed quoting, such as a quoted cell that is never closed.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    next_line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFormatError(
                next_line,
                f'CSVとして読み取れません（引用符 " の閉じ忘れなど）: {exc}',
            ) from exc
        start, next_line = next_line, reader.line_num + 1
        if any(cell.strip() for cell in cells):
            yield CsvRow(start, cells)


def header_problems(actual: Sequence[str], expected: Sequence[str]) -> list[str]:
    """Describe, in Japanese, how a header row differs from the expected one.

    An empty list means the header matches exactly (same names, same order).
    """
    actual = list(actual)
    expected = list(expected)
    if actual == expected:
        return []
    problems: list[str] = []
    missing = [name for name in expected if name not in actual]
    extra = [name for name in actual if name not in expected]
    duplicated = sorted({name for name in actual if actual.count(name) > 1 and name in expected})
    if missing:
        problems.append(f"列{_quoted(missing)}がありません。")
    if extra:
        problems.append(f"想定していない列{_quoted(extra)}があります。")
    if duplicated:
        problems.append(f"列{_quoted(duplicated)}が重複しています。")
    if not problems:
        first = next(i for i, (a, e) in enumerate(zip(actual, expected, strict=True)) if a != e)
        problems.append(
            f"列の順序が違います（{first + 1} 列目は「{expected[first]}」のはずが"
            f"「{actual[first]}」です）。"
        )
    return problems


def _quoted(names: Sequence[str]) -> str:
    return "、".join(f"「{name}」" if name else "「（空欄）」" for name in names)
