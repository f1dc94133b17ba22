"""The fast paths of the registry and course imports give what the plain ones give.

The file parsers keep each distinct cell's parsed value and build valid rows from
them; `_records` replaces `read_rows` with a cheaper blank-row test; the writers
insert new rows and their history rows with INSERT ... SELECT (PostgreSQL:
COPY with ids reserved as one range). Each is compared here with the straightforward
version, on both databases for the writers.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.lib.cells import DIGITS6, RowError, normalize_cell
from sekispe.lib.csvfile import CsvFormatError, read_rows
from sekispe.registry.importer import (
    COURSE_COLUMNS,
    REGISTRY_COLUMNS,
    _records,
    parse_course_csv,
    parse_course_row,
    parse_registry_csv,
    parse_registry_row,
)
from sekispe.registry.imports import ImportSource, write_courses, write_registry
from sekispe.registry.models import CourseCompletion, RegistryRecord
from tests.test_registry_import_properties import TODAY, course_rows, registry_rows, to_csv

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the reference: every row through the row parser (the code before the speed-up) ------


def reference_registry(text: str) -> tuple[list, list[str]]:
    records, errors, first_seen = [], [], {}
    try:
        rows = read_rows(text.removeprefix("\ufeff"))
        header = next(rows, None)
        assert [normalize_cell(c) for c in header.cells] == list(REGISTRY_COLUMNS)
        for row in rows:
            parsed, row_errors = parse_registry_row(row, today=TODAY)
            number = normalize_cell(row.cells[0])
            if DIGITS6.fullmatch(number):
                if number in first_seen:
                    row_errors.append(
                        RowError(
                            row.line,
                            "registration_number",
                            f"登録番号「{number}」は {first_seen[number]} 行目と重複しています。",
                        )
                    )
                    parsed = None
                else:
                    first_seen[number] = row.line
            errors.extend(row_errors)
            if parsed is not None:
                records.append(parsed)
    except CsvFormatError as exc:
        errors.append(RowError(exc.line, "", str(exc)))
    return records, [_shown(e) for e in errors]


def reference_courses(text: str, known: set[str]) -> tuple[list, list[str]]:
    courses, errors, first_seen = [], [], {}
    try:
        rows = read_rows(text.removeprefix("\ufeff"))
        header = next(rows, None)
        assert [normalize_cell(c) for c in header.cells] == list(COURSE_COLUMNS)
        for row in rows:
            parsed, row_errors = parse_course_row(row, known_numbers=known, today=TODAY)
            if parsed is not None:
                if parsed.key() in first_seen:
                    row_errors.append(
                        RowError(
                            row.line,
                            "registration_number",
                            "登録番号・講習種別・講習コード・修了日が同じ行が "
                            f"{first_seen[parsed.key()]} 行目にあります。",
                        )
                    )
                    parsed = None
                else:
                    first_seen[parsed.key()] = row.line
            errors.extend(row_errors)
            if parsed is not None:
                courses.append(parsed)
    except CsvFormatError as exc:
        errors.append(RowError(exc.line, "", str(exc)))
    return courses, [_shown(e) for e in errors]


def _shown(error: RowError) -> str:
    return str(error)


def _fast(parsed: tuple[list, list[RowError]]) -> tuple[list, list[str]]:
    rows, errors = parsed
    return rows, [str(e) for e in errors]


# -- files that mix good rows, bad cells, repeats and blank rows ----------------------------

# Cells that trip one rule each: blank, spaces only, full-width, a control or
# invisible character, a bad date, a future date, an unknown kind, a long text.
TRICKY = [
    "",
    " ",
    "\u3000",
    "０１２３４５",
    "12345",
    "abc",
    "2024-02-30",
    "2099-04-01",
    "2024-04-01",
    "2024-03-31",
    "deemed",
    "みなし受講（実務経験）",
    "specific",
    "common",
    "a\x00b",
    "山田\u202e太郎",
    "line\nbreak",
    "x" * 300,
    "back\\slash",
    "13",
    "東京都",
    "取消",
    "1975",
    "1800",
]


def _mutate(cells: list[str], draw: st.DrawFn) -> list[str]:
    cells = list(cells)
    action = draw(st.sampled_from(["keep", "keep", "keep", "cell", "cell", "short", "long", "pad"]))
    if action == "cell":
        cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(TRICKY))
    elif action == "short":
        cells = cells[:-1]
    elif action == "long":
        cells = [*cells, "extra"]
    elif action == "pad":
        cells = [*cells, "", " "]
    return cells


@st.composite
def registry_files(draw: st.DrawFn) -> str:
    valid = draw(st.lists(registry_rows(), min_size=1, max_size=6))
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(1, 14))):
        cells = draw(st.sampled_from(valid))[1]
        rows.append(_mutate(cells, draw))
        if draw(st.integers(0, 9)) == 0:
            rows.append(draw(st.sampled_from([[], [""] * 10, [" ", "\u3000"]])))
    return to_csv(REGISTRY_COLUMNS, rows)


@st.composite
def course_files(draw: st.DrawFn) -> tuple[str, set[str]]:
    known = ["100001", "100002", "100003"]
    valid = draw(st.lists(course_rows(known), min_size=1, max_size=6))
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(1, 16))):
        cells = list(draw(st.sampled_from(valid))[1])
        if draw(st.integers(0, 7)) == 0:
            cells[0] = "200001"  # not in the registry
        rows.append(_mutate(cells, draw))
        if draw(st.integers(0, 9)) == 0:
            rows.append([""] * 5)
    return to_csv(COURSE_COLUMNS, rows), set(known)


@FAST
@given(registry_files())
def test_registry_file_parser_matches_row_parser(text: str) -> None:
    expected = reference_registry(text)
    assert _fast(parse_registry_csv(text, today=TODAY)) == expected


@FAST
@given(course_files())
def test_course_file_parser_matches_row_parser(file: tuple[str, set[str]]) -> None:
    text, known = file
    expected = reference_courses(text, known)
    parsed = parse_course_csv(text, known_numbers=known, today=TODAY)
    assert _fast(parsed) == expected


def test_a_cell_refused_once_is_refused_again() -> None:
    """A bad cell is never remembered as good: each of its rows names it."""
    good = ["100001", "common", "", "", "2025-06-01"]
    bad = ["100001", "common", "", "", "2025-13-01"]
    again = ["100001", "common", "", "", "2025-06-02"]
    text = to_csv(COURSE_COLUMNS, [good, bad, bad, again])
    rows, errors = parse_course_csv(text, known_numbers={"100001"}, today=TODAY)
    assert [(e.row, e.column) for e in errors] == [(3, "completed_on"), (4, "completed_on")]
    assert [r.completed_on.day for r in rows] == [1, 2]


def test_every_cell_readable_but_the_row_is_not() -> None:
    """Cells seen before as good can still make a bad row: expiry before registration."""
    row = [
        "000001",
        "山田 太郎",
        "ヤマダ タロウ",
        "",
        "13",
        "2023-04-01",
        "2026-03-31",
        "0",
        "active",
        "",
    ]
    swapped = [*row[:5], "2026-10-01", "2026-03-31", *row[7:]]
    swapped[0] = "000002"
    text = to_csv(
        REGISTRY_COLUMNS,
        [row, ["000003", *row[1:5], "2026-10-01", "2029-09-30", *row[7:]], swapped],
    )
    expected = reference_registry(text)
    assert _fast(parse_registry_csv(text, today=TODAY)) == expected
    assert [e.split(",")[0] for e in expected[1]] == ["行 4"]


# -- reading records ----------------------------------------------------------------------


@FAST
@given(st.text(alphabet=st.sampled_from(["a", ",", '"', "\r", "\n", " ", "\u3000", "\t", "x"])))
def test_records_match_read_rows(text: str) -> None:
    def run(reader):
        try:
            return [tuple(r) for r in reader(text)], None
        except CsvFormatError as exc:
            return None, (exc.line, str(exc))

    expected = run(lambda t: ((r.line, r.cells) for r in read_rows(t)))
    assert run(_records) == expected


# -- the writers, on SQLite and PostgreSQL ------------------------------------------------


SOURCE = ImportSource(file="x.csv", sha256="0" * 64, encoding="utf-8", os_user="test")


def _registry(numbers: list[str], name: str = "山田 太郎") -> list:
    text = to_csv(
        REGISTRY_COLUMNS,
        [
            [n, name, "ヤマダ タロウ", "1980", "13", "2023-04-01", "2026-03-31", "0", "active", ""]
            for n in numbers
        ],
    )
    rows, errors = parse_registry_csv(text, today=TODAY)
    assert not errors
    return rows


@pytest.mark.django_db(transaction=True)
def test_new_rows_follow_the_file_and_each_has_its_history_row() -> None:
    numbers = [f"{n:06d}" for n in (5, 3, 9, 1)]
    write_registry(_registry(numbers, name="山田\\N 太郎\\t"), SOURCE)
    records = list(RegistryRecord.objects.order_by("id"))
    assert [r.registration_number for r in records] == numbers
    assert {r.name for r in records} == {"山田\\N 太郎\\t"}  # backslashes survive COPY
    assert [r.published_items for r in records] == [[]] * 4
    for record in records:
        (history,) = record.history.all()
        assert (history.history_type, history.name, history.registered_on) == (
            "+",
            record.name,
            record.registered_on,
        )
        assert history.history_date == record.created_at == record.updated_at

    ids = {r.registration_number: r.id for r in records}
    courses = [
        [n, kind, provider, code, day]
        for n in numbers
        for kind, provider, code, day in (
            ("common", "", "", "2024-06-01"),
            ("specific", "Ａ社\\研修", "X-1", "2024-07-01"),
        )
    ]
    rows, errors = parse_course_csv(to_csv(COURSE_COLUMNS, courses), known_numbers=ids, today=TODAY)
    assert not errors
    counts = write_courses(rows, ids, SOURCE)
    assert counts.inserted == 8
    stored = list(
        CourseCompletion.objects.order_by("id").values_list(
            "id", "record_id", "kind", "provider", "course_code", "completed_on", "fiscal_year"
        )
    )
    assert [(s[1], s[2]) for s in stored] == [
        (ids[n], kind) for n in numbers for kind in ("common", "specific")
    ]
    assert {s[3] for s in stored} == {"IPA", "A社\\研修"}
    history = sorted(
        CourseCompletion.history.values_list(
            "id", "record_id", "kind", "provider", "course_code", "completed_on", "fiscal_year"
        )
    )
    assert history == stored
    assert set(CourseCompletion.history.values_list("history_type", flat=True)) == {"+"}

    # The same files again: nothing written, everything unchanged.
    assert write_courses(rows, ids, SOURCE).unchanged == 8
    assert CourseCompletion.history.count() == 8


@pytest.mark.django_db(transaction=True)
def test_a_failed_import_leaves_nothing_and_the_next_one_works() -> None:
    rows = _registry(["000001", "000002"])
    with pytest.raises(RuntimeError), transaction.atomic():
        write_registry(rows, SOURCE)
        raise RuntimeError
    assert not RegistryRecord.objects.exists()
    assert not RegistryRecord.history.exists()
    # Twice in one transaction: the second import reserves ids after the first's
    # and writes history for its own rows only.
    with transaction.atomic():
        write_registry(rows[:1], SOURCE)
        write_registry(rows, SOURCE)
    assert RegistryRecord.objects.count() == 2
    assert RegistryRecord.history.count() == 2
    first, second = RegistryRecord.objects.order_by("id")
    assert second.id > first.id
    assert second.history.get().registration_number == "000002"


@pytest.mark.django_db(transaction=True)
def test_large_import_reads_stored_rows_in_one_pass() -> None:
    """Above WHOLE_TABLE_FROM keys the writer reads the table once: same counts."""
    from sekispe.registry import imports

    numbers = [f"{n:06d}" for n in range(1, 61)]
    write_registry(_registry(numbers[:30]), SOURCE)
    small = imports.WHOLE_TABLE_FROM
    imports.WHOLE_TABLE_FROM = 10
    try:
        counts = write_registry(_registry(numbers, name="山田 次郎"), SOURCE)
    finally:
        imports.WHOLE_TABLE_FROM = small
    assert (counts.inserted, counts.updated, counts.unchanged) == (30, 30, 0)
    assert RegistryRecord.history.filter(history_type="~").count() == 30
    assert set(RegistryRecord.objects.values_list("name", flat=True)) == {"山田 次郎"}


@pytest.mark.django_db(transaction=True)
def test_ids_that_are_not_one_range_get_exactly_their_history_rows() -> None:
    """PostgreSQL falls back to such ids when another session drew from the sequence
    at the same moment; the history rows must then be those rows, not the range."""
    from django.utils import timezone

    from sekispe.registry.imports import _insert_new

    write_registry(_registry(["000001"]), SOURCE)
    other = RegistryRecord.objects.get()
    RegistryRecord.objects.filter(pk=other.pk).update(id=other.pk + 1)
    between = RegistryRecord.objects.get()  # sits between the ids drawn below
    RegistryRecord.history.all().delete()

    ids = [between.pk - 1, between.pk + 2, between.pk + 5]
    rows = _registry(["000002", "000003", "000004"])
    values = [row.values() for row in rows]
    columns = {"registration_number": [row.registration_number for row in rows]}
    columns.update({name: [v[name] for v in values] for name in values[0]})
    with transaction.atomic():
        _insert_new(
            RegistryRecord,
            columns,
            history={"user": None, "reason": "test"},
            now=timezone.now(),
            ids=ids,
        )
    assert list(RegistryRecord.objects.order_by("id").values_list("id", flat=True)) == sorted(
        [*ids, between.pk]
    )
    assert sorted(RegistryRecord.history.values_list("id", flat=True)) == ids


def test_file_screen_is_the_text_rule_but_line_ends() -> None:
    """One search over the file stands for the per-cell screen only if it refuses
    exactly what the text rule refuses in a single-line cell, CR and LF aside."""
    from sekispe.lib.text import CONTROL, INVISIBLE
    from sekispe.registry.importer import _REFUSED_BUT_LINE_ENDS

    every = "".join(map(chr, range(0x3000))) + "".join(map(chr, range(0xFE00, 0x10000)))
    refused = {c for c in every if CONTROL.match(c) or INVISIBLE.match(c)} - {"\r", "\n"}
    assert {c for c in every if _REFUSED_BUT_LINE_ENDS.match(c)} == refused
