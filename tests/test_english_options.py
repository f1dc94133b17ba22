"""English mode: option lists and the company's profile follow the page's
language (issue 15, point 15), while Japanese stays the default."""

from __future__ import annotations

import pytest

from sekispe.inquiries.models import InquiryState
from tests.factories import make_user, text
from tests.inquiry_support import create_inquiry

pytestmark = pytest.mark.django_db


def test_the_public_registry_offers_prefectures_in_the_pages_language(client):
    english = client.get("/registry/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="13">Tokyo</option>' in english
    assert "東京都" not in english
    japanese = client.get("/registry/").content.decode()
    assert '<option value="13">東京都</option>' in japanese


def test_the_inquiry_page_names_the_companys_place_and_industry_in_english(client_for, specialist):
    sme = make_user("sme", organization="株式会社サンプル製作所")
    inquiry = create_inquiry(sme, specialist, InquiryState.SENT)
    signed_in = client_for(specialist)
    page = text(signed_in.get(f"/inquiries/{inquiry.pk}/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Tokyo" in page and "Manufacturing" in page
    assert "東京都" not in page and "製造業" not in page
    page = text(signed_in.get(f"/inquiries/{inquiry.pk}/"))
    assert "東京都" in page and "製造業" in page
