"""Region and prefectures (issue 15, point 4): a prefecture chosen inside the
chosen region narrows to it, and every facet count equals what clicking gives."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.db import transaction
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.reference import services as ref
from sekispe.search.forms import query_from_params
from sekispe.search.services import MAX_PAGE_SIZE, SearchQuery, search
from tests.factories import TODAY, create_specialists, make_input

pytestmark = pytest.mark.django_db


def numbers(result) -> list[str]:
    return sorted(r["registration_number"] for r in result.results)


@pytest.fixture
def kanto_and_beyond():
    create_specialists(
        make_input(registration_number="000001", prefectures=("13",)),  # 東京
        make_input(registration_number="000002", prefectures=("14",)),  # 神奈川
        make_input(registration_number="000003", prefectures=("13", "14")),
        make_input(registration_number="000004", prefectures=("27",)),  # 大阪
        make_input(registration_number="000005", prefectures=("11",)),  # 埼玉
    )


def test_a_prefecture_inside_the_chosen_region_narrows_to_it(kanto_and_beyond):
    query = query_from_params(QueryDict("region=kanto&prefecture=13"))
    result = search(query, today=TODAY, with_facets=True)
    assert numbers(result) == ["000001", "000003"]
    # The ticked checkbox shows what the list shows.
    assert result.facets["prefecture"]["13"] == result.count == 2


def test_region_alone_and_prefectures_outside_it(kanto_and_beyond):
    assert numbers(search(SearchQuery(region="kanto"), today=TODAY)) == [
        "000001", "000002", "000003", "000005"
    ]  # fmt: skip
    # A prefecture outside the region adds to the whole region.
    outside = search(SearchQuery(region="kanto", prefectures=("27",)), today=TODAY)
    assert numbers(outside) == ["000001", "000002", "000003", "000004", "000005"]
    # Inside and outside: the region is represented by its chosen prefecture.
    both = search(SearchQuery(region="kanto", prefectures=("14", "27")), today=TODAY)
    assert numbers(both) == ["000002", "000003", "000004"]


def test_counts_next_to_unticked_options_are_what_ticking_gives(kanto_and_beyond):
    facets = search(SearchQuery(region="kanto"), today=TODAY, with_facets=True).facets
    # Ticking 東京都 inside 関東 narrows from 4 to 2; 大阪府 (outside) adds to 5.
    assert facets["prefecture"]["13"] == 2
    assert facets["prefecture"]["11"] == 1
    assert facets["prefecture"]["27"] == 5
    assert facets["region"]["kanto"] == 4
    # Choosing 近畿 instead of 関東 (one region at a time).
    assert facets["region"]["kinki"] == 1
    ticked = search(SearchQuery(region="kanto", prefectures=("13",)), today=TODAY, with_facets=True)
    assert ticked.facets["prefecture"]["14"] == 3  # 東京 or 神奈川
    # 東京都 is not in 近畿: choosing 近畿 instead gives all of 近畿 plus 東京都.
    assert ticked.facets["region"]["kinki"] == 3


# --- property: every shown count is what clicking that option gives -----------

MULTI = {  # facet -> SearchQuery field (multiple choice: ticking adds)
    "prefecture": "prefectures",
    "theme": "themes",
    "industry": "industries",
    "period": "periods",
    "qualification": "qualifications",
    "form": "forms",
}


def _clicked(query: SearchQuery, facet: str, code) -> SearchQuery:
    """The query after choosing `code` in `facet` (a ticked option stays ticked:
    its count is the count with it, i.e. the current one)."""
    if facet in MULTI:
        field = MULTI[facet]
        chosen = getattr(query, field)
        return replace(query, **{field: chosen if code in chosen else (*chosen, code)})
    if facet == "region":
        return replace(query, region=code)
    if facet == "affiliation":
        return replace(query, affiliation=code)
    return replace(query, first_free=code)


def _subset(codes, max_size):
    return st.lists(st.sampled_from(codes), max_size=max_size, unique=True).map(tuple)


# Few prefectures, so that random choices often fall inside the chosen region.
PLACES = ("08", "11", "13", "14", "26", "27", "28")
population = st.lists(
    st.tuples(
        _subset(PLACES, 3).filter(bool),
        _subset(ref.THEME_CODES, 3).filter(bool),
        st.sampled_from(ref.FORM_CODES),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)
filter_states = st.builds(
    SearchQuery,
    prefectures=_subset(PLACES, 3),
    region=st.none() | st.sampled_from(("kanto", "kinki", "tohoku")),
    themes=_subset(ref.THEME_CODES, 2),
    forms=_subset(ref.FORM_CODES, 1),
    first_free=st.none() | st.just(True),
    page_size=st.just(MAX_PAGE_SIZE),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=population, states=st.lists(filter_states, min_size=1, max_size=3))
def test_every_facet_count_equals_the_results_after_clicking_it(people, states):
    with transaction.atomic():
        create_specialists(
            *[
                make_input(
                    registration_number=f"{i + 1:06d}",
                    prefectures=places,
                    themes=themes,
                    fees={form: 10000},
                    first_free=free,
                )
                for i, (places, themes, form, free) in enumerate(people)
            ]
        )
        # The index holds this population (not a previous example's).
        assert search(SearchQuery(page_size=MAX_PAGE_SIZE), today=TODAY).count == len(people)
        for query in states:
            result = search(query, today=TODAY, with_facets=True)
            for facet, counts in result.facets.items():
                for code, count in counts.items():
                    after = search(_clicked(query, facet, code), today=TODAY)
                    assert count == after.count, (facet, code, query)
        transaction.set_rollback(True)
