"""Contacts are shown on request: a logged, rate-limited POST, never in the page or the API."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client, override_settings

from sekispe.listings.models import ListingStatus
from sekispe.listings.services import write_listings
from sekispe.search.models import ContactReveal
from tests.factories import create_specialists, make_input, make_user, text

pytestmark = pytest.mark.django_db

EMAIL = "nakamura@example.jp"
PHONE = "06-1234-5678"
NOW = dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC)  # 12:00 in Tokyo
LIMIT = "連絡先の表示回数が上限に達しました。"
URL = "/specialists/000001/contact/"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def listed():
    create_specialists(
        make_input(
            registration_number="000001",
            name="中村 由美",
            email=EMAIL,
            phone=PHONE,
            web="https://nakamura.example.jp/",
        )
    )


def test_detail_page_prints_no_email_or_phone_but_offers_the_reveal_form(client, listed):
    response = client.get("/specialists/000001/")
    body = text(response)
    assert response.status_code == 200
    assert EMAIL not in body and PHONE not in body
    assert "mailto:" not in body and "tel:" not in body
    # The web site is public marketing and stays on the page.
    assert "https://nakamura.example.jp/" in body
    assert f'<form class="contact-reveal" method="post" action="{URL}"' in body
    assert "csrfmiddlewaretoken" in body
    assert "連絡先を表示する</button>" in body
    assert not ContactReveal.objects.exists()


def test_posting_reveals_the_contacts_and_logs_one_row(client, listed):
    response = client.post(URL)
    body = text(response)
    assert response.status_code == 200
    assert "<html" in body  # without JavaScript: the whole detail page
    assert f'<a href="mailto:{EMAIL}">{EMAIL}</a>' in body
    assert f'<a href="tel:{PHONE}">{PHONE}</a>' in body
    assert "連絡先を表示する</button>" not in body
    reveal = ContactReveal.objects.get()
    assert reveal.listing.record.registration_number == "000001"
    assert reveal.user is None
    assert reveal.role == "anonymous"
    assert len(reveal.ip_hash) == 64 and "127.0.0.1" not in reveal.ip_hash
    assert reveal.created_at == NOW


def test_htmx_post_gets_only_the_contact_partial(client, listed):
    response = client.post(URL, HTTP_HX_REQUEST="true")
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body and "<h1" not in body
    assert EMAIL in body and PHONE in body
    assert ContactReveal.objects.count() == 1


def test_signed_in_reveal_records_the_user_and_role(client_for, listed, sme):
    client_for(sme).post(URL)
    reveal = ContactReveal.objects.get()
    assert reveal.user == sme
    assert reveal.role == "sme"


@override_settings(CONTACT_REVEALS_ANONYMOUS_PER_IP=(3, 3600))
def test_anonymous_reveals_are_limited_per_ip_address(client, listed, _frozen_clock):
    for _ in range(3):
        assert client.post(URL).status_code == 200
    refused = client.post(URL)
    body = text(refused)
    assert refused.status_code == 429
    assert LIMIT in body
    assert "ログインした中小企業・支援機関の方は制限されません。" in body
    assert EMAIL not in body and PHONE not in body
    assert int(refused["Retry-After"]) == 3600
    assert ContactReveal.objects.count() == 3

    htmx = client.post(URL, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 429
    assert LIMIT in text(htmx) and EMAIL not in text(htmx)
    assert "<html" not in text(htmx)

    # Another address has its own count.
    other = client.post(URL, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200 and EMAIL in text(other)
    assert ContactReveal.objects.count() == 4

    # The window ends an hour after it began.
    _frozen_clock.shift(dt.timedelta(seconds=3601))
    assert client.post(URL).status_code == 200
    assert ContactReveal.objects.count() == 5


@override_settings(CONTACT_REVEALS_ANONYMOUS_PER_IP=(3, 3600))
@pytest.mark.parametrize("role", ["sme", "institution", "operator"])
def test_smes_institutions_and_operators_are_not_held_to_the_anonymous_limit(
    client_for, listed, role
):
    client = client_for(make_user(role))
    for _ in range(5):
        response = client.post(URL)
        assert response.status_code == 200
        assert EMAIL in text(response)
    assert ContactReveal.objects.filter(role=role).count() == 5


@override_settings(CONTACT_REVEALS_SIGNED_IN=(2, 24 * 3600))
def test_signed_in_smes_have_a_per_account_ceiling(client_for, listed, sme):
    client = client_for(sme)
    assert client.post(URL).status_code == 200
    assert client.post(URL).status_code == 200
    assert client.post(URL).status_code == 429
    # The ceiling is the account's, not the address's: an anonymous visitor
    # from the same address is unaffected.
    client.logout()
    assert client.post(URL).status_code == 200


@override_settings(CONTACT_REVEALS_ANONYMOUS_PER_IP=(1, 3600))
def test_signed_in_specialists_count_as_anonymous(client_for, listed, other_specialist):
    client = client_for(other_specialist)
    assert client.post(URL).status_code == 200
    assert client.post(URL).status_code == 429
    client.logout()
    assert client.post(URL).status_code == 429  # the same address's count


def test_the_limit_page_links_to_the_login_page_when_there_is_one(client, listed):
    from django.urls import NoReverseMatch, reverse

    with override_settings(CONTACT_REVEALS_ANONYMOUS_PER_IP=(0, 3600)):
        body = text(client.post(URL))
    assert LIMIT in body
    try:
        login = reverse("accounts:login")
    except NoReverseMatch:  # the sign-in pages are not wired yet
        return
    assert f'href="{login}?next=/specialists/000001/"' in body


def test_get_is_not_allowed(client, listed):
    assert client.get(URL).status_code == 405
    assert not ContactReveal.objects.exists()


def test_post_without_csrf_token_is_refused(listed):
    client = Client(enforce_csrf_checks=True)
    assert client.post(URL).status_code == 403
    assert not ContactReveal.objects.exists()


def test_post_with_the_page_csrf_token_is_accepted(listed):
    client = Client(enforce_csrf_checks=True)
    client.get("/specialists/000001/")
    token = client.cookies["csrftoken"].value
    response = client.post(URL, {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert EMAIL in text(response)


@pytest.mark.parametrize("status", [ListingStatus.DRAFT, ListingStatus.SUSPENDED])
def test_reveal_for_an_invisible_listing_is_404(client, status):
    write_listings(
        [make_input(registration_number="000009", email=EMAIL, phone=PHONE)],
        actor_label="tests",
        status=status,
    )
    assert client.post("/specialists/000009/contact/").status_code == 404
    assert client.post("/specialists/999999/contact/").status_code == 404
    assert not ContactReveal.objects.exists()


@override_settings(CONTACT_REVEALS_ANONYMOUS_PER_IP=(1, 3600))
def test_unknown_numbers_do_not_use_up_the_limit(client, listed):
    for _ in range(3):
        assert client.post("/specialists/999999/contact/").status_code == 404
    assert client.post(URL).status_code == 200


def test_api_detail_has_no_email_or_phone(client, listed):
    body = client.get("/api/v1/specialists/000001").json()
    assert "email" not in body and "phone" not in body
    assert EMAIL not in str(body) and PHONE not in str(body)
    assert body["web"] == "https://nakamura.example.jp/"
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert "email" not in schema["SpecialistDetailOut"]["properties"]
    assert "phone" not in schema["SpecialistDetailOut"]["properties"]


def test_api_search_has_no_contacts(client, listed):
    body = client.get("/api/v1/specialists").json()
    assert body["count"] == 1
    assert EMAIL not in str(body) and PHONE not in str(body)
