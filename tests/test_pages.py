"""The public web pages: plain GET forms, htmx partials, detail, errors, headers."""

from __future__ import annotations

import pytest

from tests.factories import create_specialists, make_input, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def specialists():
    create_specialists(
        make_input(
            registration_number="000001",
            name="中村 由美",
            prefectures=("27",),
            themes=(3,),
            fees={"visit": 30000},
            phone="06-1234-5678",
            track_record="製造業A社でクラウド利用ルールを整備",
        ),
        make_input(registration_number="000002", prefectures=("13",), themes=(1,)),
        make_input(registration_number="000003", prefectures=("13",), status="expired"),
    )


def test_root_is_the_start_page_with_a_door_to_the_search(client):
    response = client.get("/")
    assert response.status_code == 200
    assert '<a href="/specialists/">専門家を探す</a>' in text(response)


def test_search_page_works_as_a_plain_get_form(client, specialists):
    response = client.get("/specialists/", {"prefecture": "27", "theme": "3"})
    assert response.status_code == 200
    body = text(response)
    assert '<form id="search-form"' in body and 'method="get"' in body
    assert "中村 由美" in body
    assert "1</strong> 名の登録セキスペが見つかりました" in body
    # The chosen filters stay checked, so the URL can be shared and reloaded.
    assert 'name="prefecture" value="27" checked' in body
    assert 'name="theme" value="3" checked' in body
    # Verified and self-declared items are told apart.
    assert "登録簿で確認済み" in body and "本人申告" in body
    assert "訪問コンサルティング（30,000円）" in body


def test_facet_values_show_counts(client, specialists):
    body = text(client.get("/specialists/"))
    assert 'id="count-prefecture-13">(1)<' in body  # the expired one is not counted
    assert 'id="count-theme-3">(1)<' in body


def test_htmx_request_gets_only_results_and_out_of_band_counts(client, specialists):
    response = client.get("/specialists/", {"theme": "1"}, HTTP_HX_REQUEST="true")
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="results"')
    assert 'id="count-prefecture-13" hx-swap-oob="true">(1)<' in body


def test_invalid_filter_is_a_400_with_a_japanese_message(client):
    response = client.get("/specialists/", {"theme": "9"})
    assert response.status_code == 400
    assert "検索条件に誤りがあります" in text(response)
    assert client.get("/specialists/", {"max_fee": "abc"}).status_code == 400


def test_no_match_in_a_prefecture_offers_alternatives(client, specialists):
    body = text(client.get("/specialists/", {"prefecture": "29"}))  # 奈良
    assert "見つかりませんでした" in body
    assert "大阪府（1名）" in body
    assert "全国のオンライン対応の専門家" in body


def test_detail_page_shows_contact_track_record_and_verified_facts(client, specialists):
    body = text(client.get("/specialists/000001/"))
    # The phone number is shown on request only (see test_contact_reveal.py).
    assert "06-1234-5678" not in body
    assert "連絡先を表示する</button>" in body
    assert "06-1234-5678" in text(client.post("/specialists/000001/contact/"))
    assert "製造業A社でクラウド利用ルールを整備" in body
    assert "登録番号</dt><dd>000001" in body
    assert "更新回数</dt><dd>0回" in body
    assert "掲載情報の最終更新日" in body
    assert "最新（期限を過ぎた未受講はありません）" in body


def test_detail_page_is_404_for_invisible_or_unknown_numbers(client, specialists):
    assert client.get("/specialists/000003/").status_code == 404
    assert client.get("/specialists/999999/").status_code == 404


def test_pages_are_read_only(client, specialists):
    assert client.post("/specialists/").status_code == 405
    assert client.post("/specialists/000001/").status_code == 405
    assert client.post("/healthz").status_code == 405


def test_security_headers(client):
    response = client.get("/specialists/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_admin_refuses_anonymous_and_non_operator_users(client, sme):
    assert client.get("/admin/").status_code == 302
    client.force_login(sme)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_htmx_updates_announce_the_new_count_in_a_persistent_live_region(client, specialists):
    page = text(client.get("/specialists/"))
    assert '<p id="results-status" class="visually-hidden" aria-live="polite"' in page
    partial = text(client.get("/specialists/", {"theme": "1"}, HTTP_HX_REQUEST="true"))
    assert (
        '<p id="results-status" hx-swap-oob="innerHTML">1名の登録セキスペが見つかりました</p>'
        in partial
    )
