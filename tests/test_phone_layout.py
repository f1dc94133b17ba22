"""Phones, 390 px wide (issue 15, point 1): the pages found overflowing
sideways fit the screen, and no text is clipped by an ancestor's overflow."""

from __future__ import annotations

import pytest

from sekispe.inquiries.models import InquiryState
from tests.browser_support import sign_in
from tests.factories import make_specialist_user, make_user
from tests.inquiry_support import create_inquiry

pytestmark = pytest.mark.browser

OVERFLOW = "document.documentElement.scrollWidth"


@pytest.fixture
def world(transactional_db):
    specialist = make_specialist_user("500101", name="電話 確認", email="phone@example.jp")
    sme = make_user("sme", "owner@phone.example.jp", organization="株式会社スマートフォン確認")
    inquiry = create_inquiry(sme, specialist, InquiryState.IN_GUIDANCE, recorded=1)
    operator = make_user("operator", "ops@phone.example.jp")
    return specialist, sme, inquiry, operator


def _width(page, url: str) -> int:
    page.goto(url)
    page.wait_for_load_state()
    return page.evaluate(OVERFLOW)


def test_the_pages_found_too_wide_fit_a_phone(world, live_server, chromium):
    _specialist, sme, inquiry, operator = world
    base = live_server.url
    context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    page = context.new_page()
    widths = {
        "detail": _width(page, f"{base}/specialists/500101/"),
        "diagnosis": _width(page, f"{base}/diagnosis/"),
    }
    sign_in(page, base, sme.email)
    widths["inquiry"] = _width(page, f"{base}/inquiries/{inquiry.pk}/")
    context.clear_cookies()
    sign_in(page, base, operator.email)
    widths["ops"] = _width(page, f"{base}/ops/")
    context.close()
    assert widths == dict.fromkeys(widths, 390)
