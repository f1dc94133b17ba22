"""Plan B's SQL (sekispe/devtools/bench/planb.py) finds exactly whom the app's search finds.

The builder emits backend-neutral SQL (IN lists, LIKE with ESCAPE), so the
same statements run on SQLite and on PostgreSQL; both compare against
`sekispe.search.services.search` over demo specialists.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from sekispe.devtools.bench import planb
from sekispe.devtools.demo.listings import DEMO_ANCHOR, generate_specialists, write_demo_specialists
from sekispe.search import index as ix
from sekispe.search import services
from sekispe.search.forms import query_from_params

# Inside every seeded active period (as in test_seed_demo), so nothing lapses in real time.
DAY = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)

QUERIES = (
    "q=ランサム",
    "q=らんさむ",  # hiragana must find katakana, through the stored normalised text
    "q=ｸﾗｳﾄﾞ",  # half-width, NFKC
    "q=クラウド+テレワーク",  # two terms: AND
    "q=規程",  # two characters: below a trigram's length, still a substring match
    "q=佐藤&include_not_accepting=true",
    "prefecture=13&theme=1",
    "region=kanto&theme=2&theme=3&industry=E",
    "form=visit&max_fee=30000",
    "max_fee=10000",
    "first_free=true&region=kinki",
    "include_not_accepting=true&theme=4",
)


def _app_numbers(qs: str) -> set[str]:
    query = query_from_params(QueryDict(qs + "&page_size=100"), api=True)
    first = services.search(query)
    numbers = {r["registration_number"] for r in first.results}
    for page in range(2, first.page_count + 1):
        result = services.search(
            services.SearchQuery(**{**query.__dict__, "page": page})  # same filters, next page
        )
        numbers |= {r["registration_number"] for r in result.results}
    assert len(numbers) == first.count
    return numbers


def _planb(qs: str, today: dt.date) -> tuple[set[str], int, list[str]]:
    sql = planb.build_search_sql(query_from_params(QueryDict(qs), api=True), today, seed=7)
    with connection.cursor() as cur:
        cur.execute(*sql.numbers)
        numbers = {row[0] for row in cur.fetchall()}
        cur.execute(*sql.count)
        count = cur.fetchone()[0]
        cur.execute(*sql.page)
        page = [row[1] for row in cur.fetchall()]
        for stmt in sql.facets.values():
            cur.execute(*stmt)
            cur.fetchall()
    return numbers, count, page


@pytest.fixture
def seeded(db):
    ix.reset_index()
    with time_machine.travel(DAY, tick=False):
        write_demo_specialists(
            generate_specialists(400, 11, DEMO_ANCHOR),
            actor_label="test",
            source={"test": True},
            progress=False,
        )
        with connection.cursor() as cur:
            planb.create_text_table(cur)
            planb.fill_text_table(cur)
        yield DAY.date()
    ix.reset_index()


def test_plan_b_sql_finds_the_same_specialists_as_the_app(seeded):
    today = seeded
    nonempty = 0
    for qs in QUERIES:
        expected = _app_numbers(qs)
        numbers, count, page = _planb(qs, today)
        assert numbers == expected, qs
        assert count == len(expected), qs
        assert len(page) == min(planb.PAGE_SIZE, count), qs
        assert set(page) <= expected, qs
        nonempty += bool(expected)
    # The comparison means something only if most queries find people.
    assert nonempty >= len(QUERIES) - 3


def test_the_stored_body_is_the_apps_normalised_text(seeded):
    with connection.cursor() as cur:
        cur.execute(f"SELECT body FROM {planb.TEXT_TABLE}")  # noqa: S608
        bodies = [row[0] for row in cur.fetchall()]
    assert len(bodies) == 400
    assert all(b == b.casefold() for b in bodies)
    assert not any(0x3041 <= ord(ch) <= 0x3096 for b in bodies for ch in b)  # no hiragana left


def test_a_page_is_ordered_accepting_first_and_stable(seeded):
    qs = "include_not_accepting=true"
    _, count, page = _planb(qs, seeded)
    assert count > planb.PAGE_SIZE
    assert _planb(qs, seeded)[2] == page


@given(st.text(alphabet="%_\\ab規程", min_size=1, max_size=6))
def test_like_patterns_escape_wildcards(term):
    # A user's % or _ is a character to find, never a wildcard.
    sql = planb.filter_clauses(services.SearchQuery(q=term)).get("q")
    if sql is None:  # only spaces after normalisation
        return
    for pattern in sql[1]:
        inner = pattern[1:-1]
        unescaped = inner.replace("\\\\", "").replace("\\%", "").replace("\\_", "")
        assert "%" not in unescaped and "_" not in unescaped
