"""Filter semantics, checked against a plain Python filter over the same data."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.lib.text import normalize_for_search, search_terms
from sekispe.listings.models import effective_accepting
from sekispe.listings.services import ListingInput
from sekispe.reference import data
from sekispe.reference import services as ref
from sekispe.search.services import MAX_PAGE_SIZE, SearchQuery, search
from tests.factories import TODAY, create_specialists, random_inputs

QUAL_NAMES = {code: name for code, name, _ in data.QUALIFICATIONS}
TERMS = ["ランサム", "らんさむ", "クラウド", "規程", "isms", "ＩＳＭＳ", "security action",
         "佐藤", "さとう", "製造業", "訓練", "存在しない語", "ウェア 従業員"]  # fmt: skip


def expected_numbers(items: list[ListingInput], q: SearchQuery) -> set[str]:
    """The specification, written the obvious way."""
    locations = set(q.prefectures)
    if q.region:
        block = set(ref.block_prefectures(q.region))
        if not block & locations:
            locations |= block
    terms = search_terms(q.q)
    found = set()
    for it in items:
        if it.status != "active" or it.expires_on < TODAY:
            continue
        if not q.include_not_accepting and not effective_accepting(
            it.availability, it.availability_until, TODAY
        ):
            continue
        if locations and not locations & set(it.prefectures):
            continue
        if q.themes and not set(q.themes) & set(it.themes):
            continue
        if q.industries and not set(q.industries) & set(it.industries):
            continue
        if q.periods and not set(q.periods) & set(it.periods):
            continue
        if q.qualifications and not set(q.qualifications) & set(it.qualifications):
            continue
        if q.forms or q.max_fee is not None:
            chosen = q.forms or ref.FORM_CODES
            if not any(
                f in it.fees and (q.max_fee is None or it.fees[f] <= q.max_fee) for f in chosen
            ):
                continue
        if q.first_free is not None and it.first_free != q.first_free:
            continue
        if q.affiliation is not None and it.affiliation != q.affiliation:
            continue
        if terms:
            quals = " ".join(
                QUAL_NAMES[c] for c in ref.QUALIFICATION_CODES if c in it.qualifications
            )
            text = normalize_for_search(
                " ".join(
                    (
                        it.name,
                        it.name_kana,
                        it.profile,
                        it.track_record,
                        quals,
                        it.other_qualifications,
                    )
                )
            )
            if not all(t in text for t in terms):
                continue
        found.add(it.registration_number)
    return found


def subsets(codes: tuple, max_size: int = 3) -> st.SearchStrategy:
    return st.lists(st.sampled_from(codes), max_size=max_size, unique=True).map(tuple)


queries = st.builds(
    SearchQuery,
    prefectures=subsets(ref.PREFECTURE_CODES, 4),
    region=st.none() | st.sampled_from(ref.BLOCK_CODES),
    themes=subsets(ref.THEME_CODES),
    industries=subsets(ref.INDUSTRY_CODES),
    forms=subsets(ref.FORM_CODES),
    max_fee=st.none() | st.sampled_from([0, 5000, 20000, 50000, 100000]),
    first_free=st.none() | st.booleans(),
    periods=subsets(ref.PERIOD_CODES, 2),
    affiliation=st.none() | st.sampled_from(ref.AFFILIATION_CODES),
    qualifications=subsets(ref.QUALIFICATION_CODES, 2),
    q=st.just("") | st.sampled_from(TERMS),
    include_not_accepting=st.booleans(),
    page_size=st.just(MAX_PAGE_SIZE),
)


@pytest.fixture
def dataset(db) -> list[ListingInput]:
    items = random_inputs(random.Random(20261122), 90)
    create_specialists(*items)
    return items


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries)
def test_every_result_matches_and_nothing_matching_is_missed(dataset, query):
    result = search(query, today=TODAY)
    got = {r["registration_number"] for r in result.results}
    assert result.count == len(got)  # 90 rows fit one page of 100
    assert got == expected_numbers(dataset, query)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries, page_size=st.integers(1, 7))
def test_pages_partition_the_ordered_results(dataset, query, page_size):
    whole = search(query, today=TODAY)
    paged: list[str] = []
    page = 1
    while True:
        part = search(
            SearchQuery(**{**query.__dict__, "page": page, "page_size": page_size}), today=TODAY
        )
        if not part.results:
            break
        paged.extend(r["registration_number"] for r in part.results)
        page += 1
    assert paged == [r["registration_number"] for r in whole.results]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries)
def test_facet_counts_equal_the_count_of_ticking_that_value(dataset, query):
    result = search(query, today=TODAY, with_facets=True)
    for theme, count in result.facets["theme"].items():
        themes = query.themes if theme in query.themes else (*query.themes, theme)
        chosen = SearchQuery(**{**query.__dict__, "themes": themes})
        assert count == search(chosen, today=TODAY).count


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=30))
def test_normalisation_is_idempotent_and_query_terms_never_contain_spaces(text):
    once = normalize_for_search(text)
    assert normalize_for_search(once) == once
    assert all(" " not in t and t for t in search_terms(text))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(max_size=40) | st.sampled_from(["ｶﾞｷﾞ", "①ＡＢＣ　ｄ", "ﾗﾝｻﾑ　ウェア", "Straße"]),
        max_size=6,
    )
)
def test_batch_normalisation_equals_one_by_one(texts):
    from sekispe.lib.text import normalize_many

    texts = [t.replace("\x00", "") for t in texts]
    assert normalize_many(texts) == [normalize_for_search(t) for t in texts]
