"""Parse IPA's registry extract and course-completion extract into plain rows.

Both parsers collect every bad cell of every row as a `RowError` (the operator
fixes the spreadsheet in one pass) and return rows only meaningful when there
are no errors. They read the database only through what the caller passes in
(`known_numbers` for courses), so the row parsers are pure functions of the
text and `today`. The formats are described in docs/import-formats.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Container, Iterable, Iterator
from typing import Any, NamedTuple

from sekispe.lib.cells import (
    DIGITS6,
    CellError,
    RowError,
    check_text,
    header_errors,
    model_max_length,
    normalize_cell,
    parse_date,
    parse_email,
    parse_prefecture,
    parse_registration_number,
    parse_required_text,
    read_cell,
    row_cells,
)
from sekispe.lib.csvfile import CsvFormatError, CsvRow
from sekispe.lib.dates import fiscal_year
from sekispe.lib.text import INVISIBLE
from sekispe.registry.models import CourseCompletion, CourseKind, RegistryRecord, RegistryStatus

REGISTRY_COLUMNS: tuple[str, ...] = (
    "registration_number",
    "name",
    "name_kana",
    "birth_year",
    "home_prefecture",
    "registered_on",
    "expires_on",
    "renewal_count",
    "status",
    "email",
)
COURSE_COLUMNS: tuple[str, ...] = (
    "registration_number",
    "course",
    "provider",
    "course_code",
    "completed_on",
)

# The oldest plausible birth year, and the youngest age at which someone can
# have passed the examination and registered.
MIN_BIRTH_YEAR = 1900
MIN_AGE = 15
# PositiveSmallIntegerField: PostgreSQL refuses anything larger.
MAX_RENEWAL_COUNT = 32_767
IPA = "IPA"

STATUSES: dict[str, str] = {
    "active": RegistryStatus.ACTIVE,
    "登録中": RegistryStatus.ACTIVE,
    "expired": RegistryStatus.EXPIRED,
    "失効": RegistryStatus.EXPIRED,
    "deregistered": RegistryStatus.DEREGISTERED,
    "登録抹消": RegistryStatus.DEREGISTERED,
    "deceased": RegistryStatus.DECEASED,
    "死亡": RegistryStatus.DECEASED,
    "revoked": RegistryStatus.REVOKED,
    "取消": RegistryStatus.REVOKED,
    "登録取消": RegistryStatus.REVOKED,
}
COURSE_KINDS: dict[str, str] = {
    "common": CourseKind.COMMON,
    "共通講習": CourseKind.COMMON,
    "practical": CourseKind.PRACTICAL,
    "実践講習": CourseKind.PRACTICAL,
    "specific": CourseKind.SPECIFIC,
    "特定講習": CourseKind.SPECIFIC,
}
# Deemed attendance is credited only by approving an application (sekispe.deemed,
# through registry.services.grant_deemed_credit), never by an extract.
# Compared after NFKC, which turns the label's full-width parentheses into ASCII ones.
REFUSED_COURSE_KINDS = frozenset({"deemed", "みなし受講", "みなし受講(実務経験)"})
# Registration takes effect on 1 April or 1 October, so a period ends on the
# day before one of them.
REGISTRATION_DAYS = ((4, 1), (10, 1))
EXPIRY_DAYS = ((3, 31), (9, 30))

_YEAR = re.compile(r"[0-9]{4}")
_COUNT = re.compile(r"[0-9]+")
_NAME_MAX = model_max_length(RegistryRecord, "name")
_KANA_MAX = model_max_length(RegistryRecord, "name_kana")
_EMAIL_MAX = model_max_length(RegistryRecord, "email")
_PROVIDER_MAX = model_max_length(CourseCompletion, "provider")
_CODE_MAX = model_max_length(CourseCompletion, "course_code")
# Report progress every this many rows: calling a progress bar per row would
# cost more than parsing the row.
_PROGRESS_EVERY = 1000


# Rows are named tuples, immutable like a frozen dataclass and built about 3x
# faster (300,000 course rows: 0.15 s against 0.45 s).


class RegistryRow(NamedTuple):
    registration_number: str
    name: str
    name_kana: str
    birth_year: int | None
    home_prefecture: str  # JIS code
    registered_on: dt.date
    expires_on: dt.date
    renewal_count: int
    status: str
    email: str

    def values(self) -> dict[str, Any]:
        """The record fields this row sets, by attname."""
        return {
            "name": self.name,
            "name_kana": self.name_kana,
            "birth_year": self.birth_year,
            "home_prefecture_id": self.home_prefecture,
            "registered_on": self.registered_on,
            "expires_on": self.expires_on,
            "renewal_count": self.renewal_count,
            "status": self.status,
            "email": self.email,
        }


class CourseRow(NamedTuple):
    registration_number: str
    kind: str
    provider: str
    course_code: str
    completed_on: dt.date

    @property
    def fiscal_year(self) -> int:
        return fiscal_year(self.completed_on)

    def key(self) -> tuple[str, str, str, dt.date]:
        """What identifies a completion; the database has the same unique constraint."""
        return (self.registration_number, self.kind, self.course_code, self.completed_on)


# -- cell parsers -----------------------------------------------------------------------


def max_birth_year(today: dt.date) -> int:
    return today.year - MIN_AGE


def parse_birth_year(value: str, today: dt.date) -> int | None:
    value = normalize_cell(value)
    if not value:
        return None
    if not _YEAR.fullmatch(value):
        raise CellError(f"「{value}」は生年（西暦4桁、例: 1975）ではありません。")
    year = int(value)
    latest = max_birth_year(today)
    if not MIN_BIRTH_YEAR <= year <= latest:
        raise CellError(
            f"生年「{value}」は範囲外です。{MIN_BIRTH_YEAR}年から{latest}年までで指定してください。"
        )
    return year


def parse_registered_on(value: str) -> dt.date:
    day = parse_date(value, "登録日")
    if (day.month, day.day) not in REGISTRATION_DAYS:
        raise CellError(
            f"登録日「{day.isoformat()}」が4月1日でも10月1日でもありません。"
            "登録は4月1日または10月1日に発効します。"
        )
    return day


def parse_expires_on(value: str) -> dt.date:
    day = parse_date(value, "有効期限")
    if (day.month, day.day) not in EXPIRY_DAYS:
        raise CellError(
            f"有効期限「{day.isoformat()}」が3月31日でも9月30日でもありません。"
            "登録の有効期間は3月31日または9月30日に終わります。"
        )
    return day


def parse_renewal_count(value: str) -> int:
    value = normalize_cell(value)
    if not value:
        return 0
    if not _COUNT.fullmatch(value):
        raise CellError(f"「{value}」は更新回数（0以上の整数）ではありません。")
    count = int(value)
    if count > MAX_RENEWAL_COUNT:
        raise CellError(f"更新回数「{value}」が大きすぎます（上限 {MAX_RENEWAL_COUNT}）。")
    return count


def parse_status(value: str) -> str:
    value = normalize_cell(value)
    if not value:
        raise CellError("状態は必須です。")
    status = STATUSES.get(value.casefold())
    if status is None:
        raise CellError(
            f"「{value}」は状態ではありません。active（登録中）、expired（失効）、"
            "deregistered（登録抹消）、deceased（死亡）、revoked（登録取消）の"
            "いずれかを指定してください。"
        )
    return status


def parse_course_kind(value: str) -> str:
    value = normalize_cell(value)
    if not value:
        raise CellError("講習種別は必須です。")
    if value.casefold() in REFUSED_COURSE_KINDS:
        raise CellError(
            f"「{value}」（みなし受講）は取り込めません。みなし受講は、"
            "みなし受講の申請を承認したときにだけ登録簿に記録されます。"
        )
    kind = COURSE_KINDS.get(value.casefold())
    if kind is None:
        raise CellError(
            f"「{value}」は講習種別ではありません。common（共通講習）、practical（実践講習）、"
            "specific（特定講習）のいずれかを指定してください。"
        )
    return kind


def parse_provider(value: str, kind: str | None) -> str:
    """The provider; IPA when an IPA course leaves it empty. `kind` None: kind unreadable."""
    value = check_text(normalize_cell(value), "実施機関", _PROVIDER_MAX)
    if value:
        return value
    if kind == CourseKind.SPECIFIC:
        raise CellError("特定講習（specific）では実施機関は必須です。")
    return IPA


def parse_course_code(value: str) -> str:
    return check_text(normalize_cell(value), "講習コード", _CODE_MAX)


def parse_completed_on(value: str, today: dt.date) -> dt.date:
    day = parse_date(value, "修了日")
    if day > today:
        raise CellError(f"修了日「{day.isoformat()}」が未来の日付です。")
    return day


# -- rows ---------------------------------------------------------------------------


class _Cells:
    """Collects the parsed value or the error of each cell of one row."""

    __slots__ = ("errors", "line", "values")

    def __init__(self, line: int) -> None:
        self.line = line
        self.values: dict[str, Any] = {}
        self.errors: list[RowError] = []

    def read(self, column: str, parse: Callable[..., Any], cell: str, *args: Any) -> Any:
        try:
            value = read_cell(lambda: parse(cell, *args), cell)
        except CellError as exc:
            self.errors.append(RowError(self.line, column, str(exc)))
            return None
        self.values[column] = value
        return value


def parse_registry_row(row: CsvRow, *, today: dt.date) -> tuple[RegistryRow | None, list[RowError]]:
    """One data row of the registry extract; the row is None whenever there is an error."""
    cells = row_cells(row, REGISTRY_COLUMNS)
    if isinstance(cells, RowError):
        return None, [cells]
    number, name, kana, birth, pref, registered, expires, renewals, status, email = cells
    c = _Cells(row.line)
    c.read("registration_number", parse_registration_number, number)
    c.read("name", parse_required_text, name, "氏名", _NAME_MAX)
    c.read("name_kana", parse_required_text, kana, "氏名（カナ）", _KANA_MAX)
    c.read("birth_year", parse_birth_year, birth, today)
    c.read("home_prefecture", parse_prefecture, pref, "自宅都道府県")
    registered_on = c.read("registered_on", parse_registered_on, registered)
    expires_on = c.read("expires_on", parse_expires_on, expires)
    c.read("renewal_count", parse_renewal_count, renewals)
    c.read("status", parse_status, status)
    c.read("email", parse_email, email, _EMAIL_MAX)
    if registered_on and expires_on and expires_on <= registered_on:
        c.errors.append(
            RowError(
                row.line,
                "expires_on",
                f"有効期限（{expires_on.isoformat()}）は登録日（{registered_on.isoformat()}）"
                "より後の日付にしてください。",
            )
        )
    if c.errors:
        return None, c.errors
    return RegistryRow(**c.values), []


def parse_course_row(
    row: CsvRow, *, known_numbers: Container[str], today: dt.date
) -> tuple[CourseRow | None, list[RowError]]:
    """One data row of the course extract; `known_numbers` are the registry's numbers."""
    cells = row_cells(row, COURSE_COLUMNS)
    if isinstance(cells, RowError):
        return None, [cells]
    number, course, provider, code, completed = cells
    c = _Cells(row.line)
    registration_number = c.read("registration_number", parse_registration_number, number)
    if registration_number and registration_number not in known_numbers:
        c.errors.append(
            RowError(
                row.line,
                "registration_number",
                f"「{registration_number}」は登録簿にない登録番号です。"
                "先に登録簿（import-registry）を取り込んでください。",
            )
        )
    kind = c.read("course", parse_course_kind, course)
    c.read("provider", parse_provider, provider, kind)
    c.read("course_code", parse_course_code, code)
    c.read("completed_on", parse_completed_on, completed, today)
    if c.errors:
        return None, c.errors
    v = c.values
    return (
        CourseRow(
            registration_number=v["registration_number"],
            kind=v["course"],
            provider=v["provider"],
            course_code=v["course_code"],
            completed_on=v["completed_on"],
        ),
        [],
    )


# -- files --------------------------------------------------------------------------
#
# The file parsers give exactly what parsing each row with `parse_registry_row` /
# `parse_course_row` gives (tests/test_import_speedups.py checks it), faster:
# a cell parser is a pure function of the cell (and `today`, and the kind for the
# provider), so each distinct cell of a column is parsed once and its value kept
# (`_Column`). A row whose cells are all readable is built from those values; any
# other row (a bad cell, a wrong cell count) goes through the row parser, which
# words every error as before. Extracts repeat most cells (dates, kinds,
# providers, prefectures; a registration number on every course row of its
# registrant), so most cells cost a dictionary lookup.


# What the text rule refuses in a single-line cell (sekispe.lib.text CONTROL and
# INVISIBLE), but for CR and LF, which also end the records of the file.
_REFUSED_BUT_LINE_ENDS = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]|" + INVISIBLE.pattern
)


class _Column:
    """The parsed value of each distinct cell of one column seen so far.

    `screened`: the whole file holds nothing the text rule refuses but line
    ends, so a cell without CR or LF passes `read_cell`'s screening and the
    parser is called directly (one search over the file instead of two per cell).
    """

    __slots__ = ("args", "parse", "screened", "values")

    def __init__(self, parse: Callable[..., Any], *args: Any) -> None:
        self.parse = parse
        self.args = args
        self.values: dict[Any, Any] = {}
        self.screened = False

    def read(self, cell: str, key: Any = None, *extra: Any) -> Any:
        """The value of `cell`, or `_BAD` when the parser (or the text rule) refuses it."""
        try:
            if self.screened and "\n" not in cell and "\r" not in cell:
                value = self.parse(cell, *self.args, *extra)
            else:
                value = read_cell(lambda: self.parse(cell, *self.args, *extra), cell)
        except CellError:
            return _BAD
        self.values[cell if key is None else key] = value
        return value


def _screen_columns(text: str, columns: Iterable[_Column]) -> None:
    screened = not _REFUSED_BUT_LINE_ENDS.search(text)
    for column in columns:
        column.screened = screened


_BAD = object()


def parse_registry_csv(
    text: str, *, today: dt.date, progress: Callable[[int], None] | None = None
) -> tuple[list[RegistryRow], list[RowError]]:
    """Parse a whole registry extract. Rows are only meaningful when errors is empty."""
    records: list[RegistryRow] = []
    errors: list[RowError] = []
    first_seen: dict[str, int] = {}
    width = len(REGISTRY_COLUMNS)
    columns = (
        _Column(parse_registration_number),
        _Column(parse_required_text, "氏名", _NAME_MAX),
        _Column(parse_required_text, "氏名（カナ）", _KANA_MAX),
        _Column(parse_birth_year, today),
        _Column(parse_prefecture, "自宅都道府県"),
        _Column(parse_registered_on),
        _Column(parse_expires_on),
        _Column(parse_renewal_count),
        _Column(parse_status),
        _Column(parse_email, _EMAIL_MAX),
    )
    known = [column.values for column in columns]
    _screen_columns(text, columns)
    try:
        for line, cells in _data_rows(text, REGISTRY_COLUMNS, errors, progress):
            parsed: RegistryRow | None = None
            row_errors: list[RowError] = []
            if len(cells) == width:
                values = []
                for cell, column, seen in zip(cells, columns, known, strict=True):
                    value = seen.get(cell, _BAD)
                    if value is _BAD:
                        value = column.read(cell)
                        if value is _BAD:
                            break
                    values.append(value)
                else:
                    if values[6] > values[5]:  # expires_on after registered_on
                        parsed = RegistryRow(*values)
            if parsed is None:
                parsed, row_errors = parse_registry_row(CsvRow(line, cells), today=today)
                number = normalize_cell(cells[0])
            else:
                number = parsed.registration_number
            if DIGITS6.fullmatch(number):
                if number in first_seen:
                    row_errors.append(
                        RowError(
                            line,
                            "registration_number",
                            f"登録番号「{number}」は {first_seen[number]} 行目と重複しています。",
                        )
                    )
                    parsed = None
                else:
                    first_seen[number] = line
            errors.extend(row_errors)
            if parsed is not None:
                records.append(parsed)
    except CsvFormatError as exc:
        errors.append(RowError(exc.line, "", str(exc)))
    return records, errors


def parse_course_csv(
    text: str,
    *,
    known_numbers: Container[str],
    today: dt.date,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[CourseRow], list[RowError]]:
    """Parse a whole course extract. Rows are only meaningful when errors is empty."""
    courses: list[CourseRow] = []
    errors: list[RowError] = []
    first_seen: dict[tuple[str, str, str, dt.date], int] = {}
    width = len(COURSE_COLUMNS)
    number_column = _Column(parse_registration_number)
    kind_column = _Column(parse_course_kind)
    provider_column = _Column(parse_provider)
    code_column = _Column(parse_course_code)
    day_column = _Column(parse_completed_on, today)
    numbers, kinds, providers = number_column.values, kind_column.values, provider_column.values
    codes, days = code_column.values, day_column.values
    _screen_columns(text, (number_column, kind_column, provider_column, code_column, day_column))
    try:
        for line, cells in _data_rows(text, COURSE_COLUMNS, errors, progress):
            parsed: CourseRow | None = None
            row_errors: list[RowError] = []
            if len(cells) == width:
                c_number, c_kind, c_provider, c_code, c_day = cells
                # Inlined lookups: this loop runs 300,000 times in the benchmark.
                number = numbers.get(c_number, _BAD)
                if number is _BAD:
                    number = number_column.read(c_number)
                kind = kinds.get(c_kind, _BAD)
                if kind is _BAD:
                    kind = kind_column.read(c_kind)
                provider = providers.get((c_provider, kind), _BAD)
                if provider is _BAD and kind is not _BAD:
                    provider = provider_column.read(c_provider, (c_provider, kind), kind)
                code = codes.get(c_code, _BAD)
                if code is _BAD:
                    code = code_column.read(c_code)
                day = days.get(c_day, _BAD)
                if day is _BAD:
                    day = day_column.read(c_day)
                if (
                    number is not _BAD
                    and number in known_numbers
                    and provider is not _BAD
                    and code is not _BAD
                    and day is not _BAD
                ):
                    parsed = CourseRow(number, kind, provider, code, day)
            if parsed is None:
                parsed, row_errors = parse_course_row(
                    CsvRow(line, cells), known_numbers=known_numbers, today=today
                )
            if parsed is not None:
                key = parsed.key()
                if key in first_seen:
                    row_errors.append(
                        RowError(
                            line,
                            "registration_number",
                            "登録番号・講習種別・講習コード・修了日が同じ行が "
                            f"{first_seen[key]} 行目にあります。",
                        )
                    )
                    parsed = None
                else:
                    first_seen[key] = line
            errors.extend(row_errors)
            if parsed is not None:
                courses.append(parsed)
    except CsvFormatError as exc:
        errors.append(RowError(exc.line, "", str(exc)))
    return courses, errors


def _data_rows(
    text: str,
    columns: tuple[str, ...],
    errors: list[RowError],
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of the data rows after a correct header; a wrong header goes to
    `errors`, with no rows."""
    # A caller that decoded with plain "utf-8" leaves the BOM glued to the first column name.
    rows = _records(text.removeprefix("\ufeff"))
    header = next(rows, None)
    problems = header_errors(None if header is None else CsvRow(*header), columns)
    if problems:
        # Without the expected columns no data cell can be trusted, so stop here.
        errors.extend(problems)
        return
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if progress and pending == _PROGRESS_EVERY:
            progress(pending)
            pending = 0
    if progress and pending:
        progress(pending)


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """`sekispe.lib.csvfile.read_rows` as (line, cells) pairs, with a cheaper blank test.

    Same records, lines and errors (tests/test_import_speedups.py compares them):
    a record is blank when every cell is whitespace, which is when the joined
    cells are; a first cell with anything in it settles it without the join.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    next_line = 1
    try:
        for cells in reader:
            start, next_line = next_line, reader.line_num + 1
            first = cells[0] if cells else ""
            if (first and not first.isspace()) or "".join(cells).strip():
                yield start, cells
    except csv.Error as exc:
        raise CsvFormatError(
            next_line,
            f'CSVとして読み取れません（引用符 " の閉じ忘れなど）: {exc}',
        ) from exc
