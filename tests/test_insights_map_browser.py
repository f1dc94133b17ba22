"""The supply-and-demand map in Chromium (issue 17): 47 shapes, each a link
with an accessible name holding the prefecture and its value, the table
beneath showing the same values, no sideways scroll at 390 px, and no axe
WCAG 2.2 A/AA violation on the map, a prefecture page and a statistics table."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sekispe.insights import map as choropleth
from sekispe.insights.models import Fact, Refresh
from tests.browser_support import sign_in
from tests.factories import make_user
from tests.key_pages_support import AXE_RUN, AXE_TAGS, axe_source

pytestmark = pytest.mark.browser

MONTH = timezone.localdate().replace(day=1)


@pytest.fixture
def analyst_with_map(transactional_db):
    rows = []
    for n, code in enumerate(choropleth.PREFECTURE_CODES, start=1):
        rows += [
            Fact(measure="registrants.active_now", prefecture=code, value=n * 37),
            Fact(measure="supply.listed", prefecture=code, value=n * 11),
            Fact(measure="supply.listed", prefecture=code, theme="1", value=n % 6),
            # Okinawa has no searches: drawn hatched as "no data".
            Fact(
                measure="demand.searches", month=MONTH, prefecture=code, value=0 if n == 47 else 900
            ),
            Fact(measure="demand.unmet_searches", month=MONTH, prefecture=code, value=n * 3),
            Fact(measure="security_action.declared_now", prefecture=code, value=n),
        ]
    Fact.objects.bulk_create(rows)
    now = timezone.now()
    Refresh.objects.create(started_at=now, finished_at=now, as_of=now.date(), cells=len(rows))
    return make_user("analyst", "analyst-map@meti.example.go.jp")


def test_the_map_names_every_prefecture_and_matches_its_table(
    analyst_with_map, live_server, chromium
):
    base = live_server.url
    context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, base, analyst_with_map.email)
    page.goto(base + "/insights/map/")
    shapes = page.evaluate(
        "[...document.querySelectorAll('svg.prefecture-map a')].map(a => ["
        "a.dataset.code, a.getAttribute('aria-label'), a.querySelector('title').textContent,"
        " a.querySelectorAll('path').length])"
    )
    table = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#map-table tbody tr')].map(r => ["
        "r.dataset.code, [r.querySelector('th').textContent.trim(),"
        " r.querySelector('td').textContent.trim()]]))"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    accessible = page.locator("svg.prefecture-map a[data-code='13']").get_attribute("aria-label")
    # The form works without JavaScript: a GET with the chosen measure.
    page.check("#measure-declarations")
    page.click("form.map-form button[type=submit]")
    page.wait_for_url("**measure=declarations")
    tokyo = page.locator("svg.prefecture-map a[data-code='13']").get_attribute("aria-label")
    problems = {}
    for path in ("/insights/map/", "/insights/prefectures/13/", "/statistics/supply.listed/"):
        page.goto(base + path)
        page.evaluate(axe_source())
        problems[path] = page.evaluate(AXE_RUN, AXE_TAGS)
        problems[path + " width"] = page.evaluate("document.documentElement.scrollWidth")
    context.close()

    assert len(shapes) == 47
    assert {code for code, *_ in shapes} == set(choropleth.PREFECTURE_CODES)
    for code, label, title, paths in shapes:
        name, value = label.split("：")
        assert title == label and paths == 1
        assert table[code] == [name, value]
        assert value  # "データなし" included: never blank
    assert table["47"][1] == "データなし"
    assert accessible == "東京都：" + f"{13 * 37 * 1000 / 900:,.1f}人"
    assert tokyo == "東京都：13社"
    assert width == 390
    assert problems == {
        "/insights/map/": [],
        "/insights/map/ width": 390,
        "/insights/prefectures/13/": [],
        "/insights/prefectures/13/ width": 390,
        "/statistics/supply.listed/": [],
        "/statistics/supply.listed/ width": 390,
    }
