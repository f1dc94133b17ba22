"""Deemed attendance, end to end through the services (no HTTP): applying,
certifying, deciding, and the credit in the renewal rules."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from sekispe.audit.models import AuditEvent
from sekispe.deemed import services
from sekispe.deemed.examples import EXAMPLES
from sekispe.deemed.models import CertificationRequest, DeemedApplication, DeemedStatus
from sekispe.deemed.services import Certifier, DeemedRefused, WorkDeclaration
from sekispe.registry import rules
from sekispe.registry.models import CourseKind, RegistryRecord
from sekispe.registry.services import renewal_status_of
from tests.factories import make_specialist_user, make_user
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

DESCRIPTION = (
    "製造業の本社（従業員約三百名）で、情報システム部の担当者として、全社の情報資産の洗い出しと"
    "リスクアセスメントを主導した。まず部門ごとの業務フローを聞き取り、取り扱う図面データ、顧客名簿、"
    "生産管理システムの稼働データを資産台帳に整理した。機密性・完全性・可用性の観点で三段階の評価基準を"
    "定め、経営層と合意したうえで、脅威と脆弱性の組合せごとに発生可能性と影響度を見積もった。"
    "特に、設計部門が外部の協力会社とUSBメモリで図面を受け渡している点と、工場の制御端末が"
    "古いOSのまま社内ネットワークにつながっている点を高リスクと判定し、優先順位を付けて報告した。"
    "報告会では、残留リスクの受容について取締役会の判断を仰ぎ、協力会社とのファイル共有をクラウドの"
    "共有サービスに切り替える案と、制御端末のネットワーク分離案が承認された。その後三か月かけて"
    "切替えの進捗を確認し、翌年度の再評価の手順書を作成して、後任の担当者二名に評価の進め方を"
    "指導した。評価表の様式と判定の根拠は、社内の監査部門が翌年も使えるように文書化した。"
)


def declaration(**overrides) -> WorkDeclaration:
    today = timezone.localdate()
    base = {
        "syllabus_item": "1-2",
        "organisation": "株式会社北陸精機",
        "relation": "employer",
        "role": "情報システム部 課長代理",
        "started_on": today - dt.timedelta(days=120),
        "ended_on": today - dt.timedelta(days=10),
        "hours": 80,
        "work_summary": "全社の情報資産の洗い出しとリスクアセスメント",
        "description": DESCRIPTION,
    }
    return WorkDeclaration(**{**base, **overrides})


CERTIFIER = Certifier(
    name="北陸 太郎", title="取締役 管理本部長", organisation="株式会社北陸精機",
    email="taro@hokuriku-seiki.example.jp",
)  # fmt: skip


@pytest.fixture
def applicant(db):
    """A specialist whose period ends in 200 days: the deadline is 140 days away."""
    user = make_specialist_user("200001", name="高橋 由美")
    expires = timezone.localdate() + dt.timedelta(days=200)
    RegistryRecord.objects.filter(pk=user.record_id).update(expires_on=expires)
    user.record.refresh_from_db()
    return user


def certify_link(to: str) -> str:
    [message] = [m for m in delivered() if to in m.to]
    return re.search(r"/certify/([A-Za-z0-9_-]+)/", message.body).group(1)


def practical(record: RegistryRecord) -> rules.CourseRequirement:
    status = renewal_status_of(record)
    return next(r for r in status.requirements if r.kind == rules.PRACTICAL)


def test_apply_certify_approve_meets_the_practical_requirement(applicant):
    operator = make_user("operator")
    assert not practical(applicant.record).done
    application = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    assert application.status == DeemedStatus.AWAITING_CERTIFICATION
    assert application.oath_text == services.OATH_TEXT
    token = certify_link(CERTIFIER.email)
    # Only the hash of the token is stored.
    assert not CertificationRequest.objects.filter(token_hash=token).exists()

    services.certify(token, name="北陸 太郎", title="取締役", address_hash="a" * 64)
    application.refresh_from_db()
    assert application.status == DeemedStatus.SUBMITTED
    request = application.certifications.get()
    assert request.used_at is not None
    assert request.address_hash == "a" * 64
    assert request.outcome == CertificationRequest.Outcome.CONFIRMED

    services.approve(application, operator, "業務内容と証明を確認")
    application.refresh_from_db()
    assert application.status == DeemedStatus.APPROVED
    assert application.credit.kind == CourseKind.DEEMED
    requirement = practical(applicant.record)
    assert requirement.done
    assert requirement.deemed
    actions = set(
        AuditEvent.objects.filter(target_id=str(application.pk)).values_list("action", flat=True)
    )
    assert {"deemed.certified", "deemed.approved"} <= actions
    assert [e.action for e in application.events.all()] == ["applied", "certified", "approved"]


def test_the_common_course_stays_required_after_approval(applicant):
    application = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    services.certify(certify_link(CERTIFIER.email), name="北陸", title="部長", address_hash="")
    services.approve(application, make_user("operator"))
    status = renewal_status_of(applicant.record)
    assert any(r.kind == rules.COMMON and r.outstanding for r in status.requirements)
    assert not status.can_apply


def test_a_certification_link_is_single_use(applicant):
    services.apply(applicant, declaration(), CERTIFIER, oath=True)
    token = certify_link(CERTIFIER.email)
    services.certify(token, name="北陸 太郎", title="取締役", address_hash="")
    assert services.certification_of(token)[0] == "used"
    with pytest.raises(DeemedRefused):
        services.certify(token, name="北陸 太郎", title="取締役", address_hash="")
    with pytest.raises(DeemedRefused):
        services.decline_certification(token, reason="やはり違う", address_hash="")


def test_a_certification_link_expires_after_30_days(applicant):
    services.apply(applicant, declaration(), CERTIFIER, oath=True)
    token = certify_link(CERTIFIER.email)
    with time_machine.travel(timezone.now() + dt.timedelta(days=29, hours=23)):
        assert services.certification_of(token)[0] == "valid"
    with time_machine.travel(timezone.now() + dt.timedelta(days=30, minutes=1)):
        assert services.certification_of(token)[0] == "expired"
        with pytest.raises(DeemedRefused):
            services.certify(token, name="北陸", title="部長", address_hash="")
    assert services.certification_of("not-a-token")[0] == "unknown"


def test_resending_the_link_retires_the_old_one(applicant):
    application = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    first = certify_link(CERTIFIER.email)
    services.resend_certification(applicant, application)
    assert services.certification_of(first)[0] == "expired"
    links = re.findall(r"/certify/([A-Za-z0-9_-]+)/", delivered()[-1].body)
    assert services.certification_of(links[0])[0] == "valid"


def test_a_declined_certification_tells_the_applicant_why(applicant):
    application = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    services.decline_certification(
        certify_link(CERTIFIER.email), reason="担当期間が異なります。", address_hash=""
    )
    application.refresh_from_db()
    assert application.status == DeemedStatus.CERTIFICATION_DECLINED
    mail = [m for m in delivered() if applicant.email in m.to][-1]
    assert "担当期間が異なります。" in mail.body
    # Declined does not hold the period: a corrected application may follow.
    assert services.refusal_to_apply(applicant.record, timezone.localdate()) is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"description": "短い説明です。" * 10}, "description"),
        # "tomorrow" is resolved when the test runs, not when pytest collects it,
        # so a run that crosses midnight still asks for a day in the future.
        ({"ended_on": "tomorrow"}, "ended_on"),
        ({"started_on": dt.date(2000, 4, 1)}, "started_on"),
        ({"hours": 0}, "hours"),
        ({"syllabus_item": "9-9"}, "syllabus_item"),
    ],
)
def test_refusals_name_the_field(applicant, overrides, field):
    if overrides.get("ended_on") == "tomorrow":
        overrides = {**overrides, "ended_on": timezone.localdate() + dt.timedelta(days=1)}
    with pytest.raises(DeemedRefused) as refusal:
        services.apply(applicant, declaration(**overrides), CERTIFIER, oath=True)
    assert refusal.value.field == field
    assert not DeemedApplication.objects.exists()


def test_the_oath_is_required(applicant):
    with pytest.raises(DeemedRefused) as refusal:
        services.apply(applicant, declaration(), CERTIFIER, oath=False)
    assert refusal.value.field == "oath"


def test_a_copied_example_is_refused_with_the_reason(applicant):
    example = EXAMPLES[0]
    copy = "弊社では次のとおり実施した。" + example.text.replace("。", "．")
    with pytest.raises(DeemedRefused) as refusal:
        services.apply(
            applicant, declaration(description=copy, syllabus_item=example.syllabus), CERTIFIER,
            oath=True,
        )  # fmt: skip
    assert example.title in refusal.value.message
    assert "記載例" in refusal.value.message


def test_a_description_like_another_applicants_is_accepted_and_flagged(applicant):
    first = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    other = make_specialist_user("200002", name="中村 翔")
    RegistryRecord.objects.filter(pk=other.record_id).update(
        expires_on=timezone.localdate() + dt.timedelta(days=300)
    )
    other.record.refresh_from_db()
    similar = DESCRIPTION.replace("製造業の本社", "食品製造業の本社").replace("三百名", "二百名")
    second = services.apply(other, declaration(description=similar), CERTIFIER, oath=True)
    second.refresh_from_db()
    assert second.status == DeemedStatus.AWAITING_CERTIFICATION
    assert second.similar_to_id == first.pk
    assert second.similarity >= 0.9


def test_one_application_per_period(applicant):
    services.apply(applicant, declaration(), CERTIFIER, oath=True)
    with pytest.raises(DeemedRefused) as refusal:
        services.apply(applicant, declaration(), CERTIFIER, oath=True)
    assert "1期間に1件" in refusal.value.message
    assert DeemedApplication.objects.count() == 1


def test_no_application_after_the_renewal_application_deadline(applicant):
    record = applicant.record
    deadline = rules.application_deadline(record.expires_on)
    assert services.refusal_to_apply(record, deadline) is None
    refusal = services.refusal_to_apply(record, deadline + dt.timedelta(days=1))
    assert "更新申請期限" in refusal


def test_the_operator_asks_once_and_the_applicant_answers_once(applicant):
    operator = make_user("operator")
    application = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    services.certify(certify_link(CERTIFIER.email), name="北陸", title="部長", address_hash="")
    services.request_information(application, operator, "報告会の日付を教えてください。")
    application.refresh_from_db()
    assert application.status == DeemedStatus.INFO_REQUESTED
    services.answer_information(applicant, application, "2026年9月12日です。")
    with pytest.raises(DeemedRefused):
        services.answer_information(applicant, application, "二度目の回答")
    application.refresh_from_db()
    assert application.status == DeemedStatus.SUBMITTED
    assert application.info_response == "2026年9月12日です。"


def test_two_operators_deciding_at_once_make_one_decision(applicant):
    application = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    services.certify(certify_link(CERTIFIER.email), name="北陸", title="部長", address_hash="")
    first, second = make_user("operator"), make_user("operator")
    services.approve(application, first)
    with pytest.raises(DeemedRefused):
        services.reject(application, second, "重複")
    application.refresh_from_db()
    assert application.status == DeemedStatus.APPROVED
    assert application.decided_by == first


def test_withdrawing_retires_the_certification_link(applicant):
    application = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    token = certify_link(CERTIFIER.email)
    services.withdraw(applicant, application)
    assert services.certification_of(token)[0] == "expired"
    assert services.refusal_to_apply(applicant.record, timezone.localdate()) is None


def test_another_specialist_cannot_reach_an_application(applicant):
    application = services.apply(applicant, declaration(), CERTIFIER, oath=True)
    other = make_specialist_user("200003")
    with pytest.raises(DeemedApplication.DoesNotExist):
        services.application_for(other, application.pk)


def confirmed_engagement(specialist):
    from sekispe.inquiries.models import InquiryState
    from tests.inquiry_support import create_inquiry

    sme = make_user("sme", organization="株式会社サンプル製作所")
    inquiry = create_inquiry(sme, specialist, InquiryState.CONFIRMED)
    return inquiry.confirmation


def test_a_confirmed_engagement_becomes_an_application_in_one_step(applicant):
    confirmation = confirmed_engagement(applicant)
    assert list(services.confirmations_for(applicant)) == [confirmation]
    codes = [i.code for i in services.candidate_items(confirmation)]
    assert "1-1" in codes  # theme 1 (規程整備) maps to 1-1, 1-4, …
    prefilled = services.work_from_confirmation(confirmation)
    assert prefilled["organisation"] == confirmation.company_name
    assert prefilled["relation"] == "client"
    mails_before = len(delivered())
    application = services.apply_from_confirmation(
        applicant,
        confirmation,
        declaration(
            syllabus_item="1-1",
            organisation=prefilled["organisation"],
            relation=prefilled["relation"],
            started_on=prefilled["started_on"],
            ended_on=prefilled["ended_on"],
        ),
        oath=True,
    )
    # The company's confirmation is the certification: nobody is asked again.
    assert application.status == DeemedStatus.SUBMITTED
    assert application.confirmation == confirmation
    assert not application.certifications.exists()
    assert len(delivered()) == mails_before
    # The engagement is used once.
    assert list(services.confirmations_for(applicant)) == []


def test_the_sub_item_must_match_the_engagements_theme(applicant):
    confirmation = confirmed_engagement(applicant)
    with pytest.raises(DeemedRefused) as refusal:
        services.apply_from_confirmation(
            applicant, confirmation, declaration(syllabus_item="2-5"), oath=True
        )
    assert refusal.value.field == "syllabus_item"


def test_another_specialists_engagement_cannot_be_used(applicant):
    confirmation = confirmed_engagement(applicant)
    other = make_specialist_user("200004")
    with pytest.raises(type(confirmation).DoesNotExist):
        services.confirmation_for(other, confirmation.pk)
