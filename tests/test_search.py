"""Search behaviour: visibility, ordering, fallback, free text, validation."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from sekispe.core.api import InvalidQuery
from sekispe.search.services import SearchQuery, get_specialist, search
from tests.factories import TODAY, create_specialists, make_input, random_inputs

pytestmark = pytest.mark.django_db


def numbers(result) -> list[str]:
    return [r["registration_number"] for r in result.results]


def test_only_active_unexpired_registrations_are_visible():
    create_specialists(
        make_input(registration_number="000001"),
        make_input(registration_number="000002", status="expired"),
        make_input(registration_number="000003", status="deregistered"),
        make_input(registration_number="000004", expires_on=TODAY - dt.timedelta(days=1)),
    )
    assert numbers(search(SearchQuery(include_not_accepting=True), today=TODAY)) == ["000001"]
    get_specialist("000001", today=TODAY)
    for hidden in ("000002", "000003", "000004", "999999"):
        with pytest.raises(LookupError):
            get_specialist(hidden, today=TODAY)


def test_not_accepting_is_hidden_by_default_and_resumes_after_its_date():
    create_specialists(
        make_input(registration_number="000001", availability="not_accepting"),
        make_input(
            registration_number="000002",
            availability="not_accepting",
            availability_until=TODAY - dt.timedelta(days=1),
        ),
        make_input(
            registration_number="000003",
            availability="not_accepting",
            availability_until=TODAY + dt.timedelta(days=30),
        ),
    )
    assert numbers(search(SearchQuery(), today=TODAY)) == ["000002"]
    everyone = search(SearchQuery(include_not_accepting=True), today=TODAY)
    assert everyone.count == 3
    # Accepting specialists are listed before those who are not.
    assert numbers(everyone)[0] == "000002"
    assert search(SearchQuery(), today=TODAY, with_facets=True).not_accepting_hidden == 2


def test_more_matched_values_rank_higher():
    create_specialists(
        make_input(registration_number="000001", themes=(1,)),
        make_input(registration_number="000002", themes=(1, 2, 3)),
        make_input(registration_number="000003", themes=(2,)),
        make_input(registration_number="000004", themes=(1, 2)),
    )
    result = search(SearchQuery(themes=(1, 2, 3)), today=TODAY)
    assert numbers(result)[:2] == ["000002", "000004"]
    assert set(numbers(result)[2:]) == {"000001", "000003"}


def test_equal_matches_are_not_always_in_the_same_order():
    create_specialists(*[make_input(registration_number=f"{i:06d}") for i in range(1, 31)])
    orders = {
        tuple(numbers(search(SearchQuery(page_size=30), today=TODAY + dt.timedelta(days=d))))
        for d in range(5)
    }
    assert len(orders) == 5  # a new order every day
    by_query = {
        tuple(numbers(search(SearchQuery(page_size=30, themes=(1,), q=q), today=TODAY)))
        for q in ("", "規程", "支援", "中小企業")
    }
    assert len(by_query) == 4  # and for every search
    first_places = {
        numbers(search(SearchQuery(page_size=30), today=TODAY + dt.timedelta(days=d)))[0]
        for d in range(30)
    }
    assert len(first_places) > 10  # nobody owns the top spot
    # Same search, same day: the same order, so pages stay consistent.
    assert numbers(search(SearchQuery(page_size=30), today=TODAY)) == numbers(
        search(SearchQuery(page_size=30), today=TODAY)
    )


def test_ordering_is_not_alphabetical_nor_by_number():
    create_specialists(*random_inputs(random.Random(1), 60))
    result = numbers(search(SearchQuery(page_size=100, include_not_accepting=True), today=TODAY))
    assert result != sorted(result)


def test_japanese_text_without_spaces_matches_substrings():
    create_specialists(
        make_input(registration_number="000001", profile="ランサムウェア対策を支援"),
        make_input(
            registration_number="000002", profile="クラウドの安全利用", name_kana="タナカ ミサキ"
        ),
        make_input(registration_number="000003", track_record="ＩＳＭＳ認証の取得支援"),
    )
    for q, expected in [
        ("ランサム", ["000001"]),
        ("らんさむ", ["000001"]),  # hiragana finds katakana
        ("ﾗﾝｻﾑ", ["000001"]),  # half-width katakana
        ("たなか", ["000002"]),  # the kana reading
        ("isms", ["000003"]),  # full-width and case
        ("クラウド 安全", ["000002"]),  # every term must match
        ("クラウド ランサム", []),
    ]:
        assert numbers(search(SearchQuery(q=q), today=TODAY)) == expected, q


def test_region_covers_every_prefecture_of_the_block():
    create_specialists(
        make_input(registration_number="000001", prefectures=("29",)),  # 奈良
        make_input(registration_number="000002", prefectures=("13",)),
        make_input(registration_number="000003", prefectures=("40",)),
    )
    assert numbers(search(SearchQuery(region="kinki"), today=TODAY)) == ["000001"]
    both = search(SearchQuery(region="kinki", prefectures=("40",)), today=TODAY)
    assert sorted(numbers(both)) == ["000001", "000003"]


def test_max_fee_applies_to_chosen_forms_or_any_offered_form():
    create_specialists(
        make_input(registration_number="000001", fees={"visit": 50000, "online": 10000}),
        make_input(registration_number="000002", fees={"visit": 20000}),
        make_input(registration_number="000003", fees={}),
    )
    assert sorted(numbers(search(SearchQuery(max_fee=20000), today=TODAY))) == ["000001", "000002"]
    visit = search(SearchQuery(forms=("visit",), max_fee=20000), today=TODAY)
    assert numbers(visit) == ["000002"]
    assert numbers(search(SearchQuery(forms=("training",)), today=TODAY)) == []


def test_few_matches_offer_neighbours_and_online_specialists():
    create_specialists(
        make_input(registration_number="000001", prefectures=("39",)),  # 高知
        make_input(registration_number="000002", prefectures=("37",)),  # 香川
        make_input(registration_number="000003", prefectures=("38",)),  # 愛媛
        make_input(registration_number="000004", prefectures=("13",), fees={"online": 8000}),
        make_input(registration_number="000005", prefectures=("13",), fees={"visit": 8000}),
    )
    result = search(SearchQuery(prefectures=("36",)), today=TODAY)  # 徳島: nobody
    assert result.count == 0
    assert result.fallback is not None
    assert [(code, count) for code, _name, count in result.fallback.nearby] == [
        ("37", 1),
        ("38", 1),
        ("39", 1),
    ]
    # 000001-000003 offer online by default, plus 000004.
    assert result.fallback.online_nationwide == 4
    assert search(SearchQuery(), today=TODAY).fallback is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (SearchQuery(prefectures=("48",)), "prefecture"),
        (SearchQuery(region="kanto2"), "region"),
        (SearchQuery(themes=(6,)), "theme"),
        (SearchQuery(industries=("Z",)), "industry"),
        (SearchQuery(forms=("phone",)), "form"),
        (SearchQuery(periods=("2y",)), "period"),
        (SearchQuery(qualifications=("mba",)), "qualification"),
        (SearchQuery(affiliation="ngo"), "affiliation"),
        (SearchQuery(max_fee=-1), "max_fee"),
        (SearchQuery(page=0), "page"),
        (SearchQuery(page_size=101), "page_size"),
        (SearchQuery(q="あ" * 201), "q"),
    ],
)
def test_invalid_queries_name_the_field(query, field):
    with pytest.raises(InvalidQuery) as excinfo:
        search(query, today=TODAY)
    assert excinfo.value.field == field


def test_index_sees_writes_made_after_it_was_built():
    create_specialists(make_input(registration_number="000001"))
    assert search(SearchQuery(), today=TODAY).count == 1
    create_specialists(make_input(registration_number="000002"))
    assert search(SearchQuery(), today=TODAY).count == 2
    from sekispe.listings.models import Listing

    listing = Listing.objects.get(record__registration_number="000002")
    listing.themes.set([5])  # a row-level change outside the bulk path
    assert numbers(search(SearchQuery(themes=(5,)), today=TODAY)) == ["000002"]


def test_nationwide_specialists_do_not_outrank_local_ones_on_a_regional_search():
    from sekispe.reference.services import PREFECTURE_CODES

    create_specialists(
        make_input(registration_number="000001", prefectures=PREFECTURE_CODES),
        make_input(registration_number="000002", prefectures=("27",)),
    )
    firsts = {
        numbers(search(SearchQuery(region="kinki"), today=TODAY + dt.timedelta(days=d)))[0]
        for d in range(20)
    }
    assert firsts == {"000001", "000002"}


def test_region_counts_each_specialist_once():
    create_specialists(
        make_input(registration_number="000001", prefectures=("26", "27", "28")),
        make_input(registration_number="000002", prefectures=("27",)),
    )
    facets = search(SearchQuery(), today=TODAY, with_facets=True).facets
    assert facets["region"]["kinki"] == 2
    assert facets["prefecture"]["27"] == 2
    assert facets["region"]["kanto"] == 0
