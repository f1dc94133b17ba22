"""The registry side of deemed attendance (みなし受講) and of revocation (登録取消).

`grant_deemed_credit` / `withdraw_deemed_credit` write and delete the credit, a
`CourseCompletion` of kind `deemed`; every reader of completions (renewal
status, may-apply, /me/registry/, the Active List's course badge) counts it.
`revoke_registration` is the only way to the `revoked` status.

April cohort throughout: period 2024-04-01 .. 2027-03-31, application deadline
2027-01-30; every common course done, so only the practical course decides.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from sekispe.audit.models import AuditEvent
from sekispe.core.changes import latest_change
from sekispe.listings.models import Listing
from sekispe.listings.services import CourseInput
from sekispe.registrant_requests.models import RequestKind
from sekispe.registrant_requests.services import RequestError, renewal_refusal, submit_request
from sekispe.registry import public, rules
from sekispe.registry.models import CourseCompletion, RegistryRecord, RegistryStatus
from sekispe.registry.services import (
    RegistryError,
    course_status,
    grant_deemed_credit,
    renewal_status_of,
    revoke_registration,
    withdraw_deemed_credit,
)
from sekispe.search.services import SearchQuery, get_specialist, search
from tests.factories import create_specialists, make_input, make_specialist_user, text

pytestmark = pytest.mark.django_db

COMMONS = (
    CourseInput("common", dt.date(2024, 6, 1), "IPA"),
    CourseInput("common", dt.date(2025, 6, 1), "IPA"),
    CourseInput("common", dt.date(2026, 6, 1), "IPA"),
)
BEFORE_DEADLINE = dt.date(2027, 1, 15)
AFTER_DEADLINE = dt.date(2027, 2, 15)  # and before the expiry: still listed


def frozen(day: dt.date):
    """`day` in Tokyo (noon, so the UTC date is the same)."""
    return time_machine.travel(
        dt.datetime(day.year, day.month, day.day, 3, tzinfo=dt.UTC), tick=False
    )


@pytest.fixture(autouse=True)
def _today():
    with frozen(BEFORE_DEADLINE):
        yield


def registrant(number: str, **overrides) -> RegistryRecord:
    create_specialists(make_input(registration_number=number, courses=COMMONS, **overrides))
    return RegistryRecord.objects.get(registration_number=number)


def generation() -> int:
    return latest_change()


def practical(record: RegistryRecord, today: dt.date = BEFORE_DEADLINE) -> rules.CourseRequirement:
    status = renewal_status_of(record, today)
    return next(r for r in status.requirements if r.kind == rules.PRACTICAL)


# ------------------------------------------------------------------ the credit


def test_granting_writes_a_deemed_completion_with_history_audit_and_index_bump(operator):
    record = registrant("400001")
    before = generation()

    credit = grant_deemed_credit(
        record, approved_on=dt.date(2027, 1, 10), reference="DEEMED-123", actor=operator
    )

    stored = CourseCompletion.objects.get(pk=credit.pk)
    assert (stored.kind, stored.fiscal_year, stored.provider, stored.course_code) == (
        "deemed",
        2026,
        "みなし受講",
        "DEEMED-123",
    )
    assert stored.completed_on == dt.date(2027, 1, 10)
    [history] = CourseCompletion.history.filter(id=credit.pk)
    assert history.history_type == "+"
    assert history.history_change_reason == "みなし受講の承認（DEEMED-123）"
    assert history.history_user == operator
    event = AuditEvent.objects.get(action="registry.deemed_credit")
    assert (event.actor, event.target_type, event.target_id) == (
        operator,
        "registry_record",
        "400001",
    )
    assert event.data == {
        "reference": "DEEMED-123",
        "approved_on": "2027-01-10",
        "fiscal_year": 2026,
        "completion": credit.pk,
    }
    assert generation() != before


def test_the_fiscal_year_follows_the_approval_day():
    record = registrant("400002")
    credit = grant_deemed_credit(
        record, approved_on=dt.date(2026, 4, 1), reference="DEEMED-2", actor=None
    )
    assert credit.fiscal_year == 2026
    credit = grant_deemed_credit(
        record, approved_on=dt.date(2026, 3, 31), reference="DEEMED-3", actor=None
    )
    assert credit.fiscal_year == 2025


def test_a_granted_credit_meets_the_practical_requirement_and_may_apply(operator):
    record = registrant("400003")
    assert not renewal_status_of(record, BEFORE_DEADLINE).can_apply
    assert "実践講習または特定講習" in renewal_refusal(record)

    grant_deemed_credit(record, approved_on=dt.date(2027, 1, 10), reference="DEEMED-4", actor=None)

    requirement = practical(record)
    assert requirement.done and requirement.deemed
    assert requirement.deemed_on == dt.date(2027, 1, 10)
    assert renewal_status_of(record, BEFORE_DEADLINE).can_apply
    assert renewal_refusal(record) is None
    req = submit_request(record, RequestKind.RENEWAL, {}, actor=operator)
    assert req.kind == RequestKind.RENEWAL


def test_withdrawing_the_credit_leaves_the_practical_requirement_unmet(operator):
    """Revoked (a false claim): the row is gone, so nothing counts it any more."""
    record = registrant("400004")
    credit = grant_deemed_credit(
        record, approved_on=dt.date(2027, 1, 10), reference="DEEMED-5", actor=operator
    )
    assert practical(record).done
    before = generation()

    withdraw_deemed_credit(credit, actor=operator, reason="サンプル調査で虚偽と判明")

    assert not CourseCompletion.objects.filter(pk=credit.pk).exists()
    requirement = practical(record)
    assert not requirement.done and not requirement.deemed
    assert not renewal_status_of(record, BEFORE_DEADLINE).can_apply
    assert "実践講習または特定講習" in renewal_refusal(record)
    removed = CourseCompletion.history.filter(id=credit.pk).order_by("history_id").last()
    assert removed.history_type == "-"
    assert removed.history_change_reason == "サンプル調査で虚偽と判明"
    assert removed.history_user == operator
    event = AuditEvent.objects.get(action="registry.deemed_credit_withdrawn")
    assert (event.actor, event.target_id) == (operator, "400004")
    assert event.data == {
        "reference": "DEEMED-5",
        "approved_on": "2027-01-10",
        "fiscal_year": 2026,
        "completion": credit.pk,
        "reason": "サンプル調査で虚偽と判明",
    }
    assert generation() != before


@pytest.mark.parametrize(
    ("reference", "message"),
    [("", "参照番号がありません"), ("  ", "参照番号がありません"), ("D" * 33, "長すぎます")],
)
def test_a_credit_needs_a_reference(reference, message):
    record = registrant("400005")
    with pytest.raises(RegistryError, match=message):
        grant_deemed_credit(record, approved_on=BEFORE_DEADLINE, reference=reference, actor=None)
    assert not CourseCompletion.objects.filter(kind="deemed").exists()


def test_the_same_reference_is_credited_once():
    record = registrant("400006")
    grant_deemed_credit(record, approved_on=BEFORE_DEADLINE, reference="DEEMED-6", actor=None)
    with pytest.raises(RegistryError, match="「DEEMED-6」はすでに登録されています"):
        grant_deemed_credit(record, approved_on=BEFORE_DEADLINE, reference="DEEMED-6", actor=None)
    assert CourseCompletion.objects.filter(kind="deemed").count() == 1


@pytest.mark.parametrize("status", ["expired", "deregistered", "deceased", "revoked"])
def test_no_credit_for_a_registration_that_is_not_active(status):
    record = registrant("400007", status=status)
    with pytest.raises(RegistryError, match="みなし受講を登録できません"):
        grant_deemed_credit(record, approved_on=BEFORE_DEADLINE, reference="DEEMED-7", actor=None)
    assert not CourseCompletion.objects.filter(kind="deemed").exists()


def test_withdrawing_refuses_a_course_a_blank_reason_and_a_second_withdrawal():
    record = registrant("400008")
    course = record.courses.first()
    with pytest.raises(RegistryError, match="みなし受講ではない"):
        withdraw_deemed_credit(course, actor=None, reason="誤り")
    assert CourseCompletion.objects.filter(pk=course.pk).exists()
    credit = grant_deemed_credit(
        record, approved_on=BEFORE_DEADLINE, reference="DEEMED-8", actor=None
    )
    with pytest.raises(RegistryError, match="理由を入力"):
        withdraw_deemed_credit(credit, actor=None, reason=" ")
    withdraw_deemed_credit(credit, actor=None, reason="虚偽")
    with pytest.raises(RegistryError, match="すでに取り消されています"):
        withdraw_deemed_credit(credit, actor=None, reason="虚偽")
    assert AuditEvent.objects.filter(action="registry.deemed_credit_withdrawn").count() == 1


def test_grant_and_withdraw_are_each_one_transaction(monkeypatch):
    """An audit failure leaves neither the row nor its history behind."""
    from sekispe.registry import services

    record = registrant("400009")

    def broken(*args, **kwargs):
        raise RuntimeError("audit down")

    with monkeypatch.context() as patch:
        patch.setattr(services, "record_event", broken)
        with pytest.raises(RuntimeError):
            grant_deemed_credit(
                record, approved_on=BEFORE_DEADLINE, reference="DEEMED-9", actor=None
            )
    assert not CourseCompletion.objects.filter(kind="deemed").exists()
    assert not CourseCompletion.history.filter(kind="deemed").exists()

    credit = grant_deemed_credit(
        record, approved_on=BEFORE_DEADLINE, reference="DEEMED-9", actor=None
    )
    with monkeypatch.context() as patch:
        patch.setattr(services, "record_event", broken)
        with pytest.raises(RuntimeError):
            withdraw_deemed_credit(credit, actor=None, reason="虚偽")
    assert CourseCompletion.objects.filter(pk=credit.pk).exists()
    assert not CourseCompletion.history.filter(id=credit.pk, history_type="-").exists()


def test_a_credit_approved_after_the_deadline_does_not_count():
    record = registrant("400010")
    with frozen(AFTER_DEADLINE):
        grant_deemed_credit(
            record, approved_on=dt.date(2027, 1, 31), reference="DEEMED-10", actor=None
        )
        assert not practical(record, AFTER_DEADLINE).done
        assert not renewal_status_of(record, AFTER_DEADLINE).requirements_met


# ---------------------------------------------------------- where it is shown


def test_the_course_status_counts_deemed_attendance_as_the_practical_course():
    record = registrant("400011")
    grant_deemed_credit(record, approved_on=dt.date(2027, 1, 10), reference="DEEMED-11", actor=None)
    completions = record.courses.values_list("kind", "fiscal_year", "completed_on")
    after = course_status(record.expires_on, completions, AFTER_DEADLINE)
    assert after.up_to_date and after.practical_done


def test_the_active_list_course_badge_counts_deemed_attendance():
    """After the deadline (the practical course is overdue) and before the expiry
    (still listed): only the registrant whose deemed credit counts is up to date."""
    credited = registrant("400012", name="高橋 みなし")
    grant_deemed_credit(
        credited, approved_on=dt.date(2027, 1, 10), reference="DEEMED-12", actor=None
    )
    late = registrant("400013", name="田中 期限後")
    lacking = registrant("400014", name="伊藤 未受講")
    with frozen(AFTER_DEADLINE):
        grant_deemed_credit(
            late, approved_on=dt.date(2027, 1, 31), reference="DEEMED-13", actor=None
        )
        found = search(SearchQuery(include_not_accepting=True), today=AFTER_DEADLINE)
        badge = {
            r["registration_number"]: r["verified"]["courses_up_to_date"] for r in found.results
        }
        assert badge == {"400012": True, "400013": False, "400014": False}
        assert get_specialist("400012", today=AFTER_DEADLINE)["verified"]["courses_up_to_date"]
        assert lacking.pk  # listed, without any practical credit


def test_the_active_list_page_shows_the_badge(client):
    credited = registrant("400015", name="高橋 みなし")
    grant_deemed_credit(
        credited, approved_on=dt.date(2027, 1, 10), reference="DEEMED-15", actor=None
    )
    with frozen(AFTER_DEADLINE):
        body = text(client.get("/specialists/", {"q": "高橋"}))
    assert "講習受講：最新" in body
    assert "講習受講：未完了あり" not in body


def test_the_specialist_page_says_the_practical_course_is_met_by_deemed_attendance(client_for):
    user = make_specialist_user("400016", courses=COMMONS)
    page = text(client_for(user).get("/me/registry/"))
    assert "みなし受講により充足" not in page
    grant_deemed_credit(
        user.record, approved_on=dt.date(2027, 1, 10), reference="DEEMED-16", actor=None
    )
    page = text(client_for(user).get("/me/registry/"))
    assert "みなし受講により充足（2027年1月10日承認）" in page
    assert "今期の講習は最新です。更新に必要な講習をすべて受講済み（または免除）です。" in page


def test_the_operators_renewal_list_counts_deemed_attendance(client_for, operator):
    credited = registrant("400017")
    grant_deemed_credit(
        credited, approved_on=dt.date(2027, 1, 10), reference="DEEMED-17", actor=None
    )
    registrant("400018")
    with frozen(AFTER_DEADLINE):
        response = client_for(operator).get("/ops/renewals/", {"courses": "overdue"})
    assert response.status_code == 200
    body = text(response)
    assert "400018" in body and "400017" not in body
    with frozen(AFTER_DEADLINE):
        body = text(client_for(operator).get("/ops/renewals/"))
    row = body[body.index(">400017</a>") : body.index(">400018</a>")]
    assert (
        '実践講習はみなし受講により充足（<time datetime="2027-01-10" class="date">2027年1月10日</time>承認）'
        in row
    )
    assert "最新" in row
    assert "みなし受講により充足" not in body[body.index(">400018</a>") :]


# ------------------------------------------------------------------ revocation


def test_revoking_an_active_registration(operator):
    record = registrant("400020")
    before = generation()

    revoked = revoke_registration(
        record, actor=operator, reason="虚偽のみなし受講申請", reference="REVOCATION-1"
    )

    assert revoked is record
    assert (record.status, record.ended_on) == ("revoked", BEFORE_DEADLINE)
    stored = RegistryRecord.objects.get(pk=record.pk)
    assert (stored.status, stored.ended_on) == (RegistryStatus.REVOKED, BEFORE_DEADLINE)
    assert stored.get_status_display() == "登録取消"
    latest = stored.history.first()
    assert latest.status == "revoked"
    assert latest.history_change_reason == "登録取消（REVOCATION-1）: 虚偽のみなし受講申請"
    assert latest.history_user == operator
    event = AuditEvent.objects.get(action="registry.update", target_id="400020")
    assert event.actor == operator
    assert event.data["reason"] == "登録取消（REVOCATION-1）: 虚偽のみなし受講申請"
    assert event.data["changes"] == {
        "status": ["active", "revoked"],
        "ended_on": [None, "2027-01-15"],
    }
    assert generation() != before


def test_an_expired_registration_can_be_revoked():
    record = registrant("400021", status="expired")
    revoke_registration(record, actor=None, reason="虚偽申請", reference="REVOCATION-2")
    assert RegistryRecord.objects.get(pk=record.pk).status == "revoked"


@pytest.mark.parametrize(
    ("status", "label"),
    [("deregistered", "登録抹消"), ("deceased", "死亡"), ("revoked", "登録取消")],
)
def test_only_an_active_or_expired_registration_can_be_revoked(status, label):
    record = registrant("400022", status=status)
    with pytest.raises(RegistryError, match=f"登録の状態が「{label}」のため、登録を取り消せません"):
        revoke_registration(record, actor=None, reason="虚偽申請", reference="REVOCATION-3")
    assert RegistryRecord.objects.get(pk=record.pk).status == status
    assert not AuditEvent.objects.filter(action="registry.update").exists()


def test_revocation_needs_a_reason():
    record = registrant("400023")
    with pytest.raises(RegistryError, match="理由を入力"):
        revoke_registration(record, actor=None, reason="  ", reference="REVOCATION-4")
    assert RegistryRecord.objects.get(pk=record.pk).status == "active"


def test_revocation_reads_the_stored_status_not_the_callers_copy():
    """A stale object saying "active" cannot revoke a registration deregistered meanwhile."""
    record = registrant("400024")
    RegistryRecord.objects.filter(pk=record.pk).update(status=RegistryStatus.DEREGISTERED)
    with pytest.raises(RegistryError, match="登録抹消"):
        revoke_registration(record, actor=None, reason="虚偽申請", reference="REVOCATION-5")


def test_a_revoked_registrant_is_hidden_everywhere_an_active_one_is_shown(client):
    record = registrant("400025", name="山口 取消")
    assert Listing.objects.visible(BEFORE_DEADLINE).filter(record=record).exists()
    revoke_registration(record, actor=None, reason="虚偽申請", reference="REVOCATION-6")

    assert not Listing.objects.visible(BEFORE_DEADLINE).filter(record=record).exists()
    found = search(SearchQuery(include_not_accepting=True), today=BEFORE_DEADLINE)
    assert "400025" not in [r["registration_number"] for r in found.results]
    with pytest.raises(LookupError):
        get_specialist("400025", today=BEFORE_DEADLINE)
    with pytest.raises(LookupError):
        public.get_entry("400025", BEFORE_DEADLINE)
    assert client.get("/registry/400025/").status_code == 404
    assert client.get("/api/v1/registry/400025").status_code == 404


def test_a_revoked_registrant_files_no_request_and_sees_the_status(client_for):
    user = make_specialist_user("400026", courses=COMMONS)
    revoke_registration(user.record, actor=None, reason="虚偽申請", reference="REVOCATION-7")
    record = RegistryRecord.objects.get(pk=user.record.pk)
    with pytest.raises(RequestError, match="「登録取消」のため"):
        submit_request(record, RequestKind.RENEWAL, {}, actor=user)
    page = text(client_for(user).get("/me/registry/"))
    assert "登録取消" in page
    assert '<time datetime="2027-01-15" class="date">2027年1月15日</time>に登録終了' in page
