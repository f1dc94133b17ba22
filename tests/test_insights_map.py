"""The supply-and-demand map and the prefecture pages (insights.map, views_map)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from sekispe.insights import map as choropleth
from sekispe.insights.facts import Facts
from sekispe.insights.models import Fact, Refresh

MONTHS = [dt.date(2026, m, 1) for m in range(1, 13)]


def map_rows(registrants: dict[str, int], searches: dict[str, int], unmet: dict[str, int]):
    rows = []
    for code in choropleth.PREFECTURE_CODES:
        rows.append(("registrants.active_now", None, code, "", "", registrants.get(code, 0)))
        rows.append(("supply.listed", None, code, "", "", registrants.get(code, 0) // 2))
        rows.append(("security_action.declared_now", None, code, "", "", 7))
        for month in MONTHS:
            rows.append(("demand.searches", month, code, "", "", searches.get(code, 0)))
            rows.append(("demand.unmet_searches", month, code, "", "", unmet.get(code, 0)))
    return rows


def test_the_shapes_cover_47_prefectures_and_are_small() -> None:
    shapes = choropleth.shapes()
    assert sorted(shapes.paths) == list(choropleth.PREFECTURE_CODES)
    assert all(re.fullmatch(r"M[0-9., L-]+ Z", d) for d in shapes.paths.values())
    assert choropleth.SHAPES_FILE.stat().st_size < 20_000


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=47))
def test_classes_are_ordered_and_hold_every_value(values: list[float]) -> None:
    bounds = choropleth.classify(values)
    assert 1 <= len(bounds) <= 5
    assert bounds == sorted(set(bounds))
    assert bounds[-1] == max(values)
    for value in values:
        index = choropleth.class_of(value, bounds)
        assert value <= bounds[index]
        assert index == 0 or value > bounds[index - 1]


def test_per_demand_unmet_share_and_no_data() -> None:
    facts = Facts(map_rows({"13": 50, "01": 5}, {"13": 100, "01": 10}, {"13": 25, "01": 10}))
    registrants = choropleth.build(facts, choropleth.BY_CHOICE["registrants"])
    by_code = {s.code: s for s in registrants.shades}
    # 50 registrants / 1,200 searches in 12 months * 1,000.
    assert by_code["13"].value == pytest.approx(50 * 1000 / 1200)
    assert by_code["13"].text == "41.7人"
    assert by_code["02"].value is None and by_code["02"].fill == choropleth.NO_DATA_FILL
    assert by_code["02"].text == "データなし"
    unmet = choropleth.build(facts, choropleth.BY_CHOICE["unmet"])
    assert {s.code: s.text for s in unmet.shades}["13"] == "25.0%"
    assert {s.code: s.text for s in unmet.shades}["01"] == "100.0%"
    declarations = choropleth.build(facts, choropleth.BY_CHOICE["declarations"])
    assert {s.text for s in declarations.shades} == {"7社"}
    assert len(declarations.bands) == 1 and declarations.bands[0].label == "7社"


def test_the_legend_states_each_range_in_text() -> None:
    counts = {code: n * 10 for n, code in enumerate(choropleth.PREFECTURE_CODES, start=1)}
    facts = Facts(map_rows(counts, dict.fromkeys(counts, 1), {}))
    drawn = choropleth.build(facts, choropleth.BY_CHOICE["registrants"])
    assert [b.fill for b in drawn.bands] == list(choropleth.PALETTE)
    assert all("〜" in b.label for b in drawn.bands)
    assert drawn.bands[0].low == pytest.approx(10 * 1000 / 12)


@pytest.fixture
def facts(db):
    Fact.objects.bulk_create(
        Fact(measure=m, month=mo, prefecture=p, theme=t, key=k, value=v)
        for m, mo, p, t, k, v in map_rows(
            {"13": 1234, "27": 300}, {"13": 100, "27": 50}, {"13": 10}
        )
    )
    Fact.objects.create(measure="supply.accepting", prefecture="13", theme="1", value=17)
    Fact.objects.create(measure="registrants.active_now", prefecture="", value=1534)
    now = timezone.now()
    Refresh.objects.create(started_at=now, finished_at=now, as_of=now.date(), cells=1)


def test_the_map_page_draws_47_named_links_and_the_same_table(facts, analyst, client_for) -> None:
    page = client_for(analyst).get("/insights/map/", {"measure": "declarations"})
    assert page.status_code == 200
    html = page.content.decode()
    links = re.findall(r'<a href="/insights/prefectures/(\d\d)/" aria-label="([^"]+)"', html)
    assert len(links) == 47
    rows = dict(re.findall(r'<tr data-code="(\d\d)">.*?<td class="num">([^<]+)</td>', html))
    for code, label in links:
        _name, value = label.split("：")
        assert rows[code] == value
    assert "東京都：7社" in html
    assert 'value="declarations" checked' in html


def test_an_unknown_measure_shows_the_default(facts, operator, client_for) -> None:
    page = client_for(operator).get("/insights/map/", {"measure": "nope"})
    assert page.status_code == 200
    assert 'value="registrants" checked' in page.content.decode()


def test_the_prefecture_page_compares_with_the_country(facts, analyst, client_for) -> None:
    page = client_for(analyst).get("/insights/prefectures/13/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>東京都</h1>" in html
    # 1,234 of 1,534 registrants nationally.
    assert "1,234" in html and "1,534" in html and "80.4%" in html
    assert '<td class="num">17</td>' in html


def test_an_unknown_prefecture_is_404(facts, analyst, client_for) -> None:
    assert client_for(analyst).get("/insights/prefectures/48/").status_code == 404
    assert client_for(analyst).get("/insights/prefectures/xx/").status_code == 404


def test_others_are_refused(facts, sme, client_for) -> None:
    assert client_for(sme).get("/insights/map/").status_code == 403
