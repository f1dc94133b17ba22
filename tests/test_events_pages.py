"""The /events/ pages: an institution's whole path (create an event, register
a company, record a consultation, refer it, follow the referral, read and
download the report), the public sign-up link, and the permission boundaries
(another institution gets 404 on every object route; other roles 403;
anonymous visitors the login page)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from sekispe.audit.models import AuditEvent
from sekispe.events import services
from sekispe.events.models import ConsultationEvent, EventParticipant, IndividualConsultation
from sekispe.inquiries.models import Inquiry
from sekispe.listings.models import Availability, Listing
from sekispe.reports.exports import XLSX_CONTENT_TYPE
from tests.factories import make_specialist_user, make_user, text

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _event(owner, **overrides) -> ConsultationEvent:
    base = {
        "title": "名古屋 セキュリティ相談会",
        "held_on": TODAY + dt.timedelta(days=10),
        "capacity": 5,
        "themes": (1, 5),
        "place": "名古屋商工会議所 2階",
        "starts_at": dt.time(13, 30),
        "ends_at": dt.time(16),
        "description": "当日は会社の概要が分かる資料をお持ちください。",
    }
    return services.create_event(owner, services.EventDetails(**{**base, **overrides}))


def _participant(event, n: int = 1, **overrides) -> EventParticipant:
    base = {
        "company_name": f"株式会社名古屋{n}",
        "contact_name": f"担当 {n}",
        "email": f"n{n}@nagoya.example.jp",
        "prefecture": "23",
        "themes": (1,),
    }
    return services.register_participant(
        event.owner, event, services.ParticipantDetails(**{**base, **overrides})
    )


def _signin(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


JOIN_FORM = {
    "company_name": "有限会社テスト",
    "contact_name": "申込 太郎",
    "email": "join@test.example.jp",
    "phone": "052-123-4567",
    "prefecture": "23",
    "industry": "I",
    "employees": "6-20",
    "themes": ["5"],
    "agree": "on",
}


# ------------------------------------------------------ the institution's path


def test_the_institution_path_from_event_to_report(institution, specialist):
    client = _signin(institution)

    response = client.post(
        "/events/new/",
        {
            "title": "東京 個別相談会",
            "held_on": (TODAY + dt.timedelta(days=5)).isoformat(),
            "starts_at": "13:00",
            "ends_at": "17:00",
            "place": "東京商工会議所",
            "capacity": "20",
            "themes": ["1", "5"],
            "description": "",
        },
    )
    event = ConsultationEvent.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/events/{event.pk}/"
    assert event.owner == institution and event.themes == [1, 5]

    page = text(client.get(f"/events/{event.pk}/"))
    assert f"/events/join/{event.signup_token}/" in page
    assert "参加企業（0社／定員20社）" in page

    response = client.post(
        f"/events/{event.pk}/participants/",
        {
            "company_name": "株式会社東京製作所",
            "contact_name": "東京 一郎",
            "email": "ichiro@tokyo.example.jp",
            "prefecture": "13",
            "industry": "E",
            "themes": ["1"],
        },
    )
    assert response.status_code == 302
    participant = event.participants.get()
    assert "株式会社東京製作所" in text(client.get(f"/events/{event.pk}/"))

    base = f"/events/{event.pk}/participants/{participant.pk}/"
    page = text(client.get(base))
    # The shortlist offers the accepting specialist for the company's theme.
    assert 'value="100001"' in page and "佐藤 健太" in page

    response = client.post(
        base + "consultations/",
        {
            "consult-registration_number": "100001",
            "consult-theme": "1",
            "consult-notes": "規程がない",
        },
    )
    assert response.status_code == 302
    assert IndividualConsultation.objects.get().listing.record_id == specialist.record_id

    response = client.post(
        base + "referrals/",
        {
            "refer-specialist": "100001",
            "refer-theme": "1",
            "refer-preferred_form": "visit",
            "refer-message": "規程づくりの訪問指導をお願いします。",
        },
    )
    assert response.status_code == 302, text(response)
    inquiry = Inquiry.objects.get()
    assert inquiry.referred_by_institution and inquiry.sender == institution
    assert inquiry.company_name == "株式会社東京製作所"
    assert inquiry.contact_email == "ichiro@tokyo.example.jp"
    assert inquiry.event_referral.participant == participant

    page = text(client.get("/events/referrals/"))
    assert "株式会社東京製作所" in page and "返答待ち" in page
    assert f"/inquiries/{inquiry.pk}/" in page

    page = text(client.get(f"/events/{event.pk}/report/"))
    assert "参加 1 社 → マッチ 0 社 → 訪問指導の完了 0 社" in page

    response = client.get(f"/events/{event.pk}/report.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert f"event-{event.pk}-report-" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book["集計"]["B2"].value == 1 and book["集計"]["B4"].value == 1
    assert AuditEvent.objects.filter(action="event.export", actor=institution).exists()

    overall = client.get("/events/report.xlsx")
    assert load_workbook(io.BytesIO(overall.content))["相談会別"]["A2"].value == "東京 個別相談会"
    assert "東京 個別相談会" in text(client.get("/events/"))


def test_a_bad_event_form_comes_back_with_its_errors(institution):
    response = _signin(institution).post(
        "/events/new/", {"title": "", "capacity": "0", "place": "", "held_on": "昨日"}
    )
    assert response.status_code == 400
    page = text(response)
    assert "入力内容を確認してください。" in page
    assert "相談会の名前を入力してください。" in page
    assert "会場を入力するか、オンラインで開催することを選んでください。" in page
    assert "相談できるテーマを1つ以上選んでください。" in page
    assert not ConsultationEvent.objects.exists()


def test_editing_keeps_capacity_above_the_registered(institution):
    event = _event(institution, capacity=2)
    _participant(event, 1)
    _participant(event, 2)
    client = _signin(institution)
    assert "名古屋 セキュリティ相談会" in text(client.get(f"/events/{event.pk}/edit/"))
    form = {
        "title": "改名",
        "held_on": event.held_on.isoformat(),
        "place": "会場",
        "capacity": "1",
        "themes": ["1"],
    }
    response = client.post(f"/events/{event.pk}/edit/", form)
    assert response.status_code == 400
    assert "すでに2社が参加登録しているため" in text(response)
    response = client.post(f"/events/{event.pk}/edit/", {**form, "capacity": "3"})
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.title, event.capacity, event.themes) == ("改名", 3, [1])


def test_registering_past_the_capacity_is_refused_with_a_message(institution):
    event = _event(institution, capacity=1)
    _participant(event, 1)
    client = _signin(institution)
    page = text(client.get(f"/events/{event.pk}/"))
    assert "これ以上登録できません" in page
    response = client.post(
        f"/events/{event.pk}/participants/",
        {"company_name": "B社", "contact_name": "B", "email": "b@example.jp", "prefecture": "13"},
    )
    assert response.status_code == 409
    assert "定員（1社）に達したため" in text(response)
    assert event.participants.count() == 1


def test_a_referral_by_number_must_be_listed(institution, specialist):
    event = _event(institution)
    p = _participant(event)
    client = _signin(institution)
    url = f"/events/{event.pk}/participants/{p.pk}/referrals/"
    form = {
        "refer-specialist": "other",
        "refer-registration_number": "999999",
        "refer-theme": "undecided",
        "refer-preferred_form": "either",
        "refer-message": "お願いします。",
    }
    response = client.post(url, form)
    assert response.status_code == 400
    assert "現在アクティブリストに掲載されていません" in text(response)
    response = client.post(url, {**form, "refer-registration_number": ""})
    assert "紹介する専門家の登録番号を入力してください。" in text(response)
    response = client.post(url, {**form, "refer-registration_number": "100001"})
    assert response.status_code == 302
    assert Inquiry.objects.get().theme is None


def test_an_inquiry_refusal_is_shown_on_the_page(institution, specialist):
    event = _event(institution)
    p = _participant(event)
    Listing.objects.filter(record_id=specialist.record_id).update(
        availability=Availability.NOT_ACCEPTING
    )
    response = _signin(institution).post(
        f"/events/{event.pk}/participants/{p.pk}/referrals/",
        {
            "refer-specialist": "other",
            "refer-registration_number": "100001",
            "refer-theme": "1",
            "refer-preferred_form": "visit",
            "refer-message": "お願いします。",
        },
    )
    assert response.status_code == 409
    page = text(response)
    assert "紹介できませんでした" in page
    assert "この専門家は現在、新しい依頼を受け付けていません。" in page
    assert not Inquiry.objects.exists()


# ---------------------------------------------------------- the public link


def test_the_join_page_shows_the_event_and_never_its_participants(institution):
    event = _event(institution)
    _participant(event, 1)
    response = Client().get(f"/events/join/{event.signup_token}/")
    assert response.status_code == 200
    page = text(response)
    for shown in (
        "名古屋 セキュリティ相談会",
        "名古屋商工会議所 2階",
        "13:30〜16:00",
        "情報セキュリティ規程の整備",
        "従業員向け情報セキュリティ教育",
        "資料をお持ちください",
        "サンプル商工会議所",
    ):
        assert shown in page, shown
    assert "株式会社名古屋1" not in page and "n1@nagoya.example.jp" not in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "same-origin"


def test_a_company_signs_up_anonymously(institution):
    event = _event(institution)
    response = Client().post(f"/events/join/{event.signup_token}/", JOIN_FORM)
    assert response.status_code == 200
    assert "申し込みを受け付けました" in text(response)
    p = event.participants.get()
    assert (p.company_name, p.registered_via, p.sme_account, p.themes) == (
        "有限会社テスト",
        "link",
        None,
        [5],
    )


def test_a_signed_in_sme_is_prefilled_and_linked(institution, sme):
    event = _event(institution)
    client = _signin(sme)
    page = text(client.get(f"/events/join/{event.signup_token}/"))
    assert 'value="株式会社サンプル製作所"' in page and f'value="{sme.email}"' in page
    response = client.post(f"/events/join/{event.signup_token}/", {**JOIN_FORM, "email": sme.email})
    assert response.status_code == 200
    assert event.participants.get().sme_account == sme


def test_the_join_form_needs_consent(institution):
    event = _event(institution)
    form = {k: v for k, v in JOIN_FORM.items() if k != "agree"}
    response = Client().post(f"/events/join/{event.signup_token}/", form)
    assert response.status_code == 400
    assert "同意にチェックを入れてください" in text(response)
    assert not event.participants.exists()


def test_a_full_event_says_so(institution):
    event = _event(institution, capacity=1)
    _participant(event)
    client = Client()
    assert "定員（1社）に達したため、申し込みを締め切りました" in text(
        client.get(f"/events/join/{event.signup_token}/")
    )
    response = client.post(f"/events/join/{event.signup_token}/", JOIN_FORM)
    assert response.status_code == 409
    assert "定員（1社）に達したため" in text(response)


def test_a_past_event_takes_no_signups(institution):
    event = _event(institution, held_on=TODAY - dt.timedelta(days=1))
    client = Client()
    assert "この相談会は終了したため" in text(client.get(f"/events/join/{event.signup_token}/"))
    response = client.post(f"/events/join/{event.signup_token}/", JOIN_FORM)
    assert response.status_code == 409
    assert not event.participants.exists()


def test_signups_are_rate_limited_per_address(institution, settings):
    settings.EVENT_SIGNUPS_PER_IP = (1, 3600)
    event = _event(institution)
    client = Client()
    assert client.post(f"/events/join/{event.signup_token}/", JOIN_FORM).status_code == 200
    response = client.post(
        f"/events/join/{event.signup_token}/", {**JOIN_FORM, "email": "second@test.example.jp"}
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    page = text(response)
    assert "しばらくしてからもう一度お試しください" in page
    assert 'value="second@test.example.jp"' in page  # nothing typed is lost
    assert event.participants.count() == 1


def test_a_wrong_token_is_a_404(institution):
    event = _event(institution)
    for token in ("nope", event.signup_token[:-2]):
        assert Client().get(f"/events/join/{token}/").status_code == 404


# ------------------------------------------------------ permission boundaries


def _object_routes(event, participant) -> list[tuple[str, str]]:
    e, p = event.pk, participant.pk
    return [
        ("GET", f"/events/{e}/"),
        ("GET", f"/events/{e}/edit/"),
        ("POST", f"/events/{e}/edit/"),
        ("POST", f"/events/{e}/participants/"),
        ("GET", f"/events/{e}/participants/{p}/"),
        ("POST", f"/events/{e}/participants/{p}/consultations/"),
        ("POST", f"/events/{e}/participants/{p}/referrals/"),
        ("GET", f"/events/{e}/report/"),
        ("GET", f"/events/{e}/report.xlsx"),
    ]


def _call(client: Client, method: str, path: str):
    return client.post(path) if method == "POST" else client.get(path)


def test_another_institution_gets_404_on_every_object_route(institution, specialist):
    event = _event(institution)
    participant = _participant(event)
    services.refer(
        institution,
        participant,
        Listing.objects.get(record_id=specialist.record_id),
        services.ReferralRequest(1, "visit", "お願いします。", False),
    )
    services.record_consultation(
        institution, participant, registration_number="", theme=1, notes="秘密の課題メモ"
    )
    intruder = _signin(make_user("institution", organization="別の商工会議所"))
    for method, path in _object_routes(event, participant):
        assert _call(intruder, method, path).status_code == 404, (method, path)
    # The lists show none of it.
    for path in ("/events/", "/events/referrals/", "/events/report/"):
        page = text(intruder.get(path))
        assert "名古屋 セキュリティ相談会" not in page and "株式会社名古屋1" not in page, path
    assert (
        load_workbook(io.BytesIO(intruder.get("/events/report.xlsx").content))["参加企業"].max_row
        == 1
    )
    # And nothing changed.
    assert event.participants.count() == 1
    assert IndividualConsultation.objects.count() == 1 and Inquiry.objects.count() == 1


@pytest.mark.parametrize("role", ["sme", "specialist", "operator"])
def test_other_roles_get_403(role, institution, sme, specialist, operator):
    event = _event(institution)
    participant = _participant(event)
    user = {"sme": sme, "specialist": specialist, "operator": operator}[role]
    client = _signin(user)
    routes = [
        *_object_routes(event, participant),
        ("GET", "/events/"),
        ("GET", "/events/new/"),
        ("GET", "/events/referrals/"),
        ("GET", "/events/report/"),
    ]
    for method, path in routes:
        assert _call(client, method, path).status_code == 403, (method, path)


def test_anonymous_visitors_are_sent_to_login(institution):
    event = _event(institution)
    participant = _participant(event)
    client = Client()
    for method, path in [*_object_routes(event, participant), ("GET", "/events/")]:
        response = _call(client, method, path)
        assert response.status_code == 302 and "/login/" in response["Location"], (method, path)


def test_the_specialist_shortlist_is_for_the_participant_only(institution):
    """Two specialists; the shortlist on the page follows the company's theme."""
    make_specialist_user("300010", themes=(5,), prefectures=("23",))
    make_specialist_user("300011", themes=(3,), prefectures=("23",))
    event = _event(institution)
    p = _participant(event, themes=(5,))
    page = text(_signin(institution).get(f"/events/{event.pk}/participants/{p.pk}/"))
    assert 'value="300010"' in page and 'value="300011"' not in page


# ------------------------------------------------------ issue 15, point 14


def test_the_referral_message_says_what_happened_at_the_event(institution):
    event = _event(institution, held_on=dt.date(2026, 12, 1))
    participant = _participant(event)
    url = f"/events/{event.pk}/participants/{participant.pk}/"
    page = text(_signin(institution).get(url))
    # Before any consultation, nobody "received an individual consultation".
    assert "名古屋 セキュリティ相談会（2026年12月1日）に参加した会社です。" in page
    assert "個別相談を受けた会社です" not in page
    services.record_consultation(
        institution, participant, registration_number="", theme=1, notes="規程の相談"
    )
    page = text(_signin(institution).get(url))
    assert "名古屋 セキュリティ相談会（2026年12月1日）で個別相談を受けた会社です。" in page


def test_the_signup_link_can_be_copied_and_selected_whole_without_javascript(institution):
    event = _event(institution)
    body = _signin(institution).get(f"/events/{event.pk}/").content.decode()
    assert '<code id="signup-url" class="share-url share-code"' in body
    assert f"/events/join/{event.signup_token}/</code>" in body
    # The copy button is JavaScript's to show: hidden in the HTML, no inline script.
    assert 'data-copy-target="signup-url"' in body and " hidden>" in body
    assert "js/copy-link.js" in body
    assert "<script>" not in body
