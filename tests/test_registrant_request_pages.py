"""The request pages over HTTP: /me/registry/ for specialists, /ops/requests/ for operators."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from sekispe.listings.services import CourseInput
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registrant_requests.services import submit_request
from sekispe.registry.models import RegistryRecord, RegistryStatus
from tests.factories import make_specialist_user, text

pytestmark = pytest.mark.django_db

K = RequestKind
HOME = "/me/registry/"
QUEUE = "/ops/requests/"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        yield


def new_url(slug: str) -> str:
    return reverse("registrant:new_request", args=[slug])


def courses_done_specialist():
    return make_specialist_user(
        "100010",
        courses=(
            CourseInput("common", dt.date(2024, 6, 1), "IPA"),
            CourseInput("common", dt.date(2025, 6, 1), "IPA"),
            CourseInput("common", dt.date(2026, 6, 1), "IPA"),
            CourseInput("practical", dt.date(2025, 9, 1), "IPA", "P-1"),
        ),
    )


# ------------------------------------------------------------ the specialist's page


def test_home_shows_the_registration_and_the_courses(client_for, specialist):
    page = text(client_for(specialist).get(HOME))
    assert "100001" in page
    assert "ブルー" in page
    assert "2027年3月31日" in page  # expiry
    assert "2027年1月30日" in page  # application deadline
    assert "2024年度の共通講習" in page and "受講済み" in page
    assert "2026年度の共通講習" in page and "未受講" in page
    # Nothing is overdue yet: the 2026 course and the practical course are due on the deadline.
    assert "今期の講習は最新です" in page
    assert "期限を過ぎています" not in page
    assert "未受講の講習があるため、まだ更新を申請できません" in page
    assert 'action="/me/registry/renewal/"' not in page
    for label in (
        "登録事項変更届",
        "連絡先変更届",
        "公開届",
        "登録証再発行届",
        "消除届",
        "徽章貸与申請",
        "ロゴ利用申請",
    ):
        assert label in page
    assert "/requests/new/death/" not in page


def test_home_highlights_an_overdue_course(client_for):
    user = make_specialist_user(
        "100011", courses=(CourseInput("common", dt.date(2024, 6, 1), "IPA"),)
    )
    page = text(client_for(user).get(HOME))
    assert re.search(r'<tr class="overdue"> <th scope="row">2025年度の共通講習', page)
    assert "受講期限を過ぎた講習があります" in page
    assert "今期の講習は最新です" not in page


def test_renewal_button_submits_and_redirects(client_for):
    user = courses_done_specialist()
    client = client_for(user)
    page = text(client.get(HOME))
    assert "今期の講習は最新です。更新に必要な講習をすべて受講済み" in page
    assert 'action="/me/registry/renewal/"' in page
    response = client.post("/me/registry/renewal/")
    assert response.status_code == 302
    assert response["Location"] == HOME
    req = RegistrantRequest.objects.get(record=user.record, kind=K.RENEWAL)
    assert req.status == RequestStatus.SUBMITTED
    page = text(client.get(HOME))
    assert "更新申請を提出しました" in page
    assert "更新申請を事務局が審査しています" in page
    assert 'action="/me/registry/renewal/"' not in page


def test_renewal_refused_re_renders_with_the_reason(client_for, specialist):
    response = client_for(specialist).post("/me/registry/renewal/")
    assert response.status_code == 400
    assert 'role="alert"' in text(response)
    assert "未受講の講習があるため" in text(response)
    assert not RegistrantRequest.objects.exists()


def test_home_of_an_ended_registration_offers_no_requests(client_for, specialist):
    RegistryRecord.objects.filter(pk=specialist.record.pk).update(
        status=RegistryStatus.DEREGISTERED, ended_on=dt.date(2026, 10, 1)
    )
    page = text(client_for(specialist).get(HOME))
    assert "登録の状態が「登録抹消」のため" in page
    assert "2026年10月1日に登録終了" in re.sub(r"<[^>]+>", "", page)
    assert "/requests/new/" not in page


# ------------------------------------------------------------ request forms


@pytest.mark.parametrize(
    ("slug", "label"),
    [
        ("details-change", "新しい氏名"),
        ("card-reissue", "再発行の理由"),
        ("contact-change", "電話番号"),
        ("publication", "公開する項目"),
        ("deregistration", "消除の理由"),
        ("badge-loan", "補足（任意）"),
        ("logo-use", "利用目的"),
    ],
)
def test_each_form_renders(client_for, specialist, slug, label):
    response = client_for(specialist).get(new_url(slug))
    assert response.status_code == 200
    assert label in text(response)
    assert "を提出する</button>" in text(response)


@pytest.mark.parametrize("slug", ["death", "renewal", "bogus", "details_change"])
def test_no_form_for_other_kinds(client_for, specialist, slug):
    assert client_for(specialist).get(new_url(slug)).status_code == 404
    assert client_for(specialist).post(new_url(slug)).status_code == 404


def test_choice_groups_are_fieldsets_with_legends(client_for, specialist):
    page = text(client_for(specialist).get(new_url("deregistration")))
    assert re.search(
        r'<fieldset[^>]*> <legend[^>]*>消除の理由 <span class="field-tag field-tag-required">必須</span></legend>',
        page,
    )
    assert "費用負担が重い" in page


def test_contact_form_is_prefilled(client_for, specialist):
    RegistryRecord.objects.filter(pk=specialist.record.pk).update(
        email="sato@example.jp", phone="03-1111-2222"
    )
    page = text(client_for(specialist).get(new_url("contact-change")))
    assert 'value="sato@example.jp"' in page
    assert 'value="03-1111-2222"' in page
    assert re.search(r'<option value="13" selected>東京都</option>', page)


def test_publication_form_shows_the_current_choice_and_what_is_always_public(
    client_for, specialist
):
    RegistryRecord.objects.filter(pk=specialist.record.pk).update(published_items=["name"])
    page = text(client_for(specialist).get(new_url("publication")))
    assert re.search(
        r'<input type="checkbox" name="published_items" value="name"[^>]*checked', page
    )
    assert not re.search(r'value="email"[^>]*checked', page)
    for always in ("登録番号", "更新申請の期限", "更新回数", "実践講習・特定講習の受講歴"):
        assert f"<li>{always}</li>" in page


def test_form_errors_come_back_with_400_and_a_summary(client_for, specialist):
    response = client_for(specialist).post(
        new_url("details-change"), {"name": "田中 健太", "name_kana": "たなか"}
    )
    assert response.status_code == 400
    page = text(response)
    assert 'class="error-summary" role="alert"' in page
    assert 'href="#id_name_kana"' in page
    assert "氏名（カナ）は全角カタカナで入力してください。" in page
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="id_reason_helptext id_reason_error"' in page
    assert not RegistrantRequest.objects.exists()


def test_a_radio_group_error_links_to_the_group(client_for, specialist):
    response = client_for(specialist).post(new_url("deregistration"), {})
    assert response.status_code == 400
    page = text(response)
    assert 'href="#id_reason"' in page
    assert '<div id="id_reason">' in page
    assert "消除の理由を選んでください。" in page


def test_deregistration_is_filed_then_shown_as_under_review(client_for, specialist):
    client = client_for(specialist)
    response = client.post(new_url("deregistration"), {"reason": "cost", "note": ""})
    req = RegistrantRequest.objects.get(record=specialist.record, kind=K.DEREGISTRATION)
    assert response.status_code == 302
    assert response["Location"] == f"/me/registry/requests/{req.pk}/"
    page = text(client.get(response["Location"]))
    assert "消除届を提出しました" in page
    assert "審査中" in page
    assert "費用負担が重い" in page
    # A second one is refused while the first is open.
    page = text(client.get(new_url("deregistration")))
    assert "結果が出るまで、同じ種別の申請・届出は提出できません" in page
    assert '<form method="post" action="/me/registry/requests/new/deregistration/"' not in page
    response = client.post(new_url("deregistration"), {"reason": "cost"})
    assert response.status_code == 400
    assert RegistrantRequest.objects.filter(kind=K.DEREGISTRATION).count() == 1


def test_an_email_change_applies_at_once(client_for, specialist):
    client = client_for(specialist)
    response = client.post(
        new_url("contact-change"),
        {"email": "new@example.jp", "phone": "", "home_prefecture": "13"},
        follow=True,
    )
    assert "連絡先を変更しました。" in text(response)
    assert "提出と同時に反映しました" in text(response)
    assert RegistryRecord.objects.get(pk=specialist.record.pk).email == "new@example.jp"


def test_a_specialist_sees_only_their_own_requests(client_for, specialist, other_specialist):
    theirs = submit_request(other_specialist.record, K.BADGE_LOAN, {}, actor=other_specialist)
    mine = submit_request(specialist.record, K.BADGE_LOAN, {"note": "展示会"}, actor=specialist)
    client = client_for(specialist)
    assert client.get(f"/me/registry/requests/{theirs.pk}/").status_code == 404
    page = text(client.get(f"/me/registry/requests/{mine.pk}/"))
    assert "徽章貸与申請" in page and "展示会" in page
    home = text(client.get(HOME))
    assert f"/me/registry/requests/{mine.pk}/" in home
    assert f"/me/registry/requests/{theirs.pk}/" not in home


def test_the_operator_comment_is_shown_to_the_specialist(client_for, specialist, operator):
    from sekispe.registrant_requests.services import reject_request

    req = submit_request(specialist.record, K.BADGE_LOAN, {}, actor=specialist)
    reject_request(req, actor=operator, comment="現在、貸与できる徽章がありません。")
    client = client_for(specialist)
    assert "現在、貸与できる徽章がありません。" in text(client.get(HOME))
    page = text(client.get(f"/me/registry/requests/{req.pk}/"))
    assert "却下" in page and "現在、貸与できる徽章がありません。" in page


# ------------------------------------------------------------ operators


def test_queue_shows_open_requests_by_default_with_counts(
    client_for, operator, specialist, other_specialist
):
    open_one = submit_request(specialist.record, K.BADGE_LOAN, {}, actor=specialist)
    submit_request(other_specialist.record, K.BADGE_LOAN, {}, actor=other_specialist)
    submit_request(
        specialist.record,
        K.LOGO_USE,
        {"intended_use": "名刺に印刷", "medium": "business_card"},
        actor=specialist,
    )
    auto = submit_request(
        specialist.record, K.CONTACT_CHANGE, {"phone": "03-1234-5678"}, actor=specialist
    )
    client = client_for(operator)
    page = text(client.get(QUEUE))
    assert "審査中の申請・届出（3 件）" in page
    assert re.search(r"徽章貸与申請 <span class=\"n\">2</span>", page)
    assert re.search(r"ロゴ利用申請 <span class=\"n\">1</span>", page)
    assert f"/ops/requests/{open_one.pk}/" in page
    assert f"/ops/requests/{auto.pk}/" not in page  # approved at once, not in the queue

    page = text(client.get(QUEUE, {"kind": "logo_use"}))
    assert "1 件" in page and f"/ops/requests/{open_one.pk}/" not in page
    page = text(client.get(QUEUE, {"status": "approved"}))
    assert f"/ops/requests/{auto.pk}/" in page and f"/ops/requests/{open_one.pk}/" not in page
    page = text(client.get(QUEUE, {"status": "all"}))
    assert f"/ops/requests/{auto.pk}/" in page and f"/ops/requests/{open_one.pk}/" in page


def test_queue_filters_by_fiscal_year(client_for, operator, specialist):
    last_year = submit_request(specialist.record, K.BADGE_LOAN, {}, actor=specialist)
    RegistrantRequest.objects.filter(pk=last_year.pk).update(fiscal_year=2025)
    this_year = submit_request(
        specialist.record,
        K.LOGO_USE,
        {"intended_use": "名刺", "medium": "business_card"},
        actor=specialist,
    )
    client = client_for(operator)
    page = text(client.get(QUEUE, {"fiscal_year": "2025"}))
    assert f"/ops/requests/{last_year.pk}/" in page
    assert f"/ops/requests/{this_year.pk}/" not in page
    assert '<option value="2025" selected>2025年度</option>' in page
    page = text(client.get(QUEUE, {"fiscal_year": "2026"}))
    assert f"/ops/requests/{last_year.pk}/" not in page
    assert f"/ops/requests/{this_year.pk}/" in page


def test_queue_paginates_by_50(client_for, operator, specialist):
    now = timezone.now()
    RegistrantRequest.objects.bulk_create(
        RegistrantRequest(
            record=specialist.record,
            kind=K.BADGE_LOAN,
            status=RequestStatus.APPROVED,
            fiscal_year=2026,
            submitted_at=now,
        )
        for _ in range(51)
    )
    client = client_for(operator)
    first = text(client.get(QUEUE, {"status": "approved"}))
    assert "51 件" in first
    assert len(re.findall(r'href="/ops/requests/\d+/"', first)) == 50
    assert "1 / 2 ページ" in first
    second = text(client.get(QUEUE, {"status": "approved", "page": "2"}))
    assert second.count("<tr>") - 1 == 1  # header row + one request


def test_operator_detail_compares_and_approves(client_for, operator, specialist):
    req = submit_request(
        specialist.record,
        K.DETAILS_CHANGE,
        {"name": "田中 健太", "name_kana": "タナカ ケンタ", "reason": "婚姻により改姓"},
        actor=specialist,
    )
    client = client_for(operator)
    page = text(client.get(f"/ops/requests/{req.pk}/"))
    assert "現在の登録内容との比較" in page
    assert re.search(
        r"<th scope=\"row\">氏名</th><td>佐藤 健太</td><td class=\"requested\">田中 健太</td>", page
    )
    assert "婚姻により改姓" in page
    assert "登録簿の氏名と氏名（カナ）を届出の内容に変更します。" in page

    response = client.post(
        f"/ops/requests/{req.pk}/", {"decision": "approve", "comment": "確認済み"}
    )
    assert response.status_code == 302
    assert response["Location"] == QUEUE
    assert RegistryRecord.objects.get(pk=specialist.record.pk).name == "田中 健太"
    page = text(client.get(QUEUE))
    assert "田中 健太さんの登録事項変更届を承認しました" in page

    # Decided: no form, and a late POST is refused.
    page = text(client.get(f"/ops/requests/{req.pk}/"))
    assert 'name="decision"' not in page
    response = client.post(f"/ops/requests/{req.pk}/", {"decision": "reject", "comment": "x"})
    assert response.status_code == 400
    assert "すでに判断済み" in text(response)


def test_operator_reject_needs_a_comment(client_for, operator, specialist):
    req = submit_request(specialist.record, K.BADGE_LOAN, {}, actor=specialist)
    client = client_for(operator)
    response = client.post(f"/ops/requests/{req.pk}/", {"decision": "reject", "comment": ""})
    assert response.status_code == 400
    page = text(response)
    assert 'href="#id_comment"' in page
    assert "却下する場合は、理由をコメントに書いてください。" in page
    response = client.post(f"/ops/requests/{req.pk}/", {})
    assert response.status_code == 400
    assert "「承認する」か「却下する」を押してください。" in text(response)
    req.refresh_from_db()
    assert req.status == RequestStatus.SUBMITTED
    response = client.post(
        f"/ops/requests/{req.pk}/", {"decision": "reject", "comment": "在庫がありません。"}
    )
    assert response.status_code == 302
    req.refresh_from_db()
    assert (req.status, req.operator_comment) == (RequestStatus.REJECTED, "在庫がありません。")


def test_operator_detail_of_a_renewal_shows_the_courses(client_for, operator):
    user = courses_done_specialist()
    req = submit_request(user.record, K.RENEWAL, {}, actor=user)
    page = text(client_for(operator).get(f"/ops/requests/{req.pk}/"))
    assert "今期の講習" in page
    assert "2026年度の共通講習" in page
    assert "2030年3月31日" in page


def test_operator_files_a_death_notice(client_for, operator, specialist):
    client = client_for(operator)
    url = f"/ops/requests/death/{specialist.record.pk}/"
    page = text(client.get(url))
    assert "死亡日" in page and "届出人の氏名" in page
    response = client.post(url, {"date_of_death": "", "filer_name": "佐藤 花子"})
    assert response.status_code == 400
    assert 'href="#id_date_of_death"' in text(response)
    response = client.post(
        url,
        {"date_of_death": "2026-11-01", "filer_name": "佐藤 花子", "filer_relationship": "配偶者"},
    )
    req = RegistrantRequest.objects.get(kind=K.DEATH)
    assert response.status_code == 302
    assert response["Location"] == f"/ops/requests/{req.pk}/"
    assert req.submitted_by == operator
    # The open notice is linked instead of a second form.
    page = text(client.get(url))
    assert f"/ops/requests/{req.pk}/" in page
    response = client.post(f"/ops/requests/{req.pk}/", {"decision": "approve", "comment": ""})
    assert response.status_code == 302
    assert RegistryRecord.objects.get(pk=specialist.record.pk).status == RegistryStatus.DECEASED
