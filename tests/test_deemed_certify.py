"""The certifier's link (/certify/<token>/): what it shows, confirming and
declining, single use, expiry, unknown tokens, the recorded address hash, the
rate limit and the filled-in PDF form. Real database, no mocks."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import RequestFactory
from django.utils import timezone

from sekispe.core import ratelimit
from sekispe.deemed import pdf, services
from sekispe.deemed.models import CertificationRequest, DeemedStatus
from tests.deemed_pages_support import apply
from tests.factories import text
from tests.test_diagnosis_pdf import pdf_text

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 1, 0, tzinfo=dt.UTC)
GONE = "このリンクはすでに使用されたか、有効期限が切れています。"
CONFIRM = {
    "action": "confirm",
    "confirm-name": "倉庫 一郎",
    "confirm-title": "情報システム部長",
    "confirm-confirm": "on",
}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def applied(specialist):
    return apply(specialist)


def _certification(application) -> CertificationRequest:
    return application.certifications.get()


def test_the_page_shows_everything_declared_and_the_sub_item(client, applied, specialist):
    application, token = applied
    response = client.get(f"/certify/{token}/")
    page = text(response)
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]
    for declared in (
        specialist.record.name,
        specialist.record.registration_number,
        application.reference,
        "3-4 セキュリティ監視並びにログの取得及び分析",
        "株式会社サンプル倉庫",
        "外部アドバイザー",
        "倉庫管理システムのログ監視の見直し",
        application.description,
        "60時間",
        services.OATH_TEXT,
        "要求される知識",
        "要求される技能",
        "記載の業務を申請者が行ったことを証明します",
    ):
        assert declared in page, declared
    body = response.content.decode()
    # The name and title the applicant gave are prefilled, editable.
    assert 'name="confirm-name"' in body and 'value="倉庫 一郎"' in body
    assert 'value="情報システム課長"' in body
    assert 'name="decline-reason"' in body
    assert f'href="/certify/{token}/form.pdf"' in body


def test_confirming_records_the_answer_and_moves_the_application_to_review(client, applied):
    application, token = applied
    response = client.post(f"/certify/{token}/", CONFIRM, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert response["Location"] == f"/certify/{token}/done/"
    certification = _certification(application)
    assert certification.outcome == CertificationRequest.Outcome.CONFIRMED
    assert certification.confirmed_name == "倉庫 一郎"
    assert certification.confirmed_title == "情報システム部長"
    assert certification.used_at == NOW
    expected = ratelimit.hashed_client_ip(RequestFactory().get("/", REMOTE_ADDR="203.0.113.9"))
    assert certification.address_hash == expected
    assert "203.0.113.9" not in certification.address_hash
    application.refresh_from_db()
    assert application.status == DeemedStatus.SUBMITTED
    assert application.certified_at == NOW
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert "ご回答ありがとうございました" in text(done)


def test_the_link_is_single_use(client, applied):
    application, token = applied
    assert client.post(f"/certify/{token}/", CONFIRM).status_code == 302
    second = client.post(f"/certify/{token}/", {**CONFIRM, "confirm-name": "別人"})
    assert second.status_code == 410
    assert GONE in text(second)
    assert "証明の依頼を再送してもらってください" in text(second)
    assert client.get(f"/certify/{token}/").status_code == 410
    assert _certification(application).confirmed_name == "倉庫 一郎"


def test_declining_needs_a_reason_and_tells_the_applicant(client, applied):
    application, token = applied
    empty = client.post(f"/certify/{token}/", {"action": "decline", "decline-reason": ""})
    assert empty.status_code == 400
    assert "辞退の理由を入力してください。" in text(empty)
    assert 'id="id_decline-reason_error"' in empty.content.decode()
    assert _certification(application).used_at is None

    response = client.post(
        f"/certify/{token}/", {"action": "decline", "decline-reason": "当社の業務ではありません。"}
    )
    assert response.status_code == 302
    certification = _certification(application)
    assert certification.outcome == CertificationRequest.Outcome.DECLINED
    assert certification.decline_reason == "当社の業務ではありません。"
    assert certification.address_hash
    application.refresh_from_db()
    assert application.status == DeemedStatus.CERTIFICATION_DECLINED
    assert "辞退を受け付けました" in text(client.get(f"/certify/{token}/done/"))


def test_confirming_needs_the_checkbox(client, applied):
    application, token = applied
    response = client.post(f"/certify/{token}/", {**CONFIRM, "confirm-confirm": ""})
    assert response.status_code == 400
    assert "証明する場合は、チェックを入れてください。" in text(response)
    assert 'class="error-summary"' in response.content.decode()
    assert _certification(application).used_at is None


def test_a_post_without_a_button_is_a_bad_request(client, applied):
    application, token = applied
    assert client.post(f"/certify/{token}/", {}).status_code == 400
    assert _certification(application).used_at is None


def test_the_link_expires_after_30_days(client, applied, _frozen):
    application, token = applied
    _frozen.shift(dt.timedelta(days=30, seconds=-1))
    assert client.get(f"/certify/{token}/").status_code == 200
    _frozen.shift(dt.timedelta(seconds=1))
    response = client.get(f"/certify/{token}/")
    assert response.status_code == 410
    assert GONE in text(response)
    assert client.post(f"/certify/{token}/", CONFIRM).status_code == 410
    application.refresh_from_db()
    assert application.status == DeemedStatus.AWAITING_CERTIFICATION


def test_a_resent_link_replaces_the_old_one(client, applied, specialist):
    application, old = applied
    services.resend_certification(specialist, application)
    assert client.get(f"/certify/{old}/").status_code == 410


def test_a_withdrawn_application_closes_its_link(client, applied, specialist):
    application, token = applied
    services.withdraw(specialist, application)
    assert client.get(f"/certify/{token}/").status_code == 410
    assert client.get(f"/certify/{token}/form.pdf").status_code == 410


@pytest.mark.parametrize("path", ["", "done/", "form.pdf"])
def test_an_unknown_token_is_a_japanese_404(client, applied, path):
    response = client.get(f"/certify/no-such-token/{path}")
    assert response.status_code == 404
    assert "このリンクは見つかりませんでした。" in text(response)


def test_an_unknown_token_post_is_a_404(client, applied):
    assert client.post("/certify/no-such-token/", CONFIRM).status_code == 404


def test_the_done_page_before_answering_goes_back_to_the_form(client, applied):
    _application, token = applied
    response = client.get(f"/certify/{token}/done/")
    assert response.status_code == 302
    assert response["Location"] == f"/certify/{token}/"


def test_answers_are_rate_limited_per_address(client, specialist, other_specialist, settings):
    settings.DEEMED_CERTIFICATIONS_PER_IP = (1, 3600)
    _first, first = apply(specialist)
    second_application, second = apply(other_specialist, email="other@example.jp")
    assert client.post(f"/certify/{first}/", CONFIRM).status_code == 302
    limited = client.post(f"/certify/{second}/", CONFIRM)
    assert limited.status_code == 429
    assert "Retry-After" in limited
    assert 'value="倉庫 一郎"' in limited.content.decode()  # nothing typed is lost
    assert _certification(second_application).used_at is None
    other_address = client.post(f"/certify/{second}/", CONFIRM, REMOTE_ADDR="198.51.100.7")
    assert other_address.status_code == 302


# ------------------------------------------------------------------ the PDF


def test_the_pdf_is_the_filled_in_form(client, applied, specialist):
    application, token = applied
    response = client.get(f"/certify/{token}/form.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.content.rstrip().endswith(b"%%EOF")

    raw = pdf.render_form(application, compress=False)
    assert raw.startswith(b"%PDF-")
    shown = pdf_text(raw)
    for expected in (
        "みなし受講 業務証明書",
        specialist.record.registration_number,
        "署名欄",
        "押印欄",
        "倉庫 一郎",
        "セキュリティ監視並びにログの取得及び分析",
    ):
        assert expected in shown, expected


def test_the_pdf_carries_the_certifiers_answer_after_confirming(client, applied):
    application, token = applied
    client.post(f"/certify/{token}/", CONFIRM)
    response = client.get(f"/certify/{token}/form.pdf")
    assert response.status_code == 200
    shown = pdf_text(pdf.render_form(application, _certification(application), compress=False))
    assert "情報システム部長" in shown
    assert "2026年12月4日" in shown


def test_the_pdf_is_kept_30_days_after_answering(client, applied, _frozen):
    _application, token = applied
    client.post(f"/certify/{token}/", CONFIRM)
    _frozen.shift(dt.timedelta(days=29))
    assert client.get(f"/certify/{token}/form.pdf").status_code == 200
    _frozen.shift(dt.timedelta(days=2))
    assert client.get(f"/certify/{token}/form.pdf").status_code == 410


def test_the_pdf_of_an_expired_link_is_gone(client, applied):
    application, token = applied
    CertificationRequest.objects.filter(application=application).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert client.get(f"/certify/{token}/form.pdf").status_code == 410
