"""The specialist's deemed-attendance pages (/me/deemed/): the list, the
two-step application form and its refusals, the one-step application from a
confirmed Active List engagement, the detail page and its actions, the PDF,
and the summary the registry page includes. Real database, no mocks; the
clock is fixed inside the period of the personas' records (expiry 2027-03-31,
application deadline 2027-01-30)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.template.loader import render_to_string

from sekispe.deemed import presentation, services
from sekispe.deemed.examples import EXAMPLES
from sekispe.deemed.models import (
    AuditState,
    CertificationRequest,
    DeemedApplication,
    DeemedStatus,
)
from sekispe.inquiries.models import InquiryState
from sekispe.outbox.models import OutgoingMail
from tests.deemed_pages_support import DESCRIPTION, apply, form_data, latest_token
from tests.factories import text
from tests.inquiry_support import create_inquiry

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 1, 0, tzinfo=dt.UTC)  # 10:00 in Tokyo


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def signed_in(client, specialist):
    client.force_login(specialist)
    return client


def _confirmed(sme, specialist):
    inquiry = create_inquiry(sme, specialist, state=InquiryState.CONFIRMED)
    return inquiry.confirmation


# ------------------------------------------------------------------ the list


def test_the_list_shows_the_period_the_deadline_and_the_days_left(signed_in):
    page = text(signed_in.get("/me/deemed/"))
    assert "2024年4月1日〜2027年3月31日" in page
    assert "2027年1月30日（あと57日）" in re.sub(r"<[^>]+>", "", page)
    assert "新しく申請する" in page
    assert "まだ申請はありません。" in page


def test_the_list_says_why_a_new_application_cannot_start(signed_in, specialist):
    apply(specialist)
    page = text(signed_in.get("/me/deemed/"))
    assert "が手続中です。申請は1期間に1件です。" in page
    assert 'href="/me/deemed/new/"' not in signed_in.get("/me/deemed/").content.decode()


def test_the_list_shows_what_each_application_waits_for(signed_in, specialist):
    apply(specialist)
    page = text(signed_in.get("/me/deemed/"))
    assert "証明者の確認待ち" in page
    assert "ichiro@souko.example.jp" in page
    assert "2027年1月3日 10:00" in page  # 30 days from now, local time
    assert "証明の依頼を再送する" in page


def test_a_declined_certification_shows_the_reason(signed_in, specialist):
    _application, token = apply(specialist)
    services.decline_certification(
        token, reason="記載の期間に当社の業務はありません。", address_hash="x"
    )
    page = text(signed_in.get("/me/deemed/"))
    assert "証明を辞退されました" in page
    assert "記載の期間に当社の業務はありません。" in page


def test_the_list_offers_confirmed_engagements(signed_in, sme, specialist):
    confirmation = _confirmed(sme, specialist)
    body = signed_in.get("/me/deemed/").content.decode()
    assert f'href="/me/deemed/from/{confirmation.pk}/"' in body
    assert "株式会社サンプル製作所の業務で申請する" in body


def test_the_nav_links_to_the_page(signed_in):
    assert 'href="/me/deemed/"' in signed_in.get("/me/listing/").content.decode()


# ------------------------------------------------------------------ the form


def test_step_one_lists_the_30_sub_items_grouped_by_major_item(signed_in):
    body = signed_in.get("/me/deemed/new/").content.decode()
    assert body.count('type="radio" name="item"') == 30
    assert body.count('<fieldset class="choice-subgroup">') == 4
    assert "<legend>4 情報セキュリティインシデント管理の推進又は支援</legend>" in body
    assert 'method="get"' in body


def test_an_unknown_sub_item_is_refused_on_step_one(signed_in):
    response = signed_in.get("/me/deemed/new/?item=9-9")
    assert response.status_code == 400
    assert "シラバスの小項目を一覧から選んでください。" in text(response)


def test_step_two_shows_the_item_its_examples_and_the_full_oath(signed_in):
    response = signed_in.get("/me/deemed/new/?item=1-2")
    body = response.content.decode()
    page = text(response)
    assert response.status_code == 200
    assert "1-2 情報セキュリティリスクアセスメント" in page
    assert "要求される知識" in page and "要求される技能" in page
    for example in EXAMPLES:
        assert (example.title in page) == (example.area == "1")
    assert "記載例の文章をそのまま" in page
    assert services.OATH_TEXT in page
    assert 'aria-describedby="oath-text' in body
    assert '<input type="hidden" name="syllabus_item" value="1-2"' in body
    assert "空白と改行を除いて数え" in page


def test_applying_mails_the_certifier_and_shows_the_application(signed_in, specialist):
    response = signed_in.post("/me/deemed/new/?item=3-4", form_data())
    application = DeemedApplication.objects.get(record=specialist.record)
    assert response.status_code == 302
    assert response["Location"] == f"/me/deemed/{application.pk}/"
    assert application.status == DeemedStatus.AWAITING_CERTIFICATION
    assert application.syllabus_item_id == "3-4"
    assert application.oath_text == services.OATH_TEXT
    assert OutgoingMail.objects.filter(
        template="deemed_certify", to="ichiro@souko.example.jp"
    ).exists()
    page = text(signed_in.get(response["Location"]))
    assert "証明者の確認待ち" in page
    assert "倉庫管理システムのログ監視の見直し" in page
    assert "申請し、証明者に確認を依頼" in page  # history


def _refused(client, **overrides):
    response = client.post("/me/deemed/new/?item=3-4", form_data(**overrides))
    assert response.status_code == 400
    assert not DeemedApplication.objects.exists()
    return response


def test_a_short_description_is_refused_on_its_field(signed_in):
    response = _refused(signed_in, description="短い説明です。" * 10)
    body = response.content.decode()
    assert 'class="error-summary"' in body
    assert 'href="#id_description"' in body
    assert 'id="id_description_error"' in body
    assert 'aria-describedby="id_description_error id_description_help"' in body
    assert "400字以上書いてください（空白と改行を除いて現在70字）" in text(response)


def test_a_copied_example_is_refused_with_the_reason(signed_in):
    example = EXAMPLES[0]
    response = _refused(signed_in, description=example.text)
    page = text(response)
    assert f"記載例「{example.title}」とよく似ています" in page
    assert 'id="id_description_error"' in response.content.decode()


def test_work_started_before_the_period_is_refused(signed_in):
    response = _refused(signed_in, started_on="2024-03-01")
    assert "今期（2024年4月1日〜）に行った業務だけが対象です。" in text(response)
    assert 'id="id_started_on_error"' in response.content.decode()


def test_work_not_yet_finished_is_refused(signed_in):
    response = _refused(signed_in, ended_on="2026-12-05")
    assert "終わっていない業務は申請できません" in text(response)


def test_the_oath_is_required(signed_in):
    response = _refused(signed_in, oath=None)
    body = response.content.decode()
    assert "宣誓に同意しないと申請できません。" in text(response)
    assert 'id="id_oath_error"' in body


def test_every_missing_field_is_listed_at_once(signed_in):
    response = _refused(signed_in, organisation="", certifier_email="", relation=None)
    page = text(response)
    assert "業務を行った組織を入力してください。" in page
    assert "証明者のメールアドレスを入力してください。" in page
    assert "その組織とあなたの関係を選んでください。" in page


def test_a_second_application_in_the_period_is_refused(signed_in, specialist):
    apply(specialist)
    response = signed_in.post("/me/deemed/new/?item=3-4", form_data())
    assert response.status_code == 400
    assert "申請は1期間に1件です" in text(response)
    assert DeemedApplication.objects.count() == 1


def test_a_form_without_its_sub_item_goes_back_to_step_one(signed_in):
    response = signed_in.post("/me/deemed/new/", form_data(syllabus_item=None))
    assert response.status_code == 400
    assert "シラバスの小項目を選んでください。" in text(response)
    assert not DeemedApplication.objects.exists()


def test_a_tampered_sub_item_is_refused(signed_in):
    response = signed_in.post("/me/deemed/new/?item=3-4", form_data(syllabus_item="9-9"))
    assert response.status_code == 400
    assert not DeemedApplication.objects.exists()


# ------------------------------------------------------------------ from the Active List


def test_one_step_from_a_confirmed_engagement(signed_in, sme, specialist):
    confirmation = _confirmed(sme, specialist)
    url = f"/me/deemed/from/{confirmation.pk}/"
    response = signed_in.get(url)
    body = response.content.decode()
    candidates = [i.code for i in services.candidate_items(confirmation)]
    assert candidates and body.count('name="syllabus_item"') == len(candidates)
    assert "株式会社サンプル製作所" in text(response)
    assert "この指導テーマに対応する小項目から" in text(response)  # the group's help
    assert 'name="certifier_email"' not in body
    assert 'name="organisation"' not in body
    assert services.OATH_TEXT in text(response)

    data = {
        "syllabus_item": candidates[0],
        "role": "指導担当",
        "hours": "12",
        "work_summary": "情報セキュリティ規程の整備の指導",
        "description": DESCRIPTION,
        "oath": "on",
    }
    response = signed_in.post(url, data)
    application = DeemedApplication.objects.get(record=specialist.record)
    assert response.status_code == 302
    assert application.status == DeemedStatus.SUBMITTED
    assert application.confirmation_id == confirmation.pk
    assert application.organisation == "株式会社サンプル製作所"
    assert application.relation == "client"
    assert not CertificationRequest.objects.exists()  # the company is not asked again
    # Used: it is no longer offered, and its page is gone.
    assert (
        f"/me/deemed/from/{confirmation.pk}/" not in signed_in.get("/me/deemed/").content.decode()
    )
    assert signed_in.get(url).status_code == 404


def test_from_a_confirmation_only_its_theme_items_are_allowed(signed_in, sme, specialist):
    confirmation = _confirmed(sme, specialist)
    candidates = {i.code for i in services.candidate_items(confirmation)}
    outside = next(code for code in ("2-5", "2-6", "4-4") if code not in candidates)
    response = signed_in.post(
        f"/me/deemed/from/{confirmation.pk}/",
        {
            "syllabus_item": outside,
            "role": "指導担当",
            "hours": "12",
            "work_summary": "指導",
            "description": DESCRIPTION,
            "oath": "on",
        },
    )
    assert response.status_code == 400
    assert not DeemedApplication.objects.exists()


def test_from_a_confirmation_the_oath_is_still_required(signed_in, sme, specialist):
    confirmation = _confirmed(sme, specialist)
    code = services.candidate_items(confirmation)[0].code
    response = signed_in.post(
        f"/me/deemed/from/{confirmation.pk}/",
        {"syllabus_item": code, "role": "指導", "hours": "3", "work_summary": "指導",
         "description": DESCRIPTION},
    )  # fmt: skip
    assert response.status_code == 400
    assert "宣誓に同意しないと申請できません。" in text(response)


# ------------------------------------------------------------------ another specialist


def test_another_specialist_gets_404_for_an_application_and_a_confirmation(
    client, sme, specialist, other_specialist
):
    application, _token = apply(specialist)
    confirmation = _confirmed(sme, specialist)
    client.force_login(other_specialist)
    for url in (
        f"/me/deemed/{application.pk}/",
        f"/me/deemed/{application.pk}/form.pdf",
        f"/me/deemed/{application.pk}/withdraw/",
        f"/me/deemed/from/{confirmation.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/me/deemed/{application.pk}/withdraw/",
        f"/me/deemed/{application.pk}/resend/",
        f"/me/deemed/{application.pk}/answer/",
        f"/me/deemed/{application.pk}/evidence/",
    ):
        assert client.post(url, {"answer": "x", "evidence": "x"}).status_code == 404, url
    application.refresh_from_db()
    assert application.status == DeemedStatus.AWAITING_CERTIFICATION
    assert "倉庫管理システム" not in text(client.get("/me/deemed/"))


# ------------------------------------------------------------------ actions on one application


def test_withdrawing_asks_first_and_then_withdraws(signed_in, specialist):
    application, token = apply(specialist)
    confirm = signed_in.get(f"/me/deemed/{application.pk}/withdraw/")
    assert confirm.status_code == 200
    assert "取り下げる" in text(confirm)
    assert 'method="post"' in confirm.content.decode()
    application.refresh_from_db()
    assert application.status == DeemedStatus.AWAITING_CERTIFICATION

    response = signed_in.post(f"/me/deemed/{application.pk}/withdraw/")
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == DeemedStatus.WITHDRAWN
    assert services.certification_of(token)[0] == "expired"
    again = signed_in.post(f"/me/deemed/{application.pk}/withdraw/")
    assert again.status_code == 400
    assert "取下げ" in text(again)


def test_resending_replaces_the_link(signed_in, specialist):
    application, old = apply(specialist)
    response = signed_in.post(f"/me/deemed/{application.pk}/resend/")
    assert response.status_code == 302
    new = latest_token(application)
    assert new != old
    assert services.certification_of(old)[0] == "expired"
    assert services.certification_of(new)[0] == "valid"


def test_resending_after_certification_is_refused(signed_in, specialist):
    application, token = apply(specialist)
    services.certify(token, name="倉庫 一郎", title="課長", address_hash="x")
    response = signed_in.post(f"/me/deemed/{application.pk}/resend/")
    assert response.status_code == 400
    assert "証明者の確認待ちの申請だけ" in text(response)


def test_the_information_request_is_answered_once(signed_in, specialist, operator):
    application, token = apply(specialist)
    services.certify(token, name="倉庫 一郎", title="課長", address_hash="x")
    services.request_information(application, operator, "ログ集約の構成図はありますか。")
    page = text(signed_in.get(f"/me/deemed/{application.pk}/"))
    assert "IPAからの質問：ログ集約の構成図はありますか。" in page
    assert "追加情報の依頼に回答する" in page

    empty = signed_in.post(f"/me/deemed/{application.pk}/answer/", {"answer": ""})
    assert empty.status_code == 400
    assert 'id="id_answer_error"' in empty.content.decode()

    response = signed_in.post(f"/me/deemed/{application.pk}/answer/", {"answer": "あります。"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == DeemedStatus.SUBMITTED
    assert application.info_response == "あります。"
    again = signed_in.post(f"/me/deemed/{application.pk}/answer/", {"answer": "追記です。"})
    assert again.status_code == 400
    application.refresh_from_db()
    assert application.info_response == "あります。"


def test_audit_evidence_is_submitted_once_from_the_list(signed_in, specialist):
    application, token = apply(specialist)
    services.certify(token, name="倉庫 一郎", title="課長", address_hash="x")
    services.draw_audit(1, seed=7, actor_label="test")
    body = signed_in.get("/me/deemed/").content.decode()
    assert "サンプル調査中" in body
    assert f'action="/me/deemed/{application.pk}/evidence/"' in body
    assert f'id="id_{application.pk}_evidence"' in body

    response = signed_in.post(
        f"/me/deemed/{application.pk}/evidence/", {"evidence": "監視設計書（2026年9月）"}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.audit_state == AuditState.UNDER_AUDIT
    assert application.audit_evidence == "監視設計書（2026年9月）"
    again = signed_in.post(f"/me/deemed/{application.pk}/evidence/", {"evidence": "追加"})
    assert again.status_code == 400
    assert "回答できる調査がありません" in text(again)


def test_the_form_pdf_is_a_pdf(signed_in, specialist):
    application, _token = apply(specialist)
    response = signed_in.get(f"/me/deemed/{application.pk}/form.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"sekispe-deemed-{application.reference}.pdf" in response["Content-Disposition"]


# ------------------------------------------------------------------ the registry summary


def test_the_registry_summary_before_and_after_approval(specialist, operator):
    record = specialist.record
    summary = presentation.summary_for(record, specialist)
    assert summary is not None and summary.can_apply and summary.application is None
    html = render_to_string("deemed/_registry_summary.html", {"deemed": summary})
    assert "「みなし受講」として申請できます" in html

    application, token = apply(specialist)
    services.certify(token, name="倉庫 一郎", title="課長", address_hash="x")
    html = render_to_string(
        "deemed/_registry_summary.html", {"deemed": presentation.summary_for(record)}
    )
    assert f"申請番号 {application.reference}）は「審査待ち」です。" in html

    services.approve(application, operator)
    summary = presentation.summary_for(record)
    assert summary.met
    html = render_to_string("deemed/_registry_summary.html", {"deemed": summary})
    assert "みなし受講（申請番号" in html and "満たされています" in html
    assert render_to_string("deemed/_registry_summary.html", {"deemed": None}).strip() == ""


def test_the_registry_page_carries_the_summary(signed_in, specialist, operator):
    page = text(signed_in.get("/me/registry/"))
    assert "「みなし受講」として申請できます" in page
    assert 'href="/me/deemed/"' in signed_in.get("/me/registry/").content.decode()
    application, token = apply(specialist)
    services.certify(token, name="倉庫 一郎", title="課長", address_hash="x")
    services.approve(application, operator)
    page = text(signed_in.get("/me/registry/"))
    assert f"みなし受講（申請番号 {application.reference}、2026年12月4日承認）" in re.sub(
        r"<[^>]+>", "", page
    )
    assert "みなし受講により充足" in page
