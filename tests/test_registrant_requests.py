"""The request workflow as services: submit, approve, reject, for every kind."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from sekispe.audit.models import AuditEvent
from sekispe.listings.models import Listing
from sekispe.listings.services import CourseInput
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registrant_requests.services import (
    RequestError,
    approve_request,
    describe_payload,
    reject_request,
    renewal_refusal,
    submit_request,
)
from sekispe.registry.models import CourseCompletion, RegistryRecord, RegistryStatus
from tests.factories import make_specialist_user
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

K = RequestKind


@pytest.fixture(autouse=True)
def _today():
    # 22 November 2026, fiscal year 2026; the factory's record expires 2027-03-31,
    # so its renewal application is due 2027-01-30.
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        yield


def fresh(record: RegistryRecord) -> RegistryRecord:
    return RegistryRecord.objects.get(pk=record.pk)


def events(action: str, req: RegistrantRequest | None = None) -> list[AuditEvent]:
    found = AuditEvent.objects.filter(action=action)
    if req is not None:
        found = found.filter(target_type="registrant_request", target_id=str(req.pk))
    return list(found)


def courses_done_specialist(number: str = "100010", **listing):
    """A specialist who has done every course of the period ending 2027-03-31."""
    courses = (
        CourseInput("common", dt.date(2024, 6, 1), "IPA"),
        CourseInput("common", dt.date(2025, 6, 1), "IPA"),
        CourseInput("common", dt.date(2026, 6, 1), "IPA"),
        CourseInput("practical", dt.date(2025, 9, 1), "IPA", "P-2025-09"),
    )
    return make_specialist_user(number, courses=courses, **listing)


# ------------------------------------------------------------ details change


def test_details_change_submit_then_approve_changes_the_name(specialist, operator):
    record = specialist.record
    req = submit_request(
        record,
        K.DETAILS_CHANGE,
        {"name": "田中 健太", "name_kana": "タナカ ケンタ", "reason": "婚姻により改姓"},
        actor=specialist,
    )
    assert req.status == RequestStatus.SUBMITTED
    assert req.fiscal_year == 2026
    assert req.submitted_by == specialist
    assert [e.data["kind"] for e in events("requests.submit", req)] == ["details_change"]
    assert fresh(record).name == "佐藤 健太"  # nothing changes before approval

    approve_request(req, actor=operator, comment="戸籍抄本を確認しました。")

    record = fresh(record)
    assert (record.name, record.name_kana) == ("田中 健太", "タナカ ケンタ")
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert req.decided_by == operator
    assert req.operator_comment == "戸籍抄本を確認しました。"
    history = record.history.first()
    assert "登録事項変更届" in history.history_change_reason
    assert "婚姻により改姓" in history.history_change_reason
    assert history.history_user == operator
    update = AuditEvent.objects.filter(action="registry.update").first()
    assert update.data["changes"]["name"] == ["佐藤 健太", "田中 健太"]
    assert events("requests.approve", req)[0].actor == operator


def test_decision_email_names_kind_decision_and_comment(
    specialist, operator, django_capture_on_commit_callbacks
):
    req = submit_request(
        specialist.record,
        K.DETAILS_CHANGE,
        {"name": "田中 健太", "name_kana": "タナカ ケンタ", "reason": "婚姻により改姓"},
        actor=specialist,
    )
    with django_capture_on_commit_callbacks(execute=True):
        approve_request(req, actor=operator, comment="戸籍抄本を確認しました。")
    assert len(delivered()) == 1
    message = delivered()[0]
    # No e-mail on the record, so the account's address.
    assert message.to == [specialist.email]
    assert "登録事項変更届" in message.subject
    assert "承認" in message.subject
    assert "戸籍抄本を確認しました。" in message.body
    assert "田中 健太 様" in message.body
    assert f"/me/registry/requests/{req.pk}/" in message.body


def test_reject_leaves_the_record_and_needs_a_comment(
    specialist, operator, django_capture_on_commit_callbacks
):
    record = specialist.record
    history_rows = record.history.count()
    req = submit_request(
        record,
        K.DETAILS_CHANGE,
        {"name": "田中 健太", "name_kana": "タナカ ケンタ", "reason": "改姓"},
        actor=specialist,
    )
    with pytest.raises(RequestError, match="理由"):
        reject_request(req, actor=operator, comment="  ")
    req.refresh_from_db()
    assert req.status == RequestStatus.SUBMITTED

    with django_capture_on_commit_callbacks(execute=True):
        reject_request(req, actor=operator, comment="証明書類を添付してください。")
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED
    assert req.operator_comment == "証明書類を添付してください。"
    assert fresh(record).name == "佐藤 健太"
    assert fresh(record).history.count() == history_rows
    assert events("requests.reject", req)[0].data["comment"] == "証明書類を添付してください。"
    assert "却下" in delivered()[0].subject
    assert "証明書類を添付してください。" in delivered()[0].body


def test_details_change_payload_is_validated(specialist):
    with pytest.raises(RequestError) as caught:
        submit_request(
            specialist.record,
            K.DETAILS_CHANGE,
            {"name": "田中 健太", "name_kana": "たなか"},
            actor=specialist,
        )
    assert set(caught.value.errors) == {"name_kana", "reason"}
    with pytest.raises(RequestError, match="同じ"):
        submit_request(
            specialist.record,
            K.DETAILS_CHANGE,
            {"name": "佐藤 健太", "name_kana": "サトウ ケンタ", "reason": "確認"},
            actor=specialist,
        )
    assert not RegistrantRequest.objects.exists()


def test_half_width_kana_is_normalised(specialist):
    req = submit_request(
        specialist.record,
        K.DETAILS_CHANGE,
        {"name": "田中　健太", "name_kana": "ﾀﾅｶ ｹﾝﾀ", "reason": "改姓"},
        actor=specialist,
    )
    assert req.payload["name"] == "田中 健太"
    assert req.payload["name_kana"] == "タナカ ケンタ"


# ------------------------------------------------------------ common rules


def test_a_second_open_request_of_the_same_kind_is_refused(specialist, operator):
    record = specialist.record
    first = submit_request(record, K.BADGE_LOAN, {}, actor=specialist)
    with pytest.raises(RequestError, match="審査中の徽章貸与申請があります"):
        submit_request(record, K.BADGE_LOAN, {"note": "もう一度"}, actor=specialist)
    # Another kind is fine, and once decided the same kind may be filed again.
    submit_request(
        record, K.LOGO_USE, {"intended_use": "名刺", "medium": "business_card"}, actor=specialist
    )
    reject_request(first, actor=operator, comment="在庫がありません。")
    again = submit_request(record, K.BADGE_LOAN, {}, actor=specialist)
    assert again.status == RequestStatus.SUBMITTED


@pytest.mark.parametrize("status", ["expired", "deregistered", "deceased"])
def test_a_record_that_is_not_active_cannot_file(specialist, status):
    RegistryRecord.objects.filter(pk=specialist.record.pk).update(status=status)
    with pytest.raises(RequestError, match="登録の状態"):
        submit_request(fresh(specialist.record), K.BADGE_LOAN, {}, actor=specialist)


def test_a_specialist_files_only_for_their_own_record(specialist, other_specialist):
    with pytest.raises(RequestError, match="ご本人"):
        submit_request(other_specialist.record, K.BADGE_LOAN, {}, actor=specialist)


def test_only_operators_decide(specialist, other_specialist):
    req = submit_request(specialist.record, K.BADGE_LOAN, {}, actor=specialist)
    with pytest.raises(RequestError, match="運営者"):
        approve_request(req, actor=specialist)
    with pytest.raises(RequestError, match="運営者"):
        reject_request(req, actor=other_specialist, comment="だめ")
    req.refresh_from_db()
    assert req.status == RequestStatus.SUBMITTED


def test_a_decided_request_cannot_be_decided_again(specialist, operator):
    req = submit_request(specialist.record, K.BADGE_LOAN, {}, actor=specialist)
    stale = RegistrantRequest.objects.get(pk=req.pk)
    approve_request(req, actor=operator)
    with pytest.raises(RequestError, match="すでに判断済み"):
        approve_request(stale, actor=operator)
    with pytest.raises(RequestError, match="すでに判断済み"):
        reject_request(stale, actor=operator, comment="遅れて却下")
    stale.refresh_from_db()
    assert stale.status == RequestStatus.APPROVED
    assert len(events("requests.approve", req)) == 1


def test_approval_is_refused_and_rolled_back_when_the_record_ended_meanwhile(specialist, operator):
    record = specialist.record
    req = submit_request(record, K.CONTACT_CHANGE, {"home_prefecture": "27"}, actor=specialist)
    RegistryRecord.objects.filter(pk=record.pk).update(status=RegistryStatus.DEREGISTERED)
    with pytest.raises(RequestError, match="登録の状態"):
        approve_request(req, actor=operator)
    req.refresh_from_db()
    assert req.status == RequestStatus.SUBMITTED
    assert req.decided_at is None
    assert fresh(record).home_prefecture_id == "13"
    assert not events("requests.approve", req)


# ------------------------------------------------------------ contact change


def test_contact_change_of_email_and_phone_applies_at_once(specialist):
    record = specialist.record
    req = submit_request(
        record,
        K.CONTACT_CHANGE,
        {"email": "new@example.jp", "phone": "03-1234-5678"},
        actor=specialist,
    )
    assert req.status == RequestStatus.APPROVED
    assert req.auto_applied is True
    assert req.decided_at is not None
    assert req.decided_by is None
    record = fresh(record)
    assert (record.email, record.phone) == ("new@example.jp", "03-1234-5678")
    assert "連絡先変更届" in record.history.first().history_change_reason
    assert events("requests.submit", req)[0].data["auto_applied"] is True
    # The one open slot is free again.
    assert not RegistrantRequest.objects.filter(status=RequestStatus.SUBMITTED).exists()


def test_contact_change_of_the_home_prefecture_waits_for_an_operator(specialist, operator):
    record = specialist.record
    req = submit_request(
        record,
        K.CONTACT_CHANGE,
        {"email": "new@example.jp", "home_prefecture": "27"},
        actor=specialist,
    )
    assert req.status == RequestStatus.SUBMITTED
    assert req.auto_applied is False
    assert fresh(record).email == ""
    approve_request(req, actor=operator)
    record = fresh(record)
    assert (record.email, record.home_prefecture_id) == ("new@example.jp", "27")


def test_contact_change_waits_when_immediate_changes_are_switched_off(specialist, settings):
    settings.REGISTRY_CONTACT_CHANGES_APPLY_IMMEDIATELY = False
    req = submit_request(
        specialist.record, K.CONTACT_CHANGE, {"email": "new@example.jp"}, actor=specialist
    )
    assert req.status == RequestStatus.SUBMITTED
    assert fresh(specialist.record).email == ""


def test_contact_change_keeps_only_what_changes_and_needs_a_change(specialist):
    record = specialist.record
    with pytest.raises(RequestError, match="変更された項目がありません"):
        submit_request(
            record,
            K.CONTACT_CHANGE,
            {"email": "", "phone": "", "home_prefecture": "13"},
            actor=specialist,
        )
    with pytest.raises(RequestError) as caught:
        submit_request(record, K.CONTACT_CHANGE, {"phone": "電話"}, actor=specialist)
    assert "phone" in caught.value.errors
    req = submit_request(
        record,
        K.CONTACT_CHANGE,
        {"email": "", "phone": "090-1111-2222", "home_prefecture": "13"},
        actor=specialist,
    )
    assert req.payload == {"phone": "090-1111-2222"}


# ------------------------------------------------------------ publication


def test_publication_sets_the_published_items_in_a_stable_order(specialist, operator):
    record = specialist.record
    req = submit_request(
        record, K.PUBLICATION, {"published_items": ["email", "name"]}, actor=specialist
    )
    assert req.payload == {"published_items": ["name", "email"]}
    assert describe_payload(req) == [("公開する項目", "氏名、メールアドレス")]
    approve_request(req, actor=operator)
    assert fresh(record).published_items == ["name", "email"]
    with pytest.raises(RequestError, match="現在と同じ"):
        submit_request(
            fresh(record), K.PUBLICATION, {"published_items": ["name", "email"]}, actor=specialist
        )
    with pytest.raises(RequestError):
        submit_request(
            fresh(record), K.PUBLICATION, {"published_items": ["profile"]}, actor=specialist
        )


# ------------------------------------------------------------ audit-only kinds


@pytest.mark.parametrize(
    ("kind", "payload", "described"),
    [
        (
            K.CARD_REISSUE,
            {"reason": "lost", "note": "引っ越しの際に紛失"},
            [("再発行の理由", "紛失"), ("補足", "引っ越しの際に紛失")],
        ),
        (K.BADGE_LOAN, {}, [("補足", "（空欄）")]),
        (
            K.LOGO_USE,
            {"intended_use": "事務所のウェブサイトに掲載", "medium": "website"},
            [("利用目的", "事務所のウェブサイトに掲載"), ("利用する媒体", "ウェブサイト")],
        ),
    ],
)
def test_audit_only_kinds_change_nothing_in_the_registry(
    specialist, operator, kind, payload, described
):
    record = specialist.record
    history_rows = record.history.count()
    req = submit_request(record, kind, payload, actor=specialist)
    assert describe_payload(req) == described
    approve_request(req, actor=operator, comment="承知しました。")
    assert fresh(record).history.count() == history_rows
    assert not AuditEvent.objects.filter(action="registry.update").exists()
    assert events("requests.approve", req)[0].data["kind"] == kind


@pytest.mark.parametrize(
    ("kind", "payload", "field"),
    [
        (K.CARD_REISSUE, {"reason": "other"}, "note"),
        (K.CARD_REISSUE, {"reason": "stolen"}, "reason"),
        (K.LOGO_USE, {"medium": "website"}, "intended_use"),
        (K.LOGO_USE, {"intended_use": "名刺", "medium": "tv"}, "medium"),
        (K.DEREGISTRATION, {}, "reason"),
    ],
)
def test_invalid_payloads_are_refused_with_field_errors(specialist, kind, payload, field):
    with pytest.raises(RequestError) as caught:
        submit_request(specialist.record, kind, payload, actor=specialist)
    assert field in caught.value.errors
    assert not RegistrantRequest.objects.exists()


# ------------------------------------------------------------ deregistration


def test_deregistration_ends_the_registration_and_hides_the_listing(specialist, operator):
    record = specialist.record
    assert Listing.objects.visible().filter(record=record).exists()
    req = submit_request(record, K.DEREGISTRATION, {"reason": "cost", "note": ""}, actor=specialist)
    assert describe_payload(req)[0] == ("消除の理由", "費用負担が重い")
    approve_request(req, actor=operator)
    record = fresh(record)
    assert record.status == RegistryStatus.DEREGISTERED
    assert record.ended_on == dt.date(2026, 11, 22)
    assert "消除届" in record.history.first().history_change_reason
    assert "費用負担が重い" in record.history.first().history_change_reason
    assert not Listing.objects.visible().filter(record=record).exists()
    # Nothing more can be filed for an ended registration.
    with pytest.raises(RequestError, match="登録抹消"):
        submit_request(record, K.BADGE_LOAN, {}, actor=specialist)


# ------------------------------------------------------------ death


def test_only_operators_file_a_death_notice(
    specialist, operator, django_capture_on_commit_callbacks
):
    payload = {
        "date_of_death": "2026-11-01",
        "filer_name": "佐藤 花子",
        "filer_relationship": "配偶者",
    }
    with pytest.raises(RequestError, match="事務局が提出"):
        submit_request(specialist.record, K.DEATH, payload, actor=specialist)
    req = submit_request(specialist.record, K.DEATH, payload, actor=operator)
    assert req.submitted_by == operator
    assert describe_payload(req) == [
        ("死亡日", "2026年11月1日"),
        ("届出人の氏名", "佐藤 花子"),
        ("届出人と登録者の関係", "配偶者"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        approve_request(req, actor=operator)
    record = fresh(specialist.record)
    assert record.status == RegistryStatus.DECEASED
    assert record.ended_on == dt.date(2026, 11, 1)
    assert not Listing.objects.visible().filter(record=record).exists()
    # The deceased's mailbox is not written to.
    assert delivered() == []
    with pytest.raises(RequestError, match="すでに死亡"):
        submit_request(record, K.DEATH, payload, actor=operator)


def test_a_death_notice_may_follow_an_expired_registration(specialist, operator):
    RegistryRecord.objects.filter(pk=specialist.record.pk).update(status=RegistryStatus.EXPIRED)
    payload = {
        "date_of_death": "2026-10-01",
        "filer_name": "佐藤 一郎",
        "filer_relationship": "長男",
    }
    req = submit_request(fresh(specialist.record), K.DEATH, payload, actor=operator)
    approve_request(req, actor=operator)
    assert fresh(specialist.record).status == RegistryStatus.DECEASED


def test_a_death_date_in_the_future_is_refused(specialist, operator):
    payload = {
        "date_of_death": "2026-12-01",
        "filer_name": "佐藤 花子",
        "filer_relationship": "配偶者",
    }
    with pytest.raises(RequestError) as caught:
        submit_request(specialist.record, K.DEATH, payload, actor=operator)
    assert "date_of_death" in caught.value.errors


# ------------------------------------------------------------ renewal


def test_renewal_is_refused_while_courses_are_missing(specialist):
    # The factory's specialist has the 2024 and 2025 common courses only.
    reason = renewal_refusal(specialist.record)
    assert "2026年度の共通講習" in reason
    assert "実践講習または特定講習" in reason
    assert "2027年1月30日" in reason
    with pytest.raises(RequestError, match="未受講の講習があるため"):
        submit_request(specialist.record, K.RENEWAL, {}, actor=specialist)


def test_renewal_with_every_course_done_is_approved_to_a_new_period(
    operator, django_capture_on_commit_callbacks
):
    user = courses_done_specialist()
    record = user.record
    assert renewal_refusal(record) is None
    req = submit_request(record, K.RENEWAL, {}, actor=user)
    assert req.payload == {"expires_on": "2027-03-31"}
    assert describe_payload(req) == [
        ("申請時の有効期限", "2027年3月31日"),
        ("更新後の有効期限", "2030年3月31日"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        approve_request(req, actor=operator)
    record = fresh(record)
    assert record.expires_on == dt.date(2030, 3, 31)
    assert record.renewal_count == 1
    assert record.card_colour == "blue"
    assert "更新申請" in record.history.first().history_change_reason
    assert "2030年3月31日" in delivered()[0].body


def test_the_card_turns_gold_at_the_second_renewal(operator):
    user = courses_done_specialist(renewal_count=1)
    assert user.record.card_colour == "blue"
    req = submit_request(user.record, K.RENEWAL, {}, actor=user)
    approve_request(req, actor=operator)
    record = fresh(user.record)
    assert record.renewal_count == 2
    assert record.card_colour == "gold"
    assert record.get_card_colour_display() == "ゴールド"


def test_renewal_after_the_application_deadline_is_refused():
    user = courses_done_specialist()
    with (
        time_machine.travel(dt.datetime(2027, 1, 31, 3, tzinfo=dt.UTC), tick=False),
        pytest.raises(RequestError, match="期限（2027年1月30日）を過ぎている"),
    ):
        submit_request(user.record, K.RENEWAL, {}, actor=user)
    with time_machine.travel(dt.datetime(2027, 1, 30, 3, tzinfo=dt.UTC), tick=False):
        req = submit_request(user.record, K.RENEWAL, {}, actor=user)
    assert req.fiscal_year == 2026


def test_renewal_is_refused_when_the_expiry_moved_after_applying(operator):
    user = courses_done_specialist()
    req = submit_request(user.record, K.RENEWAL, {}, actor=user)
    RegistryRecord.objects.filter(pk=user.record.pk).update(expires_on=dt.date(2030, 3, 31))
    with pytest.raises(RequestError, match="有効期限が変わっています"):
        approve_request(req, actor=operator)
    req.refresh_from_db()
    assert req.status == RequestStatus.SUBMITTED


def test_renewal_clears_a_disaster_extension(operator):
    from sekispe.registry.models import DisasterMeasure

    user = courses_done_specialist()
    measure = DisasterMeasure.objects.create(
        title="令和8年豪雨",
        deadline_from=dt.date(2027, 1, 1),
        deadline_to=dt.date(2027, 1, 31),
        new_deadline=dt.date(2027, 3, 1),
    )
    RegistryRecord.objects.filter(pk=user.record.pk).update(extension_measure=measure)
    req = submit_request(fresh(user.record), K.RENEWAL, {}, actor=user)
    approve_request(req, actor=operator)
    record = fresh(user.record)
    assert record.extension_measure_id is None
    assert record.expires_on == dt.date(2030, 3, 31)


def test_course_completions_outside_the_period_do_not_count():
    user = courses_done_specialist()
    CourseCompletion.objects.filter(record=user.record, kind="practical").update(
        completed_on=dt.date(2023, 9, 1)
    )
    assert "実践講習" in renewal_refusal(fresh(user.record))
