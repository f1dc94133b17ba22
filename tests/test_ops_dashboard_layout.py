"""The operators' dashboard at desktop widths (issue 15, point 7): no number or
label spills out of its card, and the page never scrolls sideways."""

from __future__ import annotations

import pytest

from tests.browser_support import sign_in
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.layout]

SPILLS = """() => [...document.querySelectorAll('.ops-grid .card')].flatMap(card => {
  const box = card.getBoundingClientRect();
  return [...card.querySelectorAll('dt, dd, p, a')]
    .filter(el => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && (r.right > box.right + 0.5 || r.left < box.left - 0.5);
    })
    .map(el => el.textContent.trim().slice(0, 40));
})"""


@pytest.fixture
def ops_user(transactional_db):
    return make_user("operator", "ops@ipa.example.jp")


@pytest.mark.parametrize("width", [1280, 1440, 1920, 390])
def test_dashboard_numbers_stay_in_their_cards(ops_user, live_server, chromium, width):
    context = chromium.new_context(locale="ja-JP", viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, live_server.url, ops_user.email)
    page.goto(f"{live_server.url}/ops/")
    assert page.evaluate(SPILLS) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
