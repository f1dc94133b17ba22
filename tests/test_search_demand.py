"""The search-demand log (search/demand.py): what counts, how it is written, and
that it holds no personal data."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.search import demand
from sekispe.search.models import SearchDemand
from sekispe.search.services import SearchQuery
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
DAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _clean_buffer():
    demand.reset()
    yield
    demand.reset()


def table() -> dict[tuple, int]:
    return {
        (r.day, r.prefecture, r.theme, r.form, r.results): r.searches
        for r in SearchDemand.objects.all()
    }


@pytest.fixture
def listed():
    create_specialists(
        make_input(registration_number="000001", prefectures=("13",), themes=(1, 2)),
        make_input(registration_number="000002", prefectures=("13", "14"), themes=(1,)),
        make_input(
            registration_number="000003",
            prefectures=("13",),
            themes=(1,),
            fees={"visit": 20000},
        ),
        make_input(
            registration_number="000004",
            prefectures=("13",),
            themes=(1,),
            availability="not_accepting",
        ),
    )


def test_results_count_local_accepting_specialists_capped_at_3(listed):
    demand.record(SearchQuery(prefectures=("13",), themes=(1,)), today=DAY)
    demand.record(SearchQuery(prefectures=("14",), themes=(1,)), today=DAY)
    demand.record(SearchQuery(prefectures=("13",), themes=(2,)), today=DAY)
    demand.record(SearchQuery(prefectures=("13",), themes=(1,), forms=("online",)), today=DAY)
    demand.record(SearchQuery(prefectures=("27",)), today=DAY)
    demand.record(SearchQuery(), today=DAY)
    assert demand.flush() == 6
    assert table() == {
        # 000004 is not accepting: 3 accepting in Tokyo with theme 1.
        (DAY, "13", 1, "", 3): 1,
        (DAY, "14", 1, "", 1): 1,
        (DAY, "13", 2, "", 1): 1,
        # 000003 offers only on-site work.
        (DAY, "13", 1, "online", 2): 1,
        (DAY, "27", 0, "", 0): 1,
        (DAY, "", 0, "", 3): 1,
    }


def test_several_prefectures_and_themes_count_once_per_pair_and_several_forms_as_any(listed):
    demand.record(
        SearchQuery(prefectures=("13", "14"), themes=(1, 2), forms=("online", "visit")),
        today=DAY,
    )
    demand.flush()
    assert table() == {
        (DAY, "13", 1, "", 3): 1,
        (DAY, "13", 2, "", 1): 1,
        (DAY, "14", 1, "", 1): 1,
        (DAY, "14", 2, "", 0): 1,
    }


def test_a_region_counts_as_its_prefectures(listed):
    demand.record(SearchQuery(region="kanto", prefectures=("14",)), today=DAY)
    demand.record(SearchQuery(region="hokkaido"), today=DAY)
    demand.flush()
    assert table() == {(DAY, "14", 0, "", 1): 1, (DAY, "01", 0, "", 0): 1}


def test_only_the_first_page_counts_and_counts_add_up(listed):
    query = SearchQuery(prefectures=("13",))
    for _ in range(3):
        demand.record(query, today=DAY)
    demand.record(SearchQuery(prefectures=("13",), page=2), today=DAY)
    assert demand.pending() == 3
    demand.flush()
    assert demand.pending() == 0
    demand.record(query, today=DAY)
    demand.flush()
    assert demand.flush() == 0
    assert table() == {(DAY, "13", 0, "", 3): 4}


def test_the_page_and_the_api_log_people_not_bots(client, listed):
    today = timezone.localdate()
    params = {"prefecture": "13", "theme": "1"}
    assert client.get("/specialists/", params, HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    assert client.get("/api/v1/specialists", params, HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    page2 = {**params, "page": "2"}
    assert client.get("/api/v1/specialists", page2, HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    for agent in ("", "curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"):
        assert client.get("/specialists/", params, HTTP_USER_AGENT=agent).status_code == 200
        assert client.get("/api/v1/specialists", params, HTTP_USER_AGENT=agent).status_code == 200
    demand.flush()
    assert table() == {(today, "13", 1, "", 3): 2}


def test_heavy_clients_are_not_logged(client, listed, settings):
    settings.SEARCH_EXPOSURE_MAX_PER_IP = 2
    settings.SEARCH_API_PER_IP = (100, 3600)
    for _ in range(4):
        assert client.get("/api/v1/specialists", HTTP_USER_AGENT=BROWSER_UA).status_code == 200
    demand.flush()
    assert sum(table().values()) == 2


def test_the_log_holds_no_personal_data(client, listed):
    """No query text, address, user, session or time of day: the columns are the
    cell and its count, and a searched name or address appears nowhere."""
    columns = {f.column for f in SearchDemand._meta.concrete_fields}
    assert columns == {"id", "day", "prefecture", "theme", "form", "results", "searches"}
    assert SearchDemand._meta.get_field("day").get_internal_type() == "DateField"
    secrets = ("佐藤 健太", "sato@example.jp", "203.0.113.7")
    for text in secrets[:2]:
        client.get(
            "/specialists/",
            {"q": text, "prefecture": "13"},
            HTTP_USER_AGENT=BROWSER_UA,
            REMOTE_ADDR=secrets[2],
        )
        client.get(
            "/api/v1/specialists",
            {"q": text},
            HTTP_USER_AGENT=BROWSER_UA,
            REMOTE_ADDR=secrets[2],
        )
    demand.flush()
    assert SearchDemand.objects.count() == 2
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {SearchDemand._meta.db_table}")  # noqa: S608
        dump = repr(cursor.fetchall())
    for secret in (*secrets, "sato", "example", "健太"):
        assert secret not in dump
    for row in SearchDemand.objects.values("day", "prefecture", "form"):
        assert isinstance(row["day"], dt.date) and not isinstance(row["day"], dt.datetime)
        assert row["prefecture"] in ("", "13") and row["form"] == ""


def test_a_failed_flush_keeps_its_counts_and_writes_them_once(listed, monkeypatch):
    demand.record(SearchQuery(prefectures=("13",)), today=DAY)

    def broken(counts):
        raise RuntimeError("database away")

    monkeypatch.setattr(demand, "_upsert", broken)
    with pytest.raises(RuntimeError):
        demand.flush()
    monkeypatch.undo()
    assert demand.pending() == 1
    demand.record(SearchQuery(prefectures=("13",)), today=DAY)
    demand.flush()
    demand.flush()
    assert table() == {(DAY, "13", 0, "", 3): 2}


def test_a_due_flush_writes_on_its_own(listed, monkeypatch):
    monkeypatch.setattr(demand, "FLUSH_SEARCHES", 3)
    for _ in range(3):
        demand.record(SearchQuery(), today=DAY)
    assert demand.pending() == 0
    assert table() == {(DAY, "", 0, "", 3): 3}


cells = st.tuples(
    st.sampled_from([DAY, DAY + dt.timedelta(days=1)]),
    st.sampled_from(["", "13", "47"]),
    st.sampled_from([0, 1, 17]),
    st.sampled_from(["", "online"]),
    st.integers(0, 6),
    st.integers(0, 5),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(cells, max_size=8), max_size=4))
def test_add_demand_sums_like_a_counter(batches):
    SearchDemand.objects.all().delete()
    expected: Counter = Counter()
    for batch in batches:
        assert demand.add_demand(batch) == sum(row[5] for row in batch)
        for day, pref, theme, form, results, n in batch:
            expected[(day, pref, theme, form, min(3, results))] += n
    assert table() == {cell: n for cell, n in expected.items() if n}


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_add_up():
    """Additive upserts from several connections at once lose nothing."""
    rows = [(DAY, "13", 1, "", 3, 1)]
    errors: list[Exception] = []

    def worker() -> None:
        try:
            for _ in range(10):
                demand.add_demand([*rows, (DAY, "14", 2, "", 0, 2)])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if connection.vendor == "sqlite" and errors:
        # SQLite serialises writers; a locked database is its answer, never a wrong sum.
        assert all("locked" in str(e) for e in errors)
        done = SearchDemand.objects.get(prefecture="13").searches
        assert SearchDemand.objects.get(prefecture="14").searches == 2 * done
    else:
        assert errors == []
        assert table() == {(DAY, "13", 1, "", 3): 40, (DAY, "14", 2, "", 0): 80}
