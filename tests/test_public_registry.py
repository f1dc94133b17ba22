"""The public search service /registry/: who is found, what is shown, and the page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from sekispe.core.api import InvalidQuery
from sekispe.listings.models import Listing, ListingStatus
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind
from sekispe.registry import public
from sekispe.registry.models import (
    CourseCompletion,
    DisasterMeasure,
    PublishedItem,
    RegistryRecord,
)
from tests.factories import TODAY, create_specialists, make_input, text

ALL_ITEMS = tuple(PublishedItem.values)


@pytest.fixture
def frozen():
    """Today is TODAY in Tokyo."""
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        yield


def make_record(number: str, name: str, kana: str, **fields: Any) -> RegistryRecord:
    values: dict[str, Any] = {
        "registered_on": dt.date(2024, 4, 1),
        "expires_on": dt.date(2027, 3, 31),
        "home_prefecture_id": "13",
        "birth_year": 1980,
        "email": f"r{number}@example.jp",
        "published_items": list(ALL_ITEMS),
        **fields,
    }
    return RegistryRecord.objects.create(
        registration_number=number, name=name, name_kana=kana, **values
    )


def course(record: RegistryRecord, kind: str, on: dt.date, provider: str, code: str) -> None:
    fiscal = on.year if on.month >= 4 else on.year - 1
    CourseCompletion.objects.create(
        record=record,
        kind=kind,
        fiscal_year=fiscal,
        provider=provider,
        course_code=code,
        completed_on=on,
    )


@pytest.fixture
def registry(db, frozen) -> dict[str, RegistryRecord]:
    yamada = make_record("200001", "山田 太郎", "ヤマダ タロウ", renewal_count=2)
    course(yamada, "common", dt.date(2024, 6, 1), "IPA", "C-2024")
    course(yamada, "practical", dt.date(2025, 2, 10), "IPA", "P-2024-07")
    course(yamada, "specific", dt.date(2024, 9, 1), "サンプル研修株式会社", "S-0001")
    measure = DisasterMeasure.objects.create(
        title="令和8年7月豪雨",
        deadline_from=dt.date(2026, 7, 1),
        deadline_to=dt.date(2026, 8, 31),
        new_deadline=dt.date(2026, 10, 31),
    )
    records = {
        "all": yamada,
        "none": make_record("200002", "佐藤 花子", "サトウ ハナコ", published_items=[]),
        "name_only": make_record(
            "200003",
            "田中　一郎",
            "タナカ イチロウ",
            published_items=["name"],
            home_prefecture_id="27",
        ),
        "kana_only": make_record(
            "200010", "木村 京子", "キムラ キョウコ", published_items=["name_kana"]
        ),
        "expired": make_record("200004", "鈴木 次郎", "スズキ ジロウ", status="expired"),
        "deregistered": make_record(
            "200005", "高橋 三郎", "タカハシ サブロウ", status="deregistered"
        ),
        "deceased": make_record("200006", "伊藤 四郎", "イトウ シロウ", status="deceased"),
        "revoked": make_record("200021", "加藤 八郎", "カトウ ハチロウ", status="revoked"),
        # Still "active" because the daily expiry job has not run.
        "lapsed": make_record(
            "200007", "渡辺 五郎", "ワタナベ ゴロウ", expires_on=dt.date(2026, 9, 30)
        ),
        "extended": make_record(
            "200008",
            "中村 六郎",
            "ナカムラ ロクロウ",
            expires_on=dt.date(2026, 9, 30),
            extension_measure=measure,
        ),
        "under_review": make_record(
            "200009", "小林 七子", "コバヤシ ナナコ", expires_on=dt.date(2026, 9, 30)
        ),
    }
    RegistrantRequest.objects.create(
        record=records["under_review"],
        kind=RequestKind.RENEWAL,
        fiscal_year=2026,
        submitted_at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC),
    )
    return records


def numbers(q: str = "", prefecture: str | None = None) -> list[str]:
    query = public.parse_query(q, prefecture)
    return [entry.registration_number for entry in public.search(query, TODAY).results]


# --- who is found ------------------------------------------------------------


@pytest.mark.parametrize("q", ["200001", "２０００01", " 200001 ", "２００００１"])
def test_a_registration_number_matches_exactly_in_any_width(registry, q):
    assert numbers(q) == ["200001"]


def test_a_registration_number_finds_registrants_who_published_nothing(registry):
    assert numbers("200002") == ["200002"]


@pytest.mark.parametrize("q", ["12345", "1234567", "０１２"])
def test_a_number_that_is_not_six_digits_is_refused(registry, q):
    with pytest.raises(InvalidQuery) as exc:
        public.parse_query(q, None)
    assert exc.value.field == "q"


@pytest.mark.parametrize("q", ["山田", "田太", "山田太郎", "山田 太郎", "山田　太郎", " 山 田 "])
def test_a_name_matches_partially_ignoring_spaces(registry, q):
    assert numbers(q) == ["200001"]


def test_spaces_in_the_stored_name_are_ignored_too(registry):
    # Stored with an ideographic space.
    assert numbers("田中一郎") == ["200003"]


@pytest.mark.parametrize("q", ["やまだ", "ヤマダ", "ﾔﾏﾀﾞ", "やまだ たろう", "ダタロ"])
def test_kana_matches_in_hiragana_katakana_or_half_width(registry, q):
    assert numbers(q) == ["200001"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("smith", ["200011"]),
        ("SMITH", ["200011"]),
        ("ｓｍｉｔｈ", ["200011"]),
        ("Ｓｍｉｔｈ　Ｊ", ["200011"]),
        # The name itself is in katakana; 200011 keeps its kana private.
        ("ｽﾐｽ", ["200012"]),
        ("すみす", ["200012"]),
    ],
)
def test_latin_names_ignore_case_and_katakana_names_are_found_in_hiragana(registry, q, expected):
    make_record("200011", "Smith John", "スミス ジョン", published_items=["name"])
    make_record("200012", "スミス・ジョーンズ", "スミス ジョーンズ", published_items=["name"])
    assert numbers(q) == expected


def test_an_unpublished_name_or_kana_finds_nobody(registry):
    assert numbers("佐藤") == []
    assert numbers("サトウ") == []
    # Name published, kana not: found by name only.
    assert numbers("田中") == ["200003"]
    assert numbers("タナカ") == []
    # Kana published, name not: found by kana only.
    assert numbers("キムラ") == ["200010"]
    assert numbers("木村") == []


def test_prefecture_matches_only_those_who_published_it(registry):
    # 200002 lives in Tokyo but did not publish the prefecture.
    assert numbers(prefecture="13") == ["200001", "200008", "200009"]
    # 200003 lives in Osaka and published only the name.
    assert numbers(prefecture="27") == []
    assert numbers(prefecture="東京都") == numbers(prefecture="13")
    assert numbers(prefecture="東京") == numbers(prefecture="13")


def test_criteria_combine_with_and(registry):
    assert numbers("山田", "13") == ["200001"]
    assert numbers("山田", "27") == []
    assert numbers("200002", "13") == []  # 200002 keeps the prefecture private


@pytest.mark.parametrize("key", ["expired", "deregistered", "deceased", "revoked", "lapsed"])
def test_registrants_no_longer_registered_are_never_shown(registry, key):
    record = registry[key]
    assert numbers(record.registration_number) == []
    assert numbers(record.name.split()[0]) == []
    with pytest.raises(LookupError):
        public.get_entry(record.registration_number, TODAY)


def test_extended_and_under_review_registrants_are_still_registered(registry):
    extended = public.get_entry("200008", TODAY)
    assert extended.valid_until == dt.date(2026, 12, 30)
    assert extended.application_deadline == dt.date(2026, 10, 31)
    assert extended.extended
    under_review = public.get_entry("200009", TODAY)
    assert under_review.renewal_under_review
    assert not public.get_entry("200001", TODAY).renewal_under_review


def test_an_empty_query_matches_nobody(registry):
    query = public.parse_query("  　", "")
    assert query.empty
    assert public.search(query, TODAY).count == 0
    assert not public.find(query, TODAY).exists()


def test_invalid_prefecture_and_overlong_query_are_refused(db):
    with pytest.raises(InvalidQuery) as exc:
        public.parse_query("", "99")
    assert exc.value.field == "prefecture"
    with pytest.raises(InvalidQuery) as exc:
        public.parse_query("あ" * 101, None)
    assert exc.value.field == "q"


def test_like_wildcards_in_the_query_are_literal(registry):
    assert numbers("%") == []
    assert numbers("_") == []


# --- what is shown -------------------------------------------------------------


def test_published_items_are_shown_and_the_rest_is_null(registry):
    full = public.get_entry("200001", TODAY)
    assert (full.name, full.name_kana, full.birth_year) == ("山田 太郎", "ヤマダ タロウ", 1980)
    assert (full.home_prefecture, full.home_prefecture_name) == ("13", "東京都")
    assert full.registered_on == dt.date(2024, 4, 1)
    assert full.email == "r200001@example.jp"
    private = public.get_entry("200002", TODAY)
    assert private.name is None and private.name_kana is None and private.birth_year is None
    assert private.home_prefecture is None and private.home_prefecture_name is None
    assert private.registered_on is None and private.email is None
    # Always public.
    assert private.registration_number == "200002"
    assert private.expires_on == dt.date(2027, 3, 31)
    assert private.application_deadline == dt.date(2027, 1, 30)
    assert private.renewal_count == 0


def test_practical_course_history_lists_practical_and_specific_only(registry):
    courses = public.get_entry("200001", TODAY).practical_courses
    assert [(c.kind, c.completed_on, c.provider, c.course_code) for c in courses] == [
        ("specific", dt.date(2024, 9, 1), "サンプル研修株式会社", "S-0001"),
        ("practical", dt.date(2025, 2, 10), "IPA", "P-2024-07"),
    ]
    assert [c.kind_label for c in courses] == ["特定講習", "実践講習（IPA）"]


def test_deemed_attendance_is_part_of_the_practical_history(registry):
    from sekispe.registry.services import grant_deemed_credit, withdraw_deemed_credit

    credit = grant_deemed_credit(
        registry["none"], approved_on=dt.date(2026, 6, 1), reference="DEEMED-5", actor=None
    )
    [shown] = public.get_entry("200002", TODAY).practical_courses
    assert (shown.kind, shown.completed_on, shown.provider, shown.course_code) == (
        "deemed",
        dt.date(2026, 6, 1),
        "みなし受講",
        "",  # the application number is internal
    )
    assert shown.kind_label == "みなし受講（実務経験）"
    # A withdrawn credit (a false claim) is gone from the history.
    withdraw_deemed_credit(credit, actor=None, reason="虚偽申請")
    assert public.get_entry("200002", TODAY).practical_courses == ()


def test_the_page_and_the_api_show_deemed_attendance(client, registry):
    from sekispe.registry.services import grant_deemed_credit

    grant_deemed_credit(
        registry["none"], approved_on=dt.date(2026, 6, 1), reference="DEEMED-5", actor=None
    )
    body = text(client.get("/registry/200002/"))
    assert "DEEMED-5" not in body
    assert "<td>みなし受講（実務経験）</td><td>みなし受講</td><td>—</td>" in body
    [entry] = client.get("/api/v1/registry", {"q": "200002"}).json()["results"]
    assert entry["practical_courses"] == [
        {
            "kind": "deemed",
            "kind_label": "みなし受講（実務経験）",
            "completed_on": "2026-06-01",
            "provider": "みなし受講",
            "course_code": "",
        }
    ]


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(registry):
    for i in range(30):
        record = make_record(f"3{i:05d}", f"山本 {i}", "ヤマモト")
        course(record, "practical", dt.date(2025, 6, 1), "IPA", f"P-{i}")
    query = public.parse_query("ヤマモト", None)
    with CaptureQueriesContext(connection) as few:
        public.search(query, TODAY, limit=2)
    with CaptureQueriesContext(connection) as many:
        result = public.search(query, TODAY, limit=30)
    assert len(result.results) == 30
    assert all(len(entry.practical_courses) == 1 for entry in result.results)
    assert len(many) == len(few) <= 4


def test_results_are_paginated(registry):
    for i in range(60):
        make_record(f"3{i:05d}", f"山本 {i}", "ヤマモト")
    query = public.parse_query("山本", None)
    first = public.search(query, TODAY)
    assert first.count == 60 and len(first.results) == public.PAGE_SIZE
    rest = public.search(query, TODAY, offset=50)
    assert [e.registration_number for e in rest.results] == [f"3{i:05d}" for i in range(50, 60)]


@pytest.fixture
def listed(db, frozen) -> dict[str, str]:
    """100011 has a published listing, 100012 a draft; both registered."""
    create_specialists(
        make_input(registration_number="100011", name="森 一"),
        make_input(registration_number="100012", name="森 二"),
    )
    Listing.objects.filter(record__registration_number="100012").update(status=ListingStatus.DRAFT)
    return {"listed": "100011", "draft": "100012"}


def test_a_visible_listing_is_linked_and_no_other(listed):
    assert public.get_entry("100011", TODAY).listing_url == "/specialists/100011/"
    assert public.get_entry("100012", TODAY).listing_url is None


# --- the page --------------------------------------------------------------------


def test_the_empty_page_shows_the_form_and_guidance_not_the_registry(client, registry):
    response = client.get("/registry/")
    assert response.status_code == 200
    body = text(response)
    assert '<form class="card registry-search" method="get" action="/registry/"' in body
    assert '<label for="id_q">登録番号・氏名・フリガナ</label>' in body
    assert '<label for="id_prefecture">自宅都道府県</label>' in body
    assert "いずれか1つ以上を指定して「検索」を押してください" in body
    assert "200001" not in body
    # What is always public, and what only after a 公開届.
    assert "常に公開しています" in body
    assert "公開届を提出して公開を選んだ場合にだけ表示されます" in body


def test_the_page_shows_results_with_private_items_marked(client, registry):
    body = text(client.get("/registry/", {"q": "200002"}))
    assert "1名が見つかりました" in body
    assert '<a href="/registry/200002/">登録番号 200002</a>' in body
    assert "佐藤" not in body
    assert body.count('<span class="private">非公開</span>') == 6
    assert '有効期限</dt> <dd><time datetime="2027-03-31" class="date">2027年3月31日</time>' in body
    assert (
        '更新申請期限</dt><dd><time datetime="2027-01-30" class="date">2027年1月30日</time>' in body
    )
    assert "更新回数</dt><dd>0回</dd>" in body
    assert "実践講習・特定講習の受講履歴：なし" in body


def test_the_page_shows_published_items_and_course_history(client, registry):
    body = text(client.get("/registry/", {"q": "やまだ"}))
    assert "山田 太郎（登録番号 200001）" in body
    assert "ヤマダ タロウ" in body and "1980年" in body and "東京都" in body
    assert "r200001@example.jp" in body
    assert "<caption>実践講習・特定講習の受講履歴</caption>" in body
    assert "<td>実践講習（IPA）</td><td>IPA</td><td>P-2024-07</td>" in body
    assert "<td>特定講習</td><td>サンプル研修株式会社</td><td>S-0001</td>" in body
    # The common course is not part of the practical history.
    assert "C-2024" not in body
    assert "更新回数</dt><dd>2回</dd>" in body


def test_the_page_notes_extension_and_review(client, registry):
    assert "災害特例により2026年12月30日まで有効" in re.sub(
        r"<[^>]+>", "", text(client.get("/registry/200008/"))
    )
    assert "更新申請の審査中" in text(client.get("/registry/200009/"))


def test_no_match_explains_why(client, registry):
    body = text(client.get("/registry/", {"q": "佐藤"}))
    assert "条件に当てはまる登録者は見つかりませんでした" in body
    assert "200002" not in body


def test_invalid_parameters_show_the_error_summary_with_400(client, registry):
    response = client.get("/registry/", {"q": "12345"})
    assert response.status_code == 400
    body = text(response)
    assert 'class="error-summary" role="alert"' in body
    assert "登録番号は6桁の数字で入力してください" in body
    assert 'aria-invalid="true"' in body
    assert client.get("/registry/", {"prefecture": "火星"}).status_code == 400


def test_a_prefecture_given_by_name_is_selected_in_the_form(client, registry):
    body = text(client.get("/registry/", {"prefecture": "東京都"}))
    assert '<option value="13" selected>東京都</option>' in body
    assert "3名が見つかりました" in body


def test_the_page_paginates_by_50(client, registry):
    for i in range(55):
        make_record(f"3{i:05d}", f"山本 {i}", "ヤマモト")
    body = text(client.get("/registry/", {"q": "山本"}))
    assert "55名が見つかりました（1〜50件目を表示）" in body
    assert 'href="?q=%E5%B1%B1%E6%9C%AC&amp;page=2" rel="next"' in body
    page2 = text(client.get("/registry/", {"q": "山本", "page": 2}))
    assert "51〜55件目を表示" in page2
    assert '<ol class="registry-list" start="51">' in page2


def test_the_listing_link_appears_only_for_a_visible_listing(client, listed):
    assert 'href="/specialists/100011/"' in text(client.get("/registry/", {"q": "100011"}))
    assert "/specialists/100012/" not in text(client.get("/registry/", {"q": "100012"}))


def test_the_record_page_is_404_unless_registered(client, registry):
    assert client.get("/registry/200001/").status_code == 200
    for number in ("200004", "200005", "200006", "200007", "999999", "abc"):
        assert client.get(f"/registry/{number}/").status_code == 404


def test_the_pages_are_read_only(client, registry):
    assert client.post("/registry/").status_code == 405
    assert client.post("/registry/200001/").status_code == 405


# --- the Active List listing shows the registry's verified facts ---------------


def test_the_listing_shows_the_verified_renewal_facts(client, listed):
    body = text(client.get("/specialists/100011/"))
    assert "登録簿で確認済み" in body
    assert "更新回数</dt><dd>0回" in body
    assert '有効期限</dt><dd><time datetime="2027-03-31" class="date">2027年3月31日</time>' in body
    assert (
        '更新申請期限</dt><dd><time datetime="2027-01-30" class="date">2027年1月30日</time>' in body
    )
    assert "義務講習の受講状況</dt><dd>最新（期限を過ぎた未受講はありません）" in body
    assert 'href="/registry/100011/"' in body


def test_the_listing_shows_an_extended_application_deadline(client, listed):
    measure = DisasterMeasure.objects.create(
        title="豪雨",
        deadline_from=dt.date(2027, 1, 1),
        deadline_to=dt.date(2027, 1, 31),
        new_deadline=dt.date(2027, 3, 1),
    )
    RegistryRecord.objects.filter(registration_number="100011").update(extension_measure=measure)
    assert (
        '更新申請期限</dt><dd><time datetime="2027-03-01" class="date">2027年3月1日</time>'
        in text(client.get("/specialists/100011/"))
    )


# --- the query normaliser ------------------------------------------------------

_SPACES = st.sampled_from([" ", "\u3000", "\t", "  "])


@given(st.text(max_size=200))
def test_normalising_any_string_never_raises(raw):
    result = public.normalize_text(raw)
    assert " " not in result.name and "\u3000" not in result.name
    if result.number is not None:
        assert result.number.isascii() and len(result.number) == 6


def test_a_space_between_combining_marks_changes_nothing():
    # Found by the property below: NFKC puts combining marks in canonical order
    # only where they touch, so a space between two of them, once dropped, left
    # them in another order (U+00A8 decomposes to a space and U+0308).
    assert public.normalize_text("0000\u00a8 \u20d8") == public.normalize_text("0000\u00a8\u20d8")


@given(st.text(max_size=40), st.data())
def test_spaces_never_change_the_query(raw, data):
    spaced = "".join(ch + data.draw(st.sampled_from(["", " ", "\u3000"])) for ch in raw)
    assert public.normalize_text(spaced) == public.normalize_text(raw)
    assert public.normalize_text(data.draw(_SPACES) + raw) == public.normalize_text(raw)


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30))
def test_full_width_never_changes_the_query(raw):
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in raw)
    assert public.normalize_text(wide) == public.normalize_text(raw)


@given(st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096), max_size=20))
def test_hiragana_and_katakana_read_the_same_as_kana(raw):
    katakana = "".join(chr(ord(ch) + 0x60) for ch in raw)
    assert public.normalize_text(raw).kana == public.normalize_text(katakana).kana == katakana
