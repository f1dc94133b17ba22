from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sekispe.lib.csvfile import (
    CsvDecodeError,
    CsvFormatError,
    decode_csv_bytes,
    encoding_label,
    header_problems,
    read_rows,
)

SAMPLE = "registration_number,name\r\n003127,大西 健一\r\n"
HIRAGANA = st.characters(min_codepoint=0x3041, max_codepoint=0x3093)


def _cp932_encodable(text: str) -> bool:
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


# -- decode_csv_bytes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (SAMPLE.encode("utf-8"), "utf-8"),
        (SAMPLE.encode("utf-8-sig"), "utf-8-sig"),
        (SAMPLE.encode("cp932"), "cp932"),
    ],
)
def test_decodes_the_three_spreadsheet_encodings(data: bytes, encoding: str) -> None:
    assert decode_csv_bytes(data) == (SAMPLE, encoding)


def test_bom_is_not_part_of_the_text() -> None:
    text, _ = decode_csv_bytes(b"\xef\xbb\xbfname\r\n")
    assert text == "name\r\n"


def test_cp932_specific_characters_decode() -> None:
    # NEC and IBM extensions that plain Shift_JIS lacks; Excel writes them.
    text = "髙橋 ①株式会社 ㈱ ～"
    assert decode_csv_bytes(text.encode("cp932")) == (text, "cp932")


def test_empty_file_is_utf8() -> None:
    assert decode_csv_bytes(b"") == ("", "utf-8")


@pytest.mark.parametrize("data", [b"name\r\n\x81\x20", b"\x85\x40", b"\xeb\x40"])
def test_undecodable_bytes_give_one_clear_error(data: bytes) -> None:
    with pytest.raises(CsvDecodeError, match="文字コードを判別できません"):
        decode_csv_bytes(data)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_is_refused_with_advice(encoding: str) -> None:
    data = SAMPLE.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    with pytest.raises(CsvDecodeError, match="UTF-16"):
        decode_csv_bytes(data)


def test_encoding_labels_are_for_people() -> None:
    assert encoding_label("cp932") == "Shift_JIS（CP932）"
    assert encoding_label("utf-8-sig") == "UTF-8（BOM付き）"
    assert encoding_label("latin-1") == "latin-1"


@settings(max_examples=100)
@given(st.text(), st.booleans())
def test_any_text_round_trips_through_utf8(text: str, bom: bool) -> None:
    data = text.encode("utf-8-sig" if bom else "utf-8")
    decoded, encoding = decode_csv_bytes(data)
    # A BOM written by hand into the text itself is indistinguishable from one
    # added by the encoder, and utf-8-sig strips exactly one.
    assert decoded == (text if bom else text.removeprefix("\ufeff"))
    assert encoding in ("utf-8", "utf-8-sig")


@settings(max_examples=100)
@given(HIRAGANA, st.text().filter(_cp932_encodable))
def test_cp932_text_starting_with_kana_round_trips(first: str, rest: str) -> None:
    # A hiragana's lead byte in CP932 (0x82) can never start UTF-8, so the
    # detection is unambiguous; Japanese exports start with such a cell almost always.
    data = (first + rest).encode("cp932")
    text, encoding = decode_csv_bytes(data)
    assert encoding == "cp932"
    # CP932 maps a few characters to the same bytes ("¬" and "￢"), so compare bytes.
    assert text.encode("cp932") == data


@settings(max_examples=100)
@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_the_one_error(data: bytes) -> None:
    try:
        text, encoding = decode_csv_bytes(data)
    except CsvDecodeError:
        return
    assert encoding in ("utf-8", "utf-8-sig", "cp932")
    assert isinstance(text, str)


# -- read_rows -------------------------------------------------------------------


def test_rows_carry_the_line_they_start_on() -> None:
    text = 'a,b\r\n1,"two\r\nlines"\r\n\r\n,\r\n3,x\n'
    rows = list(read_rows(text))
    assert [(r.line, r.cells) for r in rows] == [
        (1, ["a", "b"]),
        (2, ["1", "two\r\nlines"]),
        (6, ["3", "x"]),
    ]


def test_unclosed_quote_points_at_the_record_start() -> None:
    text = 'a,b\n1,2\n3,"never closed\n4,5\n'
    rows = read_rows(text)
    assert [r.line for r in [next(rows), next(rows)]] == [1, 2]
    with pytest.raises(CsvFormatError) as excinfo:
        next(rows)
    assert excinfo.value.line == 3
    assert "CSVとして読み取れません" in str(excinfo.value)


def test_text_after_closing_quote_is_an_error() -> None:
    with pytest.raises(CsvFormatError) as excinfo:
        list(read_rows('a,b\n"x"y,z\n'))
    assert excinfo.value.line == 2


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@settings(max_examples=100)
@given(st.lists(st.lists(st.text(max_size=8), min_size=1, max_size=4), max_size=6))
def test_written_rows_read_back_with_their_lines(rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    expected = []
    for cells in rows:
        line = len(_LINE_BREAK.findall(buffer.getvalue())) + 1
        writer.writerow(cells)
        if any(cell.strip() for cell in cells):
            expected.append((line, cells))
    assert [(r.line, r.cells) for r in read_rows(buffer.getvalue())] == expected


# -- header_problems -------------------------------------------------------------

EXPECTED = ("registration_number", "name", "themes")


def test_matching_header_has_no_problems() -> None:
    assert header_problems(list(EXPECTED), EXPECTED) == []


@pytest.mark.parametrize(
    ("actual", "fragment"),
    [
        (["registration_number", "name"], "列「themes」がありません"),
        ([*EXPECTED, "web"], "想定していない列「web」があります"),
        ([*EXPECTED, ""], "「（空欄）」"),
        (["registration_number", "name", "theme"], "「theme」"),
        (["registration_number", "name", "name", "themes"], "列「name」が重複しています"),
        (
            ["name", "registration_number", "themes"],
            "1 列目は「registration_number」のはずが「name」",
        ),
    ],
)
def test_header_problems_name_the_difference(actual: list[str], fragment: str) -> None:
    problems = header_problems(actual, EXPECTED)
    assert problems
    assert any(fragment in p for p in problems), problems


def test_misspelt_column_is_reported_as_missing_and_unexpected() -> None:
    problems = header_problems(["registration_number", "name", "theme"], EXPECTED)
    assert problems == ["列「themes」がありません。", "想定していない列「theme」があります。"]


@settings(max_examples=100)
@given(st.lists(st.sampled_from([*EXPECTED, "web", ""]), max_size=5))
def test_header_problems_are_empty_exactly_when_equal(actual: list[str]) -> None:
    assert (header_problems(actual, EXPECTED) == []) == (tuple(actual) == EXPECTED)
