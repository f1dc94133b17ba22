"""Parse the pilot Active List spreadsheet export into `ListingInput`s.

Parsing never stops at the first problem: operators fix a spreadsheet in one
pass, so every bad cell of every row is collected as a `RowError`. Cell
parsers raise `CellError`; `parse_listing_csv` turns those into row errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sekispe.lib.cells import (
    DIGITS6,
    PREFECTURE_DESCRIPTION,
    SEPARATOR,
    CellError,
    RowError,
    check_text,
    header_errors,
    model_max_length,
    normalize_cell,
    parse_bool,
    parse_date,
    parse_prefecture,
    parse_registration_number,
    parse_required_text,
    parse_text,
    read_cell,
    row_cells,
    split_cell,
)
from sekispe.lib.cells import parse_email as parse_any_email
from sekispe.lib.csvfile import CsvFormatError, CsvRow, read_rows
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

# The generic cell parsers moved to sekispe.lib.cells; they stay importable from here.
__all__ = [
    "COLUMNS",
    "MAX_FEE",
    "SEPARATOR",
    "CellError",
    "RowError",
    "check_text",
    "normalize_cell",
    "parse_bool",
    "parse_date",
    "parse_email",
    "parse_fee",
    "parse_listing_csv",
    "parse_prefecture",
    "parse_registration_number",
    "parse_required_text",
    "parse_row",
    "parse_text",
    "split_cell",
]

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
# Cells whose text may span lines (the text rule's multi-line case).
MULTILINE = frozenset({"profile"})
FEE_COLUMNS: dict[str, str] = {
    "fee_visit": "visit",
    "fee_online": "online",
    "fee_training": "training",
    "fee_product": "product",
}
# ServiceOffer.fee_yen is a PositiveIntegerField; PostgreSQL rejects anything larger.
MAX_FEE = 2_147_483_647

_AFFILIATIONS = {
    "sole": Affiliation.SOLE,
    "個人事業主": Affiliation.SOLE,
    "company": Affiliation.COMPANY,
    "企業所属": Affiliation.COMPANY,
}
_FEE = re.compile(r"[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+")
_NEGATIVE_FEE = re.compile(r"-(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)")

T = TypeVar("T")


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


def parse_prefectures(value: str) -> tuple[str, ...]:
    return parse_codes(
        value, resolve_prefecture, PREFECTURE_DESCRIPTION, required_label="支援地域（都道府県）"
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
        "、".join(others), "その他の資格", model_max_length(Listing, "other_qualifications")
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
    return parse_any_email(value, model_max_length(Listing, "email"))


# -- the file -----------------------------------------------------------------


def parse_listing_csv(text: str) -> tuple[list[ListingInput], list[RowError]]:
    """Parse a whole export. Listings are only meaningful when errors is empty."""
    # A caller that decoded with plain "utf-8" leaves the BOM glued to the first column name.
    rows = read_rows(text.removeprefix("\ufeff"))
    listings: list[ListingInput] = []
    errors: list[RowError] = []
    try:
        problems = header_errors(next(rows, None), COLUMNS)
        if problems:
            # Without the expected columns no data cell can be trusted, so stop here.
            return [], problems
        first_seen: dict[str, int] = {}
        for row in rows:
            listing, row_errors = parse_row(row)
            number = normalize_cell(row.cells[0])
            if DIGITS6.fullmatch(number) and number in first_seen:
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
    cells = row_cells(row, COLUMNS)
    if isinstance(cells, RowError):
        return None, [cells]
    raw = dict(zip(COLUMNS, cells, strict=True))
    errors: list[RowError] = []
    v: dict[str, Any] = {}

    def cell(column: str, parse: Callable[[str], Any]) -> None:
        try:
            value = raw[column]
            v[column] = read_cell(lambda: parse(value), value, multiline=column in MULTILINE)
        except CellError as exc:
            errors.append(RowError(row.line, column, str(exc)))

    cell("registration_number", parse_registration_number)
    cell("name", lambda s: parse_required_text(s, "氏名", model_max_length(RegistryRecord, "name")))
    cell(
        "name_kana",
        lambda s: parse_required_text(
            s, "氏名（カナ）", model_max_length(RegistryRecord, "name_kana")
        ),
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
    cell(
        "company", lambda s: parse_text(s, "所属企業名", model_max_length(Listing, "company_name"))
    )
    cell("email", parse_email)
    cell("phone", lambda s: parse_text(s, "電話番号", model_max_length(Listing, "phone")))
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

_THEMES: dict[str, int] = {str(code): code for code in THEME_CODES}


def _lookup_in(
    codes: Iterable[str], fold: Callable[[str], str] = lambda s: s
) -> Callable[[str], str | None]:
    table = {fold(code): code for code in codes}
    return lambda part: table.get(fold(part))
