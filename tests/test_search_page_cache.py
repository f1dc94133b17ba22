"""The search page's cards and facet options rendered as strings and cached
(issue 18, search/rendering.py): the same HTML whether the card cache is cold
or warm, in Japanese and English; an edit shows at once; the cards equal their
template (search/_result_card.html); nothing per viewer is cached."""

from __future__ import annotations

import random
import re
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from sekispe.listings.lifecycle import ListingChanges, update_listing
from sekispe.listings.services import get_specialist_listing
from sekispe.search import forms, rendering, services
from sekispe.search import index as ix
from tests.factories import create_specialists, make_input, make_specialist_user, random_inputs

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
URLS = (
    "/specialists/",
    "/specialists/?theme=1&theme=2",
    "/specialists/?prefecture=13&prefecture=27&first_free=1",
    "/specialists/?region=kinki&include_not_accepting=1",
    "/specialists/?industry=E&qualification=itc&period=spot&affiliation=company",
    "/specialists/?q=%E3%83%A9%E3%83%B3%E3%82%B5%E3%83%A0&max_fee=50000",
    "/specialists/?page=2",
    "/specialists/?theme=99",  # an error page: no cards
)


@pytest.fixture
def many(db):
    create_specialists(*random_inputs(random.Random(18), 60))


@pytest.fixture(autouse=True)
def _cold_cards():
    rendering.card_cache.clear()
    rendering.filters_cache.clear()
    yield
    rendering.card_cache.clear()
    rendering.filters_cache.clear()


def _page(client, url: str, language: str, *, htmx: bool = False) -> str:
    client.cookies["django_language"] = language
    headers = {"HX-Request": "true"} if htmx else {}
    return CSRF.sub("", client.get(url, headers=headers).content.decode())


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("htmx", [False, True])
def test_pages_are_the_same_with_the_card_cache_cold_and_warm(client, many, language, htmx):
    hits = 0
    for url in URLS:
        rendering.card_cache.clear()
        rendering.filters_cache.clear()
        rendering.page_html_cache.clear()  # else the whole page comes back, no card asked
        cold = _page(client, url, language, htmx=htmx)
        assert rendering.card_cache.hits == rendering.filters_cache.hits == 0
        rendering.page_html_cache.clear()
        warm = _page(client, url, language, htmx=htmx)
        hits += rendering.card_cache.hits
        assert rendering.filters_cache.hits == (0 if htmx else 1)
        assert warm == cold, url
    assert hits >= 20


def test_each_language_has_its_own_cards(client, many):
    ja = _page(client, "/specialists/", "ja")
    en = _page(client, "/specialists/", "en")
    ja_again = _page(client, "/specialists/", "ja")
    assert "登録番号" in ja and "登録番号" in ja_again
    assert ja_again == ja
    en_cards = en[en.index('<ul class="result-list">') :]
    assert "登録番号" not in en_cards
    assert "Registration number" in en_cards or "Registration No" in en_cards


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_edit_shows_on_the_next_page_with_a_warm_cache(client, db, language):
    user = make_specialist_user("820001", name="小林 直樹", first_free=False)
    with translation.override(language):
        yes, no = translation.gettext("あり"), translation.gettext("なし")

    def first_free_cell(body: str) -> str:
        card = body[body.index('id="result-820001"') :]
        return re.search(r"<dd>(" + re.escape(yes) + "|" + re.escape(no) + ")</dd>", card)[1]

    assert first_free_cell(_page(client, "/specialists/", language)) == no
    assert first_free_cell(_page(client, "/specialists/", language)) == no  # warm
    listing = get_specialist_listing(user)
    update_listing(listing, ListingChanges(values={"first_free": True}), actor=user)
    assert first_free_cell(_page(client, "/specialists/", language)) == yes


def _rows(language: str) -> list[dict]:
    with translation.override(language):
        query = services.SearchQuery(include_not_accepting=True, page_size=100)
        return services.search(query).results


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_card_is_its_template(many, language):
    rows = _rows(language)
    assert len(rows) > 20
    with translation.override(language):
        for row in rows:
            spec = render_to_string("search/_result_card.html", {"s": forms.row_context(row)})
            assert rendering.render_card(row).strip() == spec.strip()


@pytest.mark.parametrize("oob", [False, True])
def test_count_span_is_its_template(oob):
    for count in (None, 0, 7, 12345):
        option = {"code": "13", "count": count}
        spec = render_to_string(
            "search/_count.html", {"facet": "prefecture", "option": option, "oob": oob}
        )
        assert rendering.count_span("prefecture", "13", count, oob=oob) == spec


def test_results_without_row_identities_render_uncached_and_the_same(many):
    rows = _rows("ja")[:20]
    bare = SimpleNamespace(results=rows)
    assert rendering.result_cards(bare) == [rendering.render_card(r) for r in rows]
    assert len(rendering.card_cache) == 0


def test_cards_keyed_by_index_row_version_when_the_result_has_row_keys(db):
    """The path for a SearchResult that carries its rows' `row_keys`."""
    user = make_specialist_user("830001", name="松本 恵", first_free=False)
    create_specialists(make_input(registration_number="830002", name="井上 亮"))

    def result_with_row_keys() -> SimpleNamespace:
        result = services.search(services.SearchQuery())
        index = ix.get_index(timezone.localdate())
        positions = [
            next(p for p, base in enumerate(index.rows) if base["registration_number"] == n)
            for n in (r["registration_number"] for r in result.results)
        ]
        row_keys = [(p, *index.row_key(p)) for p in positions]
        return SimpleNamespace(results=result.results, row_keys=row_keys)

    first = result_with_row_keys()
    cards = rendering.result_cards(first)
    assert cards == [rendering.render_card(r) for r in first.results]
    assert rendering.result_cards(first) == cards
    assert rendering.card_cache.hits == len(cards)
    assert all(key[-1][0] == "row" for key in rendering.card_cache._data)

    update_listing(
        get_specialist_listing(user), ListingChanges(values={"first_free": True}), actor=user
    )
    after = result_with_row_keys()
    assert rendering.result_cards(after) == [rendering.render_card(r) for r in after.results]
    changed = next(c for c in rendering.result_cards(after) if 'id="result-830001"' in c)
    assert "<dd>あり</dd>" in changed


def test_cached_cards_carry_nothing_per_viewer(client, many):
    body = _page(client, "/specialists/?include_not_accepting=1", "ja")
    assert "order=" in body  # the pagination links do carry the viewer's order
    for card in rendering.card_cache._data.values():
        assert "order=" not in card and "?" not in card and "csrf" not in card


def test_the_cache_is_bounded():
    lru = rendering.LRU(3)
    for i in range(5):
        lru.put(i, str(i))
    assert len(lru) == 3
    assert lru.get(0) is None and lru.get(4) == "4"
    lru.get(2)
    lru.put(5, "5")
    assert lru.get(3) is None and lru.get(2) == "2"


def test_the_filters_follow_the_counts_and_the_query(client, many):
    """The cached form is keyed by what it prints: another search, another form."""
    one = _page(client, "/specialists/?theme=1", "ja")
    two = _page(client, "/specialists/?theme=2", "ja")
    form = lambda body: body[body.index('<form id="search-form"') : body.index("</form>")]  # noqa: E731
    assert form(one) != form(two)
    assert 'name="theme" value="1" checked' in form(one)
    assert 'name="theme" value="2" checked' in form(two)
    assert form(_page(client, "/specialists/?theme=1", "ja")) == form(one)
    assert form(_page(client, "/specialists/?theme=1", "en")) != form(one)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_filter_skeleton_filled_is_the_template_rendered(rf, many, language):
    """The form is rendered once with markers and filled per request: the same
    as rendering the template with this request's values."""
    from django.template import Context
    from django.template.loader import get_template

    urls = [
        *URLS[:-1],
        "/specialists/?q=%3Cb%3E%26%22x%22&max_fee=30000&first_free=1&affiliation=company",
        "/specialists/?include_not_accepting=1&prefecture=01&prefecture=47&region=hokkaido",
    ]
    with translation.override(language):
        for url in urls:
            request = rf.get(url)
            query = forms.query_from_params(request.GET)
            result = services.search(query, with_facets=True)
            context = forms.page_context(request, query, result, None, with_rows=False)
            filled = rendering._render_filters(context)
            values = {
                "first_free_attr": " checked" if query.first_free else "",
                "first_free_count_text": rendering._count_text(context["first_free_count"]),
                "affiliation_none_attr": "" if query.affiliation else " checked",
                "include_not_accepting_attr": " checked" if query.include_not_accepting else "",
            }
            template = get_template("search/_filters.html").template
            direct = template.render(Context({**context, **values}, autoescape=True))
            assert filled == direct, url
