"""The policy pages on a phone (issue 17): at 390 px nothing pushes the page
sideways (wide tables and bar charts scroll inside their own region), and the
registrants' line chart is drawn at its own size, so its text stays readable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from sekispe.insights.refresh import refresh_insights
from sekispe.registry.models import RegistryRecord
from tests.browser_support import sign_in
from tests.factories import make_specialist_user, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def analyst_with_data(transactional_db):
    make_specialist_user("500301", prefectures=("01", "13", "47"), themes=(1, 2, 3))
    RegistryRecord.objects.filter(registration_number="500301").update(
        registered_on=dt.date(2021, 4, 1)
    )
    refresh_insights()
    return make_user("analyst", "analyst-phone@meti.example.go.jp")


@pytest.mark.layout
def test_every_insight_page_fits_a_phone(analyst_with_data, live_server, chromium):
    from sekispe.insights.views import PAGE_NAMES

    base = live_server.url
    context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, base, analyst_with_data.email)
    widths, regions, chart_width = {}, {}, None
    for name in PAGE_NAMES:
        page.goto(base + reverse(f"insights:{name}"))
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        regions[name] = page.evaluate(
            "[...document.querySelectorAll('.table-scroll')].every("
            "r => r.getAttribute('tabindex') === '0' && r.getAttribute('role') === 'region'"
            " && r.hasAttribute('aria-labelledby'))"
        )
        if name == "registrants":
            chart_width = page.locator("svg.line-chart").bounding_box()["width"]
    context.close()

    assert widths == dict.fromkeys(PAGE_NAMES, 390)
    assert all(regions.values())
    assert chart_width == 340  # drawn at its own size: 12 px text, not scaled down
