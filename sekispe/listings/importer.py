"""Parse the pilot Active List spreadsheet export into `ListingInput`s.

Parsing never stops at the first problem: operators fix a spreadsheet in one
pass, so every bad cell of every row is collected as a `RowError`. Cell
parsers raise `CellError`; `parse_listing_csv` turns those into row errors.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from sekispe.lib.csvfile import CsvFormatError, CsvRow, header_problems, read_rows
from sekispe.listings.models import Availability, Listing
from sekispe.listings.services import ListingInput
from sekispe.reference.models import Affiliation
from sekispe.reference.services import (
    INDUSTRY_CODES,
    PERIOD_CODES,
    SYLLABUS_CODES,
    THEME_CODES,
    resolve_prefecture,
    resolve_qualification,
)
from sekispe.registry.models import RegistryRecord

COLUMNS: tuple[str, ...] = (
    "registration_number",
    "name",
    "name_kana",
    "registered_on",
    "expires_on",
    "home_prefecture",
    "prefectures",
    "themes",
    "syllabus_items",
    "industries",
    "periods",
    "first_free",
    "fee_visit",
    "fee_online",
    "fee_training",
    "fee_product",
    "qualifications",
    "affiliation",
    "company",
    "email",
    "phone",
    "accepting",
    "profile",
)
FEE_COLUMNS: dict[str, str] = {
    "fee_visit": "visit",
    "fee_online": "online",
    "fee_training": "training",
    "fee_product": "product",
}
SEPARATOR = "|"
# ServiceOffer.fee_yen is a PositiveIntegerField; PostgreSQL rejects anything larger.
MAX_FEE = 2_147_483_647

_TRUE = frozenset({"true", "1", "あり"})
_FALSE = frozenset({"false", "0", "なし"})
_AFFILIATIONS = {
    "sole": Affiliation.SOLE,
    "個人事業主": Affiliation.SOLE,
    "company": Affiliation.COMPANY,
    "企業所属": Affiliation.COMPANY,
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DIGITS6 = re.compile(r"[0-9]{6}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FEE = re.compile(r"[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+")
_NEGATIVE_FEE = re.compile(r"-(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)")

T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    row: int  # line number in the file; the header is row 1
    column: str  # empty when the problem concerns the whole row
    message: str

    def __str__(self) -> str:
        if self.column:
            return f"行 {self.row}, 列 {self.column}: {self.message}"
        return f"行 {self.row}: {self.message}"


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the operator as is."""


def normalize_cell(value: str) -> str:
    """NFKC folds full-width digits, letters and punctuation typed in Japanese IMEs."""
    return unicodedata.normalize("NFKC", value).strip()


def split_cell(value: str) -> list[str]:
    """Split a multi-value cell on "|", dropping blanks and repeats, keeping order."""
    parts = (normalize_cell(part) for part in normalize_cell(value).split(SEPARATOR))
    return list(dict.fromkeys(part for part in parts if part))


# -- cell parsers ---------------------------------------------------------------


def parse_registration_number(value: str) -> str:
    value = normalize_cell(value)
    if not value:
        raise CellError("登録番号は必須です。")
    if not _DIGITS6.fullmatch(value):
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
    # PostgreSQL refuses NUL in text, and other control characters are
    # copy-paste debris that would end up on the public page.
    if _CONTROL.search(value):
        raise CellError(f"{label}に制御文字を含めることはできません。")
    if not multiline and ("\n" in value or "\r" in value):
        raise CellError(f"{label}に改行を含めることはできません。")
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


def parse_fee(value: str) -> int | None:
    """Yen per visit or session; None for an empty cell (the form is not offered)."""
    value = normalize_cell(value)
    if not value:
        return None
    if _NEGATIVE_FEE.fullmatch(value):
        raise CellError(f"「{value}」: 料金に負の値は指定できません。")
    if not _FEE.fullmatch(value):
        raise CellError(
            f"「{value}」は料金（0以上の整数の円、例: 30000 または 30,000）ではありません。"
        )
    fee = int(value.replace(",", ""))
    if fee > MAX_FEE:
        raise CellError(f"「{value}」: 料金が大きすぎます（上限 {MAX_FEE:,} 円）。")
    return fee


def parse_codes(
    value: str,
    lookup: Callable[[str], T | None],
    describe: str,
    *,
    required_label: str | None = None,
) -> tuple[T, ...]:
    """Map every "|"-separated part through `lookup`; unknown parts are one error.

    `describe` completes the sentence 「X」は…ではありません。
    """
    parts = split_cell(value)
    if not parts and required_label:
        raise CellError(f"{required_label}を1つ以上指定してください。")
    found: list[T] = []
    unknown: list[str] = []
    for part in parts:
        code = lookup(part)
        if code is None:
            unknown.append(part)
        elif code not in found:
            found.append(code)
    if unknown:
        names = "、".join(f"「{part}」" for part in unknown)
        raise CellError(f"{names}は{describe}ではありません。")
    return tuple(found)


def parse_prefecture(value: str, label: str) -> str:
    value = normalize_cell(value)
    if not value:
        raise CellError(f"{label}は必須です。")
    code = resolve_prefecture(value)
    if code is None:
        raise CellError(f"「{value}」は{_PREFECTURE_DESCRIPTION}ではありません。")
    return code


def parse_prefectures(value: str) -> tuple[str, ...]:
    return parse_codes(
        value, resolve_prefecture, _PREFECTURE_DESCRIPTION, required_label="支援地域（都道府県）"
    )


def parse_themes(value: str) -> tuple[int, ...]:
    return parse_codes(
        value, _THEMES.get, "指導テーマのコード（1〜5）", required_label="指導テーマ"
    )


def parse_syllabus_items(value: str) -> tuple[str, ...]:
    return parse_codes(value, _lookup_in(SYLLABUS_CODES), "シラバス小項目のコード（例: 1-4）")


def parse_industries(value: str) -> tuple[str, ...]:
    return parse_codes(
        value,
        _lookup_in(INDUSTRY_CODES, str.upper),
        "業種のコード（日本標準産業分類の大分類 A〜T）",
    )


def parse_periods(value: str) -> tuple[str, ...]:
    return parse_codes(
        value,
        _lookup_in(PERIOD_CODES, str.lower),
        f"支援可能期間のコード（{'、'.join(PERIOD_CODES)}）",
    )


def parse_qualifications(value: str) -> tuple[tuple[str, ...], str]:
    """(known qualification codes, other names joined with 「、」).

    Names outside the code list are kept as free text rather than rejected:
    the pilot list let specialists type any qualification they hold.
    """
    codes: list[str] = []
    others: list[str] = []
    for part in split_cell(value):
        code = resolve_qualification(part)
        if code is None:
            others.append(part)
        elif code not in codes:
            codes.append(code)
    other = check_text(
        "、".join(others), "その他の資格", _max_length(Listing, "other_qualifications")
    )
    return tuple(codes), other


def parse_affiliation(value: str) -> str:
    value = normalize_cell(value)
    if not value:
        return Affiliation.SOLE
    affiliation = _AFFILIATIONS.get(value.casefold())
    if affiliation is None:
        raise CellError(
            f"「{value}」は所属形態ではありません。sole（個人事業主）または company（企業所属）を"
            "指定してください。"
        )
    return affiliation


def parse_email(value: str) -> str:
    value = normalize_cell(value)
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise CellError(f"「{value}」はメールアドレスの形式ではありません。") from None
    return check_text(value, "メールアドレス", _max_length(Listing, "email"))


# -- the file -----------------------------------------------------------------


def parse_listing_csv(text: str) -> tuple[list[ListingInput], list[RowError]]:
    """Parse a whole export. Listings are only meaningful when errors is empty."""
    # A caller that decoded with plain "utf-8" leaves the BOM glued to the first column name.
    rows = read_rows(text.removeprefix("\ufeff"))
    listings: list[ListingInput] = []
    errors: list[RowError] = []
    try:
        header = next(rows, None)
        if header is None:
            return [], [RowError(1, "", "ファイルが空です。ヘッダー行が必要です。")]
        problems = header_problems([normalize_cell(c) for c in header.cells], COLUMNS)
        if problems:
            # Without the expected columns no data cell can be trusted, so stop here.
            return [], [
                RowError(header.line, "", f"ヘッダー行が正しくありません。{p}") for p in problems
            ]
        first_seen: dict[str, int] = {}
        for row in rows:
            listing, row_errors = parse_row(row)
            number = normalize_cell(row.cells[0])
            if _DIGITS6.fullmatch(number) and number in first_seen:
                if not any(e.column == "registration_number" for e in row_errors):
                    row_errors.append(
                        RowError(
                            row.line,
                            "registration_number",
                            f"登録番号「{number}」は {first_seen[number]} 行目と重複しています。",
                        )
                    )
                listing = None
            first_seen.setdefault(number, row.line)
            errors.extend(row_errors)
            if listing is not None:
                listings.append(listing)
    except CsvFormatError as exc:
        errors.append(RowError(exc.line, "", str(exc)))
    return listings, errors


def parse_row(row: CsvRow) -> tuple[ListingInput | None, list[RowError]]:
    """One data row; the listing is None whenever there is at least one error."""
    cells = row.cells
    if len(cells) > len(COLUMNS) and not any(c.strip() for c in cells[len(COLUMNS) :]):
        # Spreadsheets pad rows with empty cells after the last used column.
        cells = cells[: len(COLUMNS)]
    if len(cells) != len(COLUMNS):
        return None, [
            RowError(
                row.line,
                "",
                f"列の数が {len(cells)} 個です（ヘッダーと同じ {len(COLUMNS)} 個が必要です）。"
                '値に「,」や改行を含むときは全体を " で囲んでください。',
            )
        ]
    raw = dict(zip(COLUMNS, cells, strict=True))
    errors: list[RowError] = []
    v: dict[str, Any] = {}

    def cell(column: str, parse: Callable[[str], Any]) -> None:
        try:
            v[column] = parse(raw[column])
        except CellError as exc:
            errors.append(RowError(row.line, column, str(exc)))

    cell("registration_number", parse_registration_number)
    cell("name", lambda s: parse_required_text(s, "氏名", _max_length(RegistryRecord, "name")))
    cell(
        "name_kana",
        lambda s: parse_required_text(s, "氏名（カナ）", _max_length(RegistryRecord, "name_kana")),
    )
    cell("registered_on", lambda s: parse_date(s, "登録日"))
    cell("expires_on", lambda s: parse_date(s, "有効期限"))
    cell("home_prefecture", lambda s: parse_prefecture(s, "自宅都道府県"))
    cell("prefectures", parse_prefectures)
    cell("themes", parse_themes)
    cell("syllabus_items", parse_syllabus_items)
    cell("industries", parse_industries)
    cell("periods", parse_periods)
    cell("first_free", lambda s: parse_bool(s, default=False))
    for column in FEE_COLUMNS:
        cell(column, parse_fee)
    cell("qualifications", parse_qualifications)
    cell("affiliation", parse_affiliation)
    cell("company", lambda s: parse_text(s, "所属企業名", _max_length(Listing, "company_name")))
    cell("email", parse_email)
    cell("phone", lambda s: parse_text(s, "電話番号", _max_length(Listing, "phone")))
    cell("accepting", lambda s: parse_bool(s, default=True))
    cell("profile", lambda s: parse_text(s, "プロフィール", multiline=True))

    registered, expires = v.get("registered_on"), v.get("expires_on")
    if registered and expires and expires <= registered:
        errors.append(
            RowError(
                row.line,
                "expires_on",
                f"有効期限（{expires.isoformat()}）は登録日（{registered.isoformat()}）より"
                "後の日付にしてください。",
            )
        )
    if v.get("affiliation") == Affiliation.COMPANY and v.get("company") == "":
        errors.append(
            RowError(row.line, "company", "所属形態が企業所属のときは所属企業名が必須です。")
        )
    if errors:
        return None, errors

    qualifications, other_qualifications = v["qualifications"]
    listing = ListingInput(
        registration_number=v["registration_number"],
        name=v["name"],
        name_kana=v["name_kana"],
        registered_on=registered,
        expires_on=expires,
        home_prefecture=v["home_prefecture"],
        prefectures=v["prefectures"],
        themes=v["themes"],
        syllabus_items=v["syllabus_items"],
        industries=v["industries"],
        periods=v["periods"],
        qualifications=qualifications,
        other_qualifications=other_qualifications,
        first_free=v["first_free"],
        fees={form: v[column] for column, form in FEE_COLUMNS.items() if v[column] is not None},
        affiliation=v["affiliation"],
        company_name=v["company"],
        email=v["email"],
        phone=v["phone"],
        profile=v["profile"],
        availability=Availability.ACCEPTING if v["accepting"] else Availability.NOT_ACCEPTING,
    )
    return listing, []


# -- helpers --------------------------------------------------------------------

_PREFECTURE_DESCRIPTION = "都道府県名またはJISコード（01〜47）"
_THEMES: dict[str, int] = {str(code): code for code in THEME_CODES}


def _lookup_in(
    codes: Iterable[str], fold: Callable[[str], str] = lambda s: s
) -> Callable[[str], str | None]:
    table = {fold(code): code for code in codes}
    return lambda part: table.get(fold(part))


def _max_length(model: type, field: str) -> int | None:
    return model._meta.get_field(field).max_length  # type: ignore[attr-defined]
