"""`/me/` on a phone (issue 16, part 5): 390 px wide, the summary cards fit
the screen and each row puts its value under its label."""

from __future__ import annotations

import pytest

from sekispe.inquiries.models import InquiryState
from tests.browser_support import sign_in
from tests.factories import make_specialist_user, make_user
from tests.inquiry_support import create_inquiry

pytestmark = pytest.mark.browser


@pytest.fixture
def specialist(transactional_db):
    specialist = make_specialist_user("500201", name="電話 マイページ", email="me-phone@example.jp")
    sme = make_user("sme", "owner@me-phone.example.jp", organization="株式会社とても長い名前の会社")
    create_inquiry(sme, specialist, InquiryState.SENT)
    return specialist


@pytest.mark.layout
def test_the_front_page_fits_a_phone_and_its_rows_stack(specialist, live_server, chromium):
    base = live_server.url
    context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, base, specialist.email)
    # Signing in lands on the front page.
    assert page.url == f"{base}/me/"
    width = page.evaluate("document.documentElement.scrollWidth")
    cards = page.locator(".summary-card")
    card_count = cards.count()
    lefts = {round(cards.nth(i).bounding_box()["x"]) for i in range(card_count)}
    label = page.locator(".summary-row dt").first.bounding_box()
    value = page.locator(".summary-row dd").first.bounding_box()
    context.close()

    assert width == 390
    assert card_count >= 5
    assert len(lefts) == 1  # one column: every card starts at the same left edge
    assert value["y"] >= label["y"] + label["height"] - 1  # the value sits under its label
