"""Registration intake (issue 16, part 4): /register/ and /ops/applications/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import IntegrityError

from sekispe.audit.models import AuditEvent
from sekispe.intake import services
from sekispe.intake.models import ApplicationStatus, RegistrationApplication
from sekispe.outbox.models import OutgoingMail
from sekispe.registry.models import RegistryRecord
from tests.factories import make_specialist_user, text
from tests.intake_support import make_application, valid_post

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


# ------------------------------------------------------------------ the form


# (field left out or given a bad value, the message the applicant reads)
MISSING = [
    ("name", "氏名を入力してください。"),
    ("name_kana", "氏名（カナ）を入力してください。"),
    ("birth_date", "生年月日を入力してください。"),
    ("home_prefecture", "お住まいの都道府県を選んでください。"),
    ("address", "住所を入力してください。"),
    ("email", "メールアドレスを入力してください。"),
    ("qualification", "登録の資格を選んでください。"),
    ("exam_year", "合格した試験の年度を選んでください。"),
    ("exam_season", "合格した試験の期を選んでください。"),
    ("examinee_number", "受験番号を入力してください。"),
    ("pledge", "誓約の内容を確認して、チェックを入れてください。"),
]
BAD = [
    ({"name_kana": "たかはし"}, "氏名（カナ）は全角カタカナで入力してください。"),
    ({"birth_date": "1990-13-45"}, "生年月日は 1990-04-01 の形で入力してください。"),
    ({"birth_date": "2999-01-01"}, "生年月日が正しくありません。"),
    ({"home_prefecture": "99"}, "お住まいの都道府県を一覧から選んでください。"),
    ({"email": "takahashi"}, "メールアドレスを name@example.jp の形で入力してください。"),
    ({"exam_year": "2015"}, "合格した試験の年度を一覧から選んでください。"),
    ({"exam_year": "2020", "exam_season": "spring"}, "令和2年度春期の試験は中止されました。"),
    ({"examinee_number": "SC 12"}, "受験番号は半角英数字とハイフン"),
    ({"employer_industry": "Z"}, "勤務先の業種を一覧から選んでください。"),
    ({"published_items": ["phone"]}, "公開する項目を一覧から選んでください。"),
    ({"name": "高橋\u200b誠"}, "見えない書式文字"),
    ({"qualification": "exemption"}, "試験免除の根拠を選んでください。"),
    ({"qualification": "exemption"}, "免除の根拠の詳細を入力してください。"),
]


def _summary(response) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', response.content.decode(), re.S)
    assert match, "no error summary"
    return re.sub(r"\s+", " ", match.group(0))


@pytest.mark.parametrize(("field", "message"), MISSING, ids=[f for f, _ in MISSING])
def test_a_missing_answer_is_named_in_the_summary_and_at_the_field(client, field, message):
    response = client.post("/register/", valid_post(**{field: None}))
    assert response.status_code == 400
    summary = _summary(response)
    assert message in summary
    title = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1)
    assert title.startswith("エラー：") and "エラー：エラー：" not in title
    # The summary links to the field (or its group).
    assert f'href="#id_{field}' in summary
    assert RegistrationApplication.objects.count() == 0


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_a_bad_value_is_named(client, overrides, message):
    response = client.post("/register/", valid_post(**overrides))
    assert response.status_code == 400
    assert message in _summary(response)


def test_required_fields_carry_the_required_tag(client):
    page = text(client.get("/register/"))
    assert "必須" in page and "任意" in page
    assert "プライバシーポリシー" in page


def test_check_your_answers_then_submit_gives_a_reference(client):
    response = client.post("/register/", valid_post())
    assert response.status_code == 200
    page = text(response)
    assert "入力内容の確認" in page and "高橋 誠" in page and "情報通信業" in page
    assert RegistrationApplication.objects.count() == 0  # nothing stored yet

    # "Back" returns the answers to the form as typed.
    back = text(client.post("/register/", {**valid_post(), "edit": "1"}))
    assert 'value="タカハシ マコト"' in back

    response = client.post("/register/", {**valid_post(), "submit": "1"})
    assert response.status_code == 302 and response["Location"] == "/register/done/"
    application = RegistrationApplication.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.home_prefecture_id == "13" and not application.overseas
    assert application.published_items == ["name", "home_prefecture"]
    assert application.pledged_at is not None
    done = text(client.get("/register/done/"))
    assert application.reference in done


def test_overseas_has_no_prefecture_and_exemption_drops_exam_answers(client):
    post = valid_post(
        home_prefecture="overseas",
        address="1 Example Street, Singapore",
        qualification="exemption",
        exemption_basis="approved_course",
        exemption_detail="認定講習 第12号 修了",
    )
    client.post("/register/", {**post, "submit": "1"})
    application = RegistrationApplication.objects.get()
    assert application.overseas and application.home_prefecture_id is None
    assert application.exemption_basis == "approved_course"
    assert application.exam_year is None and application.examinee_number == ""


def test_submissions_are_rate_limited_per_address(client, settings):
    settings.INTAKE_APPLICATIONS_PER_IP = (2, 3600)
    for n in range(2):
        post = {**valid_post(email=f"a{n}@example.jp"), "submit": "1"}
        assert client.post("/register/", post).status_code == 302
    response = client.post("/register/", {**valid_post(), "submit": "1"})
    assert response.status_code == 429
    assert "Retry-After" in response
    assert "タカハシ マコト" in response.content.decode()  # nothing typed is lost
    assert RegistrationApplication.objects.count() == 2


# ------------------------------------------------------------------ approval


def test_next_registration_date_is_the_next_april_or_october():
    nrd = services.next_registration_date
    assert nrd(dt.date(2026, 1, 15)) == dt.date(2026, 4, 1)
    assert nrd(dt.date(2026, 4, 1)) == dt.date(2026, 10, 1)
    assert nrd(dt.date(2026, 9, 30)) == dt.date(2026, 10, 1)
    assert nrd(dt.date(2026, 10, 1)) == dt.date(2027, 4, 1)
    assert nrd(dt.date(2026, 12, 31)) == dt.date(2027, 4, 1)


def test_approval_creates_the_record_audit_welcome_and_invitation(operator):
    make_specialist_user("100007")  # an imported record: numbers continue above it
    application = make_application(1, employer_industry_id="E")
    record = services.approve_application(application, actor=operator, today=TODAY)
    assert record.registration_number == "100008"
    assert record.registered_on == dt.date(2026, 10, 1)
    assert record.expires_on == dt.date(2029, 9, 30)
    assert record.exam_year == 2025 and record.exam_season == "autumn"
    assert record.employer_industry_id == "E" and record.exemption_basis == ""
    assert record.home_prefecture_id == "27" and not record.overseas
    assert record.birth_year == 1988 and record.published_items == ["name"]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED and application.record == record
    assert AuditEvent.objects.filter(action="intake.approve").count() == 1
    mails = OutgoingMail.objects.filter(to="applicant1@example.jp")
    assert sorted(mails.values_list("template", flat=True)) == ["intake_approved", "invitation"]
    assert "100008" in mails.get(template="intake_approved").body
    assert "/accounts/invitation/" in mails.get(template="invitation").body
    assert record.invitations.count() == 1
    # Decided once: a second approval is refused.
    with pytest.raises(services.IntakeError):
        services.approve_application(application, actor=operator, today=TODAY)


def test_an_overseas_applicant_becomes_an_overseas_record(operator):
    application = make_application(2, overseas=True, home_prefecture_id=None)
    record = services.approve_application(application, actor=operator, today=TODAY)
    assert record.overseas and record.home_prefecture_id is None


def test_approval_is_all_or_nothing(operator):
    """The mail writer refuses the address after the record, the number and the
    audit event were written: none of them stays."""
    application = make_application(3)
    # Written past the form (which would refuse it): an address the outbox refuses.
    RegistrationApplication.objects.filter(pk=application.pk).update(email="x@example.jp\nBcc: y")
    application.refresh_from_db()
    with pytest.raises(ValueError, match="single e-mail address"):
        services.approve_application(application, actor=operator, today=TODAY)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED and application.record is None
    assert RegistryRecord.objects.count() == 0
    assert RegistryRecord.history.count() == 0
    assert not AuditEvent.objects.filter(action="intake.approve").exists()
    assert OutgoingMail.objects.count() == 0
    # The number was not used up either.
    fixed = make_application(4)
    assert services.approve_application(fixed, actor=operator, today=TODAY).registration_number == (
        "000001"
    )


def test_numbers_continue_above_both_the_counter_and_the_registry(operator):
    from sekispe.intake.models import RegistrationNumberCounter

    RegistrationNumberCounter.objects.create(id=1, last_number=41)
    make_specialist_user("000030")  # below the counter: skipped
    first = services.approve_application(make_application(5), actor=operator, today=TODAY)
    assert first.registration_number == "000042"
    make_specialist_user("000050")  # an import above the counter: numbers continue after it
    second = services.approve_application(make_application(15), actor=operator, today=TODAY)
    assert second.registration_number == "000051"


def test_send_back_mails_the_message_once(operator, client_for):
    application = make_application(6)
    client = client_for(operator)
    response = client.post(
        f"/ops/applications/{application.pk}/",
        {"decision": "send_back", "message": "受験番号が合格者名簿と一致しません。"},
    )
    assert response.status_code == 302
    # A second click finds the application decided.
    again = client.post(
        f"/ops/applications/{application.pk}/",
        {"decision": "send_back", "message": "もう一度"},
    )
    assert again.status_code == 400
    mails = OutgoingMail.objects.filter(template="intake_sent_back")
    assert mails.count() == 1
    mail = mails.get()
    assert mail.to == "applicant6@example.jp"
    assert "受験番号が合格者名簿と一致しません。" in mail.body and "/register/" in mail.body
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SENT_BACK
    assert RegistryRecord.objects.count() == 0


def test_send_back_needs_a_message(operator, client_for):
    application = make_application(7)
    response = client_for(operator).post(
        f"/ops/applications/{application.pk}/", {"decision": "send_back", "message": " "}
    )
    assert response.status_code == 400
    assert "差し戻しの理由を入力してください。" in text(response)
    assert OutgoingMail.objects.count() == 0


def test_operator_lists_by_state_and_approves_from_the_page(operator, client_for):
    submitted = make_application(8)
    sent_back = make_application(9)
    services.send_back_application(sent_back, actor=operator, message="不備あり")
    client = client_for(operator)
    page = text(client.get("/ops/applications/"))
    assert submitted.reference in page and sent_back.reference not in page
    page = text(client.get("/ops/applications/?status=sent_back"))
    assert sent_back.reference in page and submitted.reference not in page
    assert submitted.reference in text(client.get("/ops/applications/?status=all"))
    detail = text(client.get(f"/ops/applications/{submitted.pk}/"))
    assert "申請 太郎8" in detail and "承認して登録する" in detail
    response = client.post(f"/ops/applications/{submitted.pk}/", {"decision": "approve"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.record is not None


def test_the_record_number_is_unique_in_the_database(operator):
    # The last line of defence under the counter: the registry's unique constraint.
    make_specialist_user("000009")
    with pytest.raises(IntegrityError):
        make_specialist_user("000009")


def test_demo_applications_are_added_once():
    from sekispe.devtools.demo.intake import create_demo_applications

    assert create_demo_applications() == {"submitted": 3, "sent_back": 1}
    assert create_demo_applications() == {}
    assert RegistrationApplication.objects.filter(overseas=True).count() == 1


def test_the_mailed_link_binds_an_account_to_the_new_record(operator):
    from sekispe.accounts.services import accept_invitation

    application = make_application(20, overseas=True, home_prefecture_id=None)
    record = services.approve_application(application, actor=operator, today=TODAY)
    body = OutgoingMail.objects.get(template="invitation", to="applicant20@example.jp").body
    token = re.search(r"/accounts/invitation/([^/\s]+)/", body).group(1)
    user = accept_invitation(token, "a-long-password-for-intake-16")
    assert user.record == record and user.email == "applicant20@example.jp"


def test_the_operator_is_warned_of_a_possible_double_registration(operator, client_for):
    existing = make_specialist_user("100020", name="申請 太郎21")
    RegistryRecord.objects.filter(pk=existing.record.pk).update(birth_year=1988)
    application = make_application(21)
    page = text(client_for(operator).get(f"/ops/applications/{application.pk}/"))
    assert "同じ人の登録簿レコードがあるかもしれません" in page and "100020" in page
    other = make_application(22, name="別人 花子")
    page = text(client_for(operator).get(f"/ops/applications/{other.pk}/"))
    assert "同じ人の登録簿レコードがあるかもしれません" not in page
