"""The inquiry form checks before anything is typed (issue 15, point 9): an
inquiry that a send would duplicate is shown, with its link, instead of the
form; other open inquiries to the specialist are listed above it; and the
theme prefilled from the self-diagnosis is one this specialist offers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from sekispe.diagnosis import services as diagnosis_services
from sekispe.inquiries import services
from sekispe.inquiries.models import Inquiry
from sekispe.inquiries.models import InquiryState as S
from sekispe.reference import data
from tests.factories import make_user
from tests.inquiry_support import jump, listing_of, send

pytestmark = pytest.mark.django_db

NEW = "/inquiries/new/100001/"
FORM = 'class="inquiry-form"'


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _notice(html: str) -> str:
    match = re.search(r'<div class="notice existing-inquiry".*?</div>', html, re.S)
    assert match, "no notice of the existing inquiry"
    return match.group(0)


def test_a_waiting_inquiry_is_shown_instead_of_the_form(sme, specialist):
    inquiry = send(sme, specialist, company_name=sme.organization)
    response = _client(sme).get(NEW)
    assert response.status_code == 200
    html = response.content.decode()
    notice = _notice(html)
    assert "この専門家には、すでに依頼を送っています" in notice
    assert f'<a href="/inquiries/{inquiry.pk}/">送った依頼を見る</a>' in notice
    assert FORM not in html
    assert response.context["duplicate"] == inquiry


def test_another_companys_inquiry_is_never_shown(sme, specialist):
    other = make_user("sme", "other@example.co.jp", organization="株式会社よそ")
    send(other, specialist, company_name="株式会社よそ")
    html = _client(sme).get(NEW).content.decode()
    assert "existing-inquiry" not in html
    assert "株式会社よそ" not in html
    assert FORM in html


def test_an_inquiry_under_way_is_linked_above_the_form(sme, specialist):
    inquiry = send(sme, specialist, company_name=sme.organization)
    inquiry = jump(inquiry, S.CONSULTING, specialist, sme)
    listing = listing_of(specialist)
    listing.capacity = 3  # room for another engagement
    listing.save(update_fields=["capacity"])
    html = _client(sme).get(NEW).content.decode()
    notice = _notice(html)
    assert f'href="/inquiries/{inquiry.pk}/"' in notice
    assert "個別相談済み" in notice
    assert FORM in html  # a new, separate request is still possible


def test_an_inquiry_that_is_over_is_not_mentioned(sme, specialist):
    inquiry = send(sme, specialist, company_name=sme.organization)
    services.decline(inquiry, specialist, "schedule")
    html = _client(sme).get(NEW).content.decode()
    assert "existing-inquiry" not in html
    assert FORM in html


def test_an_institution_sees_its_waiting_companies_above_the_form(institution, specialist):
    inquiry = send(institution, specialist, company_name="株式会社紹介先")
    html = _client(institution).get(NEW).content.decode()
    notice = _notice(html)
    assert f'href="/inquiries/{inquiry.pk}/"' in notice
    assert "株式会社紹介先" in notice
    assert FORM in html


def test_a_refused_duplicate_links_to_the_waiting_inquiry(sme, specialist):
    inquiry = send(sme, specialist, company_name=sme.organization)
    data_ = {
        "company_name": sme.organization,
        "contact_name": "中小 花子",
        "contact_email": "hanako@sample.example.jp",
        "prefecture": "13",
        "theme": "1",
        "preferred_form": "visit",
        "message": "もう一度送ります。",
    }
    response = _client(sme).post(NEW, data_)
    assert response.status_code == 409
    html = response.content.decode()
    assert f'<a href="/inquiries/{inquiry.pk}/">返答を待っている依頼を見る</a>' in html
    assert "もう一度送ります。" in html
    assert Inquiry.objects.count() == 1


# ----------------------------------------------------------- theme prefill


def _recommended(sme: Any) -> list[int]:
    answers = dict.fromkeys(diagnosis_services.rules.current().ids, "not_done")
    diagnosis = diagnosis_services.record(answers, {"prefecture": "13"}, user=sme)
    themes = list(diagnosis_services.evaluation_of(diagnosis).result.themes)
    assert len(themes) >= 2
    return themes


def test_the_prefilled_theme_is_the_first_recommended_one_the_specialist_offers(sme, specialist):
    recommended = _recommended(sme)
    listing_of(specialist).themes.set(recommended[1:])  # not the first
    response = _client(sme).get(NEW)
    assert response.context["form"]["theme"].value() == str(recommended[1])
    html = response.content.decode()
    assert "この専門家に支援実績のある" in html


def test_no_theme_is_prefilled_when_the_specialist_offers_none_of_them(sme, specialist):
    recommended = _recommended(sme)
    others = [t.code for t in data.GUIDANCE_THEMES if t.code not in recommended]
    assert others, "the diagnosis recommends every theme; pick other answers"
    listing_of(specialist).themes.set(others)
    response = _client(sme).get(NEW)
    assert response.context["form"]["theme"].value() in (None, "")
    html = response.content.decode()
    assert "この専門家の支援実績のあるテーマにないため、選んでいません" in html
    assert "checked" not in re.search(r'<div id="id_theme">.*?</fieldset>', html, re.S).group(0)
    for code in recommended:
        assert f"theme={code}" in html  # a search for specialists who do
