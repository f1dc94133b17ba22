from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.audit.models import AuditEvent
from sekispe.listings.importer import (
    COLUMNS,
    MAX_FEE,
    CellError,
    RowError,
    parse_bool,
    parse_fee,
    parse_listing_csv,
)
from sekispe.listings.models import Availability, Listing, ServiceOffer
from sekispe.listings.services import ListingInput
from sekispe.reference import data
from sekispe.reference.services import (
    INDUSTRY_CODES,
    PERIOD_CODES,
    PREFECTURE_CODES,
    QUALIFICATION_CODES,
    SYLLABUS_CODES,
    THEME_CODES,
)
from sekispe.registry.models import RegistryRecord

SAMPLE = Path(__file__).parent / "fixtures" / "pilot_listings_sample.csv"
SAMPLE_NUMBERS = ["003127", "008411", "012560", "020034", "027719", "031582"]

VALID: dict[str, str] = {
    "registration_number": "123456",
    "name": "鈴木 一郎",
    "name_kana": "スズキ イチロウ",
    "registered_on": "2022-04-01",
    "expires_on": "2025-03-31",
    "home_prefecture": "東京都",
    "prefectures": "東京都|神奈川",
    "themes": "1|3",
    "syllabus_items": "1-4",
    "industries": "G",
    "periods": "spot",
    "first_free": "true",
    "fee_visit": "30000",
    "fee_online": "",
    "fee_training": "",
    "fee_product": "",
    "qualifications": "",
    "affiliation": "sole",
    "company": "",
    "email": "ichiro@example.jp",
    "phone": "03-1234-5678",
    "accepting": "1",
    "profile": "中小企業の規程整備を支援しています。",
}


def make_row(**changes: str) -> dict[str, str]:
    unknown = set(changes) - set(COLUMNS)
    assert not unknown, unknown
    return {**VALID, **changes}


def csv_text(rows: list[dict[str, str]], header: list[str] | tuple[str, ...] = COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return buffer.getvalue()


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def run_import(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_listings", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, dict[str, Any]]:
    """Everything the import writes, including timestamps, keyed by number."""
    result: dict[str, dict[str, Any]] = {}
    for listing in Listing.objects.select_related("record").order_by("record__registration_number"):
        record = listing.record
        result[record.registration_number] = {
            "record": {
                f.attname: getattr(record, f.attname) for f in RegistryRecord._meta.concrete_fields
            },
            "listing": {
                f.attname: getattr(listing, f.attname) for f in Listing._meta.concrete_fields
            },
            "prefectures": sorted(listing.prefectures.values_list("code", flat=True)),
            "themes": sorted(listing.themes.values_list("code", flat=True)),
            "syllabus_items": sorted(listing.syllabus_items.values_list("code", flat=True)),
            "industries": sorted(listing.industries.values_list("code", flat=True)),
            "periods": sorted(listing.periods.values_list("code", flat=True)),
            "qualifications": sorted(listing.qualifications.values_list("code", flat=True)),
            "fees": sorted(listing.offers.values_list("form", "fee_yen")),
        }
    return result


def parse_one(**changes: str) -> tuple[list[ListingInput], list[RowError]]:
    return parse_listing_csv(csv_text([make_row(**changes)]))


# -- a valid file ------------------------------------------------------------------


@pytest.mark.django_db
def test_sample_file_imports_every_row() -> None:
    output = run_import(SAMPLE)

    assert "追加 6 件、更新 0 件、変更なし 0 件" in output
    assert sorted(RegistryRecord.objects.values_list("registration_number", flat=True)) == (
        SAMPLE_NUMBERS
    )
    assert Listing.objects.count() == 6
    sato = Listing.objects.get(record__registration_number="008411")
    assert sato.record.name == "佐藤 美咲"
    assert sato.record.home_prefecture_id == "23"
    assert sorted(sato.prefectures.values_list("code", flat=True)) == ["21", "23", "24"]
    assert sorted(sato.themes.values_list("code", flat=True)) == [3, 5]
    assert sato.affiliation == "company"
    assert sato.company_name == "東海サイバーコンサルティング株式会社"
    assert sorted(sato.offers.values_list("form", "fee_yen")) == [
        ("online", 20000),
        ("product", 10000),
        ("visit", 40000),
    ]
    nakamura = Listing.objects.get(record__registration_number="012560")
    assert nakamura.availability == Availability.NOT_ACCEPTING
    assert nakamura.first_free is False
    assert list(nakamura.qualifications.values_list("code", flat=True)) == ["csa"]
    assert nakamura.other_qualifications == "情報セキュリティマネジメント試験"
    oonishi = Listing.objects.get(record__registration_number="003127")
    assert oonishi.profile.count("\n") == 1


@pytest.mark.django_db
def test_import_is_audited_with_file_name_and_hash() -> None:
    run_import(SAMPLE)

    event = AuditEvent.objects.get(action="listings.bulk_write")
    assert event.actor_label == "import-listings"
    assert event.data["file"] == SAMPLE.name
    assert event.data["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert event.data["inserted"] == 6
    assert sorted(event.data["changed"]) == SAMPLE_NUMBERS


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8（BOM付き）"), ("cp932", "Shift_JIS（CP932）")],
)
def test_spreadsheet_encodings_import_the_same(tmp_path: Path, encoding: str, label: str) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    path = write_csv(tmp_path / "pilot.csv", text, encoding)

    output = run_import(path)

    assert f"文字コード {label}" in output
    assert Listing.objects.count() == 6
    record = RegistryRecord.objects.get(registration_number="020034")
    assert (record.name, record.name_kana) == ("高橋 由紀", "タカハシ ユキ")
    assert Listing.objects.get(record=record).profile.startswith("税理士事務所と連携し")


@pytest.mark.django_db
def test_undecodable_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(csv_text([VALID]).encode("utf-8") + b"\x85\x40")

    with pytest.raises(CommandError, match="文字コードを判別できません"):
        run_import(path)
    assert RegistryRecord.objects.count() == 0


@pytest.mark.django_db
def test_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="読み込めません"):
        run_import(tmp_path / "nothing.csv")


@pytest.mark.django_db
def test_header_only_file_writes_nothing(tmp_path: Path) -> None:
    output = run_import(write_csv(tmp_path / "empty.csv", csv_text([])))

    assert "データ行がありません" in output
    assert AuditEvent.objects.count() == 0


def test_cell_formats_are_normalised() -> None:
    listings, errors = parse_one(
        registration_number="１２３４５６",
        name="　鈴木　一郎　",
        name_kana="ｽｽﾞｷ ｲﾁﾛｳ",
        home_prefecture="13",
        prefectures="大阪府｜大阪|27|兵庫|1",
        themes="５|1|5",
        syllabus_items="１－４|3-11",
        industries="e|Ｇ",
        periods="SPOT|12m+",
        first_free="なし",
        fee_visit="３０，０００",
        fee_online="0",
        fee_product="1,200,000",
        qualifications="中小企業診断士|cissp|CISSP|技術士(情報工学部門)|PMP|ネットワークスペシャリスト",
        affiliation="企業所属",
        company="株式会社サンプル",
        accepting="FALSE",
    )

    assert errors == []
    [listing] = listings
    assert listing.registration_number == "123456"
    assert listing.name == "鈴木 一郎"
    assert listing.name_kana == "スズキ イチロウ"
    assert listing.home_prefecture == "13"
    assert listing.prefectures == ("27", "28", "01")
    assert listing.themes == (5, 1)
    assert listing.syllabus_items == ("1-4", "3-11")
    assert listing.industries == ("E", "G")
    assert listing.periods == ("spot", "12m+")
    assert listing.first_free is False
    assert listing.fees == {"visit": 30000, "online": 0, "product": 1200000}
    assert listing.qualifications == ("smeca", "cissp", "pe")
    assert listing.other_qualifications == "PMP、ネットワークスペシャリスト"
    assert listing.affiliation == "company"
    assert listing.availability == Availability.NOT_ACCEPTING


def test_empty_optional_cells_take_the_defaults() -> None:
    listings, errors = parse_one(
        syllabus_items="",
        industries="",
        periods="",
        first_free="",
        fee_visit="",
        affiliation="",
        email="",
        phone="",
        accepting="",
        profile="",
    )

    assert errors == []
    [listing] = listings
    assert listing.fees == {}
    assert (listing.first_free, listing.availability) == (False, Availability.ACCEPTING)
    assert listing.affiliation == "sole"
    assert (listing.syllabus_items, listing.industries, listing.periods) == ((), (), ())


def test_row_numbers_follow_physical_lines() -> None:
    rows = [
        make_row(registration_number="100001", profile="一行目\n二行目\n三行目"),
        make_row(registration_number="100002", themes="9"),
    ]
    _, errors = parse_listing_csv(csv_text(rows))
    assert errors == [
        RowError(5, "themes", "「9」は指導テーマのコード（1〜5）ではありません。"),
    ]


def test_trailing_blank_rows_and_padding_cells_are_ignored() -> None:
    header, row = csv_text([VALID]).splitlines()
    text = f"{header}\r\n{row},,\r\n,,,,\r\n\r\n"
    listings, errors = parse_listing_csv(text)
    assert errors == []
    assert len(listings) == 1


# -- bad cells ---------------------------------------------------------------------

BAD_CELLS = [
    ("registration_number", "12345", "「12345」は登録番号（6桁の数字）ではありません。"),
    ("registration_number", "12345a", "登録番号（6桁の数字）"),
    ("registration_number", "1234567", "登録番号（6桁の数字）"),
    ("registration_number", "", "登録番号は必須です。"),
    ("name", "", "氏名は必須です。"),
    ("name", "鈴木\n一郎", "改行"),
    ("name", "鈴木" * 33, "64文字以内"),
    ("name_kana", " ", "氏名（カナ）は必須です。"),
    ("registered_on", "2022/04/01", "「2022/04/01」は日付（YYYY-MM-DD"),
    ("registered_on", "2022-02-30", "日付（YYYY-MM-DD"),
    ("registered_on", "", "登録日は必須です。"),
    ("expires_on", "20250331", "日付（YYYY-MM-DD"),
    ("expires_on", "", "有効期限は必須です。"),
    ("home_prefecture", "大坂", "「大坂」は都道府県名またはJISコード（01〜47）ではありません。"),
    ("home_prefecture", "48", "都道府県名またはJISコード"),
    ("home_prefecture", "", "自宅都道府県は必須です。"),
    ("prefectures", "東京都|ニューヨーク|0", "「ニューヨーク」、「0」は都道府県名"),
    ("prefectures", "", "支援地域（都道府県）を1つ以上指定してください。"),
    ("prefectures", "|", "支援地域（都道府県）を1つ以上指定してください。"),
    ("themes", "7", "「7」は指導テーマのコード（1〜5）ではありません。"),
    ("themes", "1|0", "「0」は指導テーマのコード"),
    ("themes", "", "指導テーマを1つ以上指定してください。"),
    ("syllabus_items", "1-4|9-1", "「9-1」はシラバス小項目のコード"),
    ("industries", "Z", "「Z」は業種のコード（日本標準産業分類の大分類 A〜T）ではありません。"),
    ("industries", "製造業", "「製造業」は業種のコード"),
    ("periods", "2y", "「2y」は支援可能期間のコード（spot、1-3m、3-6m、6-12m、12m+）"),
    ("first_free", "yes", "「yes」は真偽値ではありません。"),
    ("first_free", "はい", "真偽値ではありません"),
    ("accepting", "受付中", "「受付中」は真偽値ではありません。"),
    ("fee_visit", "三万円", "「三万円」は料金"),
    ("fee_online", "30000.5", "料金（0以上の整数の円"),
    ("fee_training", "3,00,000", "料金（0以上の整数の円"),
    ("fee_product", "-1000", "料金に負の値は指定できません。"),
    ("fee_visit", "-30,000", "料金に負の値は指定できません。"),
    ("fee_visit", str(MAX_FEE + 1), "料金が大きすぎます"),
    ("affiliation", "freelance", "「freelance」は所属形態ではありません。"),
    ("email", "not-an-email", "「not-an-email」はメールアドレスの形式ではありません。"),
    ("email", "a@b@example.jp", "メールアドレスの形式ではありません"),
    ("phone", "0" * 33, "電話番号は32文字以内"),
    ("phone", "03\x001234", "電話番号に制御文字を含めることはできません。"),
    ("profile", "プロフィール\x00", "制御文字"),
    ("qualifications", "あ" * 201, "その他の資格は200文字以内"),
]


@pytest.mark.parametrize(("column", "value", "message"), BAD_CELLS)
def test_bad_cell_is_reported_with_row_and_column(column: str, value: str, message: str) -> None:
    listings, errors = parse_one(**{column: value})

    assert listings == []
    assert len(errors) == 1, errors
    assert (errors[0].row, errors[0].column) == (2, column)
    assert message in errors[0].message
    assert str(errors[0]).startswith(f"行 2, 列 {column}: ")


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        (
            {"affiliation": "company", "company": ""},
            "company",
            "所属形態が企業所属のときは所属企業名が必須です。",
        ),
        (
            {"affiliation": "企業所属", "company": "  "},
            "company",
            "所属企業名が必須です",
        ),
        (
            {"registered_on": "2022-04-01", "expires_on": "2021-03-31"},
            "expires_on",
            "有効期限（2021-03-31）は登録日（2022-04-01）より後の日付にしてください。",
        ),
        (
            {"registered_on": "2022-04-01", "expires_on": "2022-04-01"},
            "expires_on",
            "より後の日付",
        ),
    ],
)
def test_rules_across_cells(changes: dict[str, str], column: str, message: str) -> None:
    listings, errors = parse_one(**changes)

    assert listings == []
    assert [(e.row, e.column) for e in errors] == [(2, column)]
    assert message in errors[0].message


def test_company_name_may_accompany_a_sole_proprietor() -> None:
    # A sole proprietor's trade name (屋号) goes in the same column.
    listings, errors = parse_one(affiliation="個人事業主", company="鈴木セキュリティ事務所")
    assert errors == []
    assert listings[0].company_name == "鈴木セキュリティ事務所"


def test_duplicate_number_is_an_error_on_the_later_row() -> None:
    rows = [
        make_row(registration_number="200001"),
        make_row(registration_number="200002"),
        make_row(registration_number="２００００１", name="別人"),
    ]
    _, errors = parse_listing_csv(csv_text(rows))

    assert errors == [
        RowError(4, "registration_number", "登録番号「200001」は 2 行目と重複しています。")
    ]


def test_short_row_is_reported_for_the_whole_row() -> None:
    text = csv_text([VALID]) + "300001,山田 花子,ヤマダ ハナコ\r\n"
    _, errors = parse_listing_csv(text)

    assert [(e.row, e.column) for e in errors] == [(3, "")]
    assert "列の数が 3 個です" in errors[0].message
    assert str(errors[0]).startswith("行 3: ")


def test_unclosed_quote_is_reported() -> None:
    text = csv_text([VALID]) + '300001,"山田 花子\r\n'
    _, errors = parse_listing_csv(text)

    assert [(e.row, e.column) for e in errors] == [(3, "")]
    assert "CSVとして読み取れません" in errors[0].message


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ([c for c in COLUMNS if c != "email"], "列「email」がありません。"),
        ([*COLUMNS, "web"], "想定していない列「web」があります。"),
        (["fee", *COLUMNS[1:]], "列「registration_number」がありません。"),
        ([COLUMNS[1], COLUMNS[0], *COLUMNS[2:]], "列の順序が違います"),
        ([*COLUMNS[:-1], "name"], "列「profile」がありません。"),
    ],
)
def test_bad_header_names_the_difference(header: list[str], fragment: str) -> None:
    listings, errors = parse_listing_csv(csv_text([VALID], header=header))

    assert listings == []
    assert errors
    assert all(e.row == 1 for e in errors)
    assert any(fragment in e.message for e in errors), errors
    assert all(e.message.startswith("ヘッダー行が正しくありません。") for e in errors)


def test_empty_file_is_an_error() -> None:
    assert parse_listing_csv("") == (
        [],
        [RowError(1, "", "ファイルが空です。ヘッダー行が必要です。")],
    )


# -- all or nothing --------------------------------------------------------------


@pytest.mark.django_db
def test_one_bad_row_means_nothing_is_imported(tmp_path: Path) -> None:
    rows = [
        make_row(registration_number="400001"),
        make_row(registration_number="400002"),
        make_row(registration_number="400003", themes="7", email="x@"),
        make_row(registration_number="400004"),
        make_row(registration_number="400001", fee_visit="-1"),
    ]
    path = write_csv(tmp_path / "pilot.csv", csv_text(rows))

    with pytest.raises(CommandError) as excinfo:
        run_import(path)

    message = str(excinfo.value)
    assert "4 件の誤りがあるため、何も取り込みませんでした" in message
    assert "行 4, 列 themes: 「7」は指導テーマのコード（1〜5）ではありません。" in message
    assert "行 4, 列 email: 「x@」はメールアドレスの形式ではありません。" in message
    assert "行 6, 列 fee_visit: 「-1」: 料金に負の値は指定できません。" in message
    assert "行 6, 列 registration_number: 登録番号「400001」は 2 行目と重複しています。" in message
    assert Listing.objects.count() == 0
    assert RegistryRecord.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_bad_file_leaves_earlier_import_untouched(tmp_path: Path) -> None:
    run_import(SAMPLE)
    before = snapshot()
    text = SAMPLE.read_text(encoding="utf-8").replace("大西 健一", "大西 健二")
    text = text.replace("031582,山本 彩", "031582,")
    path = write_csv(tmp_path / "pilot.csv", text)

    with pytest.raises(CommandError, match="行 8, 列 name: 氏名は必須です。"):
        run_import(path)
    assert snapshot() == before


# -- re-import -----------------------------------------------------------------------


@pytest.mark.django_db
def test_reimporting_the_same_file_changes_nothing() -> None:
    run_import(SAMPLE)
    before = snapshot()

    output = run_import(SAMPLE)

    assert "追加 0 件、更新 0 件、変更なし 6 件" in output
    assert snapshot() == before
    assert Listing.objects.count() == 6
    assert RegistryRecord.objects.count() == 6


@pytest.mark.django_db
def test_reimporting_the_same_data_in_another_encoding_changes_nothing(tmp_path: Path) -> None:
    run_import(SAMPLE)
    before = snapshot()
    path = write_csv(tmp_path / "pilot.csv", SAMPLE.read_text(encoding="utf-8"), "cp932")

    assert "変更なし 6 件" in run_import(path)
    assert snapshot() == before


@pytest.mark.django_db
def test_reimporting_a_modified_file_updates_by_number(tmp_path: Path) -> None:
    run_import(SAMPLE)
    before = snapshot()
    text = SAMPLE.read_text(encoding="utf-8")
    # 佐藤: the on-site fee changes and the product form is withdrawn.
    text = text.replace('あり,"40,000","20,000",,"10,000",CISSP', 'あり,"45,000","20,000",,,CISSP')
    # 中村: accepting again, with one more region.
    text = text.replace("埼玉|東京|群馬,4", "埼玉|東京|群馬|栃木,4").replace(
        ",,なし,イ", ",,あり,イ"
    )
    # A new specialist.
    text += (
        "040001,小林 直樹,コバヤシ ナオキ,2024-04-01,2027-03-31,広島県,広島県|岡山県,2,"
        "1-2,E,spot,true,20000,,,,,sole,,kobayashi@example.jp,,true,広島で活動しています。\r\n"
    )
    path = write_csv(tmp_path / "pilot-v2.csv", text)

    output = run_import(path)

    assert "追加 1 件、更新 2 件、変更なし 4 件" in output
    after = snapshot()
    assert after["008411"]["fees"] == [("online", 20000), ("visit", 45000)]
    assert after["012560"]["prefectures"] == ["09", "10", "11", "13"]
    assert after["012560"]["listing"]["availability"] == Availability.ACCEPTING
    assert after["008411"]["listing"]["updated_at"] > before["008411"]["listing"]["updated_at"]
    for number in ("003127", "020034", "027719", "031582"):
        assert after[number] == before[number]
    assert ServiceOffer.objects.filter(listing__record__registration_number="008411").count() == 2
    event = AuditEvent.objects.filter(action="listings.bulk_write").order_by("-id").first()
    assert sorted(event.data["changed"]) == ["008411", "012560", "040001"]


@pytest.mark.django_db
def test_dry_run_reports_counts_without_writing(tmp_path: Path) -> None:
    output = run_import(SAMPLE, "--dry-run")

    assert "[確認のみ]" in output
    assert "追加 6 件" in output
    assert Listing.objects.count() == 0
    assert RegistryRecord.objects.count() == 0
    assert AuditEvent.objects.count() == 0

    run_import(SAMPLE)
    before = snapshot()
    text = SAMPLE.read_text(encoding="utf-8").replace("大西 健一", "大西 健二")
    output = run_import(write_csv(tmp_path / "pilot.csv", text), "--dry-run")
    assert "追加 0 件、更新 1 件、変更なし 5 件" in output
    assert snapshot() == before


@pytest.mark.django_db
def test_dry_run_still_fails_on_bad_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "pilot.csv", csv_text([make_row(themes="")]))
    with pytest.raises(CommandError, match="行 2, 列 themes"):
        run_import(path, "--dry-run")


# -- properties ----------------------------------------------------------------------

_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
PREFECTURES = {p.code: p for p in data.PREFECTURES}
QUALIFICATION_NAMES = {code: name for code, name, _ in data.QUALIFICATIONS}
OTHER_QUALIFICATIONS = ["PMP", "ネットワークスペシャリスト", "CompTIA Security+", "行政書士"]
NAME_TEXT = st.text(
    # Cf: names refuse invisible formatting characters (U+202E, U+200B; lib/text.py).
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
    max_size=20,
).filter(lambda s: 0 < len(unicodedata.normalize("NFKC", s).strip()) <= 60)


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


@st.composite
def listing_rows(draw: st.DrawFn) -> tuple[dict[str, str], ListingInput]:
    """A valid CSV row, written in any of the accepted spellings, and its meaning."""
    number = draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    name = draw(NAME_TEXT)
    kana = draw(NAME_TEXT)
    registered = draw(st.dates(dt.date(2017, 4, 1), dt.date(2035, 12, 31)))
    expires = registered + dt.timedelta(days=draw(st.integers(1, 3 * 366)))

    def spell_prefecture(code: str) -> str:
        pref = PREFECTURES[code]
        return draw(st.sampled_from([code, str(int(code)), pref.name, pref.short_name]))

    home = draw(st.sampled_from(PREFECTURE_CODES))
    prefectures = draw(st.lists(st.sampled_from(PREFECTURE_CODES), min_size=1, unique=True))
    themes = draw(st.lists(st.sampled_from(THEME_CODES), min_size=1, unique=True))
    syllabus = draw(st.lists(st.sampled_from(SYLLABUS_CODES), unique=True, max_size=6))
    industries = draw(st.lists(st.sampled_from(INDUSTRY_CODES), unique=True, max_size=5))
    periods = draw(st.lists(st.sampled_from(PERIOD_CODES), unique=True))
    qualifications = draw(st.lists(st.sampled_from(QUALIFICATION_CODES), unique=True))
    others = draw(st.lists(st.sampled_from(OTHER_QUALIFICATIONS), unique=True))
    qualification_cells = draw(
        st.permutations(
            [*(draw(st.sampled_from([q, QUALIFICATION_NAMES[q]])) for q in qualifications), *others]
        )
    )
    # Codes keep the order in which the cell lists them, whether spelt as code or name.
    code_of = {spelling: q for q in qualifications for spelling in (q, QUALIFICATION_NAMES[q])}
    first_free = draw(st.booleans())
    accepting = draw(st.booleans())
    fees = draw(
        st.dictionaries(
            st.sampled_from(["visit", "online", "training", "product"]),
            st.integers(0, 10_000_000),
        )
    )
    company_affiliated = draw(st.booleans())
    company = nfkc(draw(NAME_TEXT)) if company_affiliated else ""
    email = draw(
        st.one_of(st.just(""), st.from_regex(r"[a-z][a-z0-9_]{0,8}@[a-z]{1,8}\.jp", fullmatch=True))
    )
    phone = draw(
        st.one_of(st.just(""), st.from_regex(r"0[0-9]{1,4}-[0-9]{1,4}-[0-9]{4}", fullmatch=True))
    )
    profile = draw(
        st.text(
            alphabet=st.characters(
                # Cf: free text loses invisible formatting characters (lib/text.py).
                codec="utf-8",
                exclude_categories=("Cc", "Cf", "Cs"),
                include_characters="\n",
            ),
            max_size=80,
        )
    )

    def spell_bool(value: bool) -> str:
        return draw(
            st.sampled_from(
                ["true", "1", "あり", "TRUE", "True"] if value else ["false", "0", "なし", "FALSE"]
            )
        )

    def spell_fee(fee: int | None) -> str:
        if fee is None:
            return ""
        return draw(st.sampled_from([str(fee), f"{fee:,}", str(fee).translate(_FULL_WIDTH)]))

    row = {
        "registration_number": number,
        "name": name,
        "name_kana": kana,
        "registered_on": registered.isoformat(),
        "expires_on": expires.isoformat(),
        "home_prefecture": spell_prefecture(home),
        "prefectures": "|".join(spell_prefecture(c) for c in prefectures),
        "themes": "|".join(str(t) for t in themes),
        "syllabus_items": "|".join(syllabus),
        "industries": "|".join(draw(st.sampled_from([c, c.lower()])) for c in industries),
        "periods": "|".join(periods),
        "first_free": spell_bool(first_free),
        **{
            f"fee_{form}": spell_fee(fees.get(form))
            for form in ("visit", "online", "training", "product")
        },
        "qualifications": "|".join(qualification_cells),
        "affiliation": draw(
            st.sampled_from(
                ["company", "企業所属"] if company_affiliated else ["sole", "個人事業主", ""]
            )
        ),
        "company": company,
        "email": email,
        "phone": phone,
        "accepting": spell_bool(accepting),
        "profile": profile,
    }
    expected = ListingInput(
        registration_number=number,
        name=nfkc(name),
        name_kana=nfkc(kana),
        registered_on=registered,
        expires_on=expires,
        home_prefecture=home,
        prefectures=tuple(prefectures),
        themes=tuple(themes),
        syllabus_items=tuple(syllabus),
        industries=tuple(industries),
        periods=tuple(periods),
        qualifications=tuple(code_of[c] for c in qualification_cells if c in code_of),
        other_qualifications="、".join(c for c in qualification_cells if c in others),
        first_free=first_free,
        fees=fees,
        affiliation="company" if company_affiliated else "sole",
        company_name=company,
        email=email,
        phone=phone,
        profile=profile.strip(),
        availability=Availability.ACCEPTING if accepting else Availability.NOT_ACCEPTING,
    )
    return row, expected


@settings(max_examples=75, deadline=None)
@given(
    st.lists(
        listing_rows(), min_size=1, max_size=4, unique_by=lambda r: r[0]["registration_number"]
    )
)
def test_valid_rows_round_trip(rows: list[tuple[dict[str, str], ListingInput]]) -> None:
    listings, errors = parse_listing_csv(csv_text([row for row, _ in rows]))

    assert errors == []
    assert listings == [expected for _, expected in rows]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(COLUMNS), st.text(max_size=30))
def test_garbage_in_one_cell_never_crashes(column: str, garbage: str) -> None:
    # Rules across cells may name the partner column too.
    partners = {
        "registered_on": {"expires_on"},
        "affiliation": {"company"},
    }
    listings, errors = parse_one(**{column: garbage})

    if errors:
        assert listings == []
        assert all(e.row == 2 for e in errors)
        assert {e.column for e in errors} <= {column} | partners.get(column, set())
        assert all(e.message for e in errors)
    else:
        assert len(listings) == 1


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200))
def test_any_file_content_parses_or_reports(text: str) -> None:
    listings, errors = parse_listing_csv(text)
    assert all(isinstance(item, ListingInput) for item in listings)
    assert all(e.row >= 1 and e.message for e in errors)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.text(max_size=6), max_size=25), max_size=4))
def test_any_rows_under_a_valid_header_parse_or_report(rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    listings, errors = parse_listing_csv(buffer.getvalue())
    assert len(listings) + len({e.row for e in errors}) <= len(rows)
    assert all(e.column in ("", *COLUMNS) for e in errors)


@settings(max_examples=100)
@given(
    st.sampled_from(["true", "1", "あり", "false", "0", "なし"]),
    st.sampled_from([str.upper, str.lower, str.title, lambda s: s]),
    st.sampled_from(["", " ", "　", "\t"]),
)
def test_parse_bool_accepts_every_spelling(word: str, case: Any, pad: str) -> None:
    full_width = word.translate(str.maketrans("01", "０１"))
    for spelling in (word, full_width):
        assert parse_bool(pad + case(spelling) + pad, default=False) is (
            word in ("true", "1", "あり")
        )


@settings(max_examples=100)
@given(st.text(max_size=10), st.booleans())
def test_parse_bool_is_a_value_or_a_cell_error(value: str, default: bool) -> None:
    try:
        result = parse_bool(value, default)
    except CellError as exc:
        assert "真偽値ではありません" in str(exc)
        return
    key = nfkc(value).casefold()
    assert result is (key in ("true", "1", "あり") or (key == "" and default))


@settings(max_examples=100)
@given(st.integers(0, MAX_FEE), st.sampled_from(["plain", "comma", "full-width", "padded"]))
def test_parse_fee_reads_every_spelling(fee: int, spelling: str) -> None:
    text = {
        "plain": str(fee),
        "comma": f"{fee:,}",
        "full-width": f"{fee:,}".translate(_FULL_WIDTH).replace(",", "，"),
        "padded": f"  {fee} ",
    }[spelling]
    assert parse_fee(text) == fee


@settings(max_examples=100)
@given(st.integers(1, MAX_FEE))
def test_parse_fee_rejects_negatives(fee: int) -> None:
    with pytest.raises(CellError, match="負の値"):
        parse_fee(f"-{fee:,}")


@settings(max_examples=100)
@given(st.text(max_size=12))
def test_parse_fee_is_a_value_or_a_cell_error(value: str) -> None:
    try:
        fee = parse_fee(value)
    except CellError:
        return
    if fee is None:
        assert nfkc(value) == ""
    else:
        assert 0 <= fee <= MAX_FEE
        assert fee == int(nfkc(value).replace(",", ""))


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        listing_rows(), min_size=1, max_size=3, unique_by=lambda r: r[0]["registration_number"]
    )
)
def test_generated_files_import_and_reimport_unchanged(
    tmp_path: Path, rows: list[tuple[dict[str, str], ListingInput]]
) -> None:
    Listing.objects.all().delete()
    RegistryRecord.objects.all().delete()
    path = write_csv(tmp_path / "generated.csv", csv_text([row for row, _ in rows]))

    first = run_import(path)
    before = snapshot()
    second = run_import(path)

    assert f"追加 {len(rows)} 件" in first
    assert f"変更なし {len(rows)} 件" in second
    assert snapshot() == before
