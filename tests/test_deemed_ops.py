"""The operators' deemed-attendance pages (/ops/deemed/): the queue by deadline,
its filters, the decisions, the sample-audit outcome, revocation cases and
the audit draw from the page. Real database, through the pages and services."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from sekispe.audit.models import AuditEvent
from sekispe.deemed import services, views_ops
from sekispe.deemed.models import (
    AuditDraw,
    AuditState,
    DeemedApplication,
    DeemedStatus,
    RevocationCase,
)
from sekispe.outbox.models import OutgoingMail
from sekispe.registry import rules
from sekispe.registry.models import (
    CourseCompletion,
    CourseKind,
    DisasterMeasure,
    RegistryRecord,
    RegistryStatus,
)
from sekispe.registry.services import apply_disaster_measure, renewal_status_of
from tests.concurrency_support import race
from tests.deemed_support import (
    make_active_list_application,
    make_application,
    make_registrant,
)
from tests.factories import make_user, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client_for, operator):
    return client_for(operator)


def queue_ids(response) -> list[int]:
    return [row.application.pk for row in response.context["rows"]]


def practical_done(record: RegistryRecord) -> bool:
    record.refresh_from_db()
    status = renewal_status_of(record)
    return next(r for r in status.requirements if r.kind == rules.PRACTICAL).done


# ------------------------------------------------------------------ the queue


def test_queue_is_ordered_by_the_deadline_including_a_disaster_extension(ops, operator):
    today = timezone.localdate()
    far = make_application(make_registrant(300))  # deadline in 240 days
    middle = make_application(make_registrant(130))  # 70 days
    soon = make_application(make_registrant(70))  # 10 days
    extended_user = make_registrant(72)  # 12 days, extended to 100 days below
    extended = make_application(extended_user)
    measure = DisasterMeasure.objects.create(
        title="令和8年豪雨",
        deadline_from=today + dt.timedelta(days=12),
        deadline_to=today + dt.timedelta(days=12),
        new_deadline=today + dt.timedelta(days=100),
    )
    measure.prefectures.set([extended_user.record.home_prefecture_id])
    assert apply_disaster_measure(measure, actor=operator).covered == [
        extended_user.record.registration_number
    ]

    response = ops.get("/ops/deemed/")
    assert response.status_code == 200
    assert queue_ids(response) == [soon.pk, middle.pk, extended.pk, far.pk]
    extended.refresh_from_db()
    assert services.deadline_of(extended) == today + dt.timedelta(days=100)
    body = text(response)
    # Days left in words, with the emphasis class only repeating them.
    assert '<span class="days days-soon">残り10日（期限間近）</span>' in body
    assert '<span class="days days-normal">残り100日</span>' in body
    assert '<tr class="urgency-soon">' in body
    assert "うち期限まで14日以内 <strong>1</strong>" in body


def test_queue_says_how_far_past_the_deadline_an_open_application_is(ops):
    late = make_application(make_registrant(70))  # deadline in 10 days
    decided = make_application(make_registrant(71), status=DeemedStatus.APPROVED)
    ended = make_application(make_registrant(72), status=DeemedStatus.WITHDRAWN)
    with time_machine.travel(timezone.now() + dt.timedelta(days=13)):
        response = ops.get("/ops/deemed/?status=all")
        body = text(response)
    assert queue_ids(response) == [late.pk, decided.pk, ended.pk]
    assert '<span class="days days-overdue">期限を3日過ぎています</span>' in body
    assert '<tr class="urgency-overdue">' in body
    # A decided application's deadline no longer asks for anything.
    assert '<span class="days days-decided">（決定済み）</span>' in body
    assert '<span class="days days-decided">（手続終了）</span>' in body
    assert "うち期限超過 <strong>1</strong>" in body


@pytest.fixture
def mixed(operator):
    """Applications in several states, sub-items and flags."""
    first = make_application(make_registrant(), syllabus_item="1-2")
    apps = {
        "submitted": first,
        "info": make_application(
            make_registrant(), status=DeemedStatus.INFO_REQUESTED, syllabus_item="2-1"
        ),
        "approved": make_application(
            make_registrant(), status=DeemedStatus.APPROVED, syllabus_item="3-4"
        ),
        "awaiting": make_application(
            make_registrant(), status=DeemedStatus.AWAITING_CERTIFICATION, syllabus_item="4-1"
        ),
        # Someone else's description: accepted, flagged.
        "similar": make_application(
            make_registrant(), syllabus_item="1-3", description=first.description
        ),
        "active_list": make_active_list_application(make_registrant()),
    }
    for application in apps.values():
        application.refresh_from_db()
    return apps


def test_queue_shows_pending_by_default_and_everything_on_request(ops, mixed):
    pending = {mixed[k].pk for k in ("submitted", "info", "similar", "active_list")}
    assert set(queue_ids(ops.get("/ops/deemed/"))) == pending
    assert set(queue_ids(ops.get("/ops/deemed/?status=all"))) == {a.pk for a in mixed.values()}
    assert queue_ids(ops.get("/ops/deemed/?status=approved")) == [mixed["approved"].pk]
    assert queue_ids(ops.get("/ops/deemed/?status=awaiting_certification")) == [
        mixed["awaiting"].pk
    ]


def test_queue_filters_by_area_sub_item_and_flag(ops, mixed):
    area_1 = {mixed["submitted"].pk, mixed["similar"].pk}
    if mixed["active_list"].syllabus_item.major_id == "1":
        area_1.add(mixed["active_list"].pk)
    assert set(queue_ids(ops.get("/ops/deemed/?status=all&item=major-1"))) == area_1
    assert queue_ids(ops.get("/ops/deemed/?status=all&item=2-1")) == [mixed["info"].pk]
    assert queue_ids(ops.get("/ops/deemed/?item=3-4")) == []  # approved is not pending
    assert queue_ids(ops.get("/ops/deemed/?flag=similar")) == [mixed["similar"].pk]
    assert queue_ids(ops.get("/ops/deemed/?flag=active_list")) == [mixed["active_list"].pk]

    draw = services.draw_audit("0.5", seed=11, actor_label="test")
    assert draw.drawn
    under = ops.get("/ops/deemed/?status=all&flag=under_audit")
    assert queue_ids(under) == sorted(draw.drawn, key=queue_ids(under).index)
    assert set(queue_ids(under)) == set(draw.drawn)


def test_queue_rows_show_the_flags_with_a_link_to_the_similar_application(ops, mixed):
    body = text(ops.get("/ops/deemed/"))
    similar, first = mixed["similar"], mixed["submitted"]
    assert similar.similar_to_id == first.pk
    assert f'<a href="/ops/deemed/{first.pk}/">{first.reference}</a> 類似度 1.00' in body
    assert "アクティブリストの完了確認" in body
    assert f"{similar.record.registration_number}<br>{similar.record.name}" in body


def test_queue_refuses_unknown_filters_with_the_form_error(ops, mixed):
    response = ops.get("/ops/deemed/?status=bogus&flag=nope")
    assert response.status_code == 400
    assert "入力内容を確認してください。" in text(response)
    assert queue_ids(response) == []


def test_queue_is_paginated(ops, mixed, monkeypatch):
    monkeypatch.setattr(views_ops, "PAGE_SIZE", 2)
    first = ops.get("/ops/deemed/?status=all")
    assert len(queue_ids(first)) == 2
    assert "1 / 3 ページ" in text(first)
    assert 'href="?status=all&amp;page=2"' in first.content.decode()
    third = ops.get("/ops/deemed/?status=all&page=3")
    assert len(queue_ids(third)) == 2


def test_the_operators_navigation_links_the_queue(ops):
    body = ops.get("/ops/").content.decode()
    assert '<a href="/ops/deemed/"' in body
    assert 'aria-current="page">みなし受講</a>' in ops.get("/ops/deemed/cases/").content.decode()


# ------------------------------------------------------------------ one application


def test_detail_shows_the_declaration_certification_similarity_and_history(ops, mixed):
    similar = mixed["similar"]
    response = ops.get(f"/ops/deemed/{similar.pk}/")
    assert response.status_code == 200
    body = text(response)
    assert similar.reference in body
    assert similar.organisation in body and similar.work_summary in body
    assert similar.oath_text in body
    # The certifier's answer, with the keyed address hash shortened.
    assert "証明 太郎（情報システム部長）" in body
    assert "000000000000…" in body
    assert "0" * 13 not in body
    # The similar application side by side.
    first = mixed["submitted"]
    assert "類似度 1.00" in body
    assert f'<a href="/ops/deemed/{first.pk}/">{first.reference}</a>' in body
    assert body.count(first.description[:60]) >= 2
    # History (with the operator named) and the audit log.
    assert "申請し、証明者に確認を依頼" in body and "証明者が証明" in body
    assert "deemed.certified" in body


def test_detail_of_an_active_list_application_shows_the_confirmation(ops, mixed):
    application = mixed["active_list"]
    body = text(ops.get(f"/ops/deemed/{application.pk}/"))
    assert "アクティブリストの完了確認を証明としています" in body
    assert application.confirmation.company_name in body
    assert "確認された訪問" in body


def test_detail_of_an_unknown_application_is_404(ops):
    assert ops.get("/ops/deemed/999999/").status_code == 404


# ------------------------------------------------------------------ decisions


def test_approve_writes_the_credit_and_a_second_click_is_refused(ops, client, operator):
    application = make_application(make_registrant())
    record = application.record
    assert not practical_done(record)
    response = ops.post(f"/ops/deemed/{application.pk}/approve/", {"approve-note": "確認済み"})
    assert response.status_code == 302
    assert response["Location"] == f"/ops/deemed/{application.pk}/"
    application.refresh_from_db()
    assert application.status == DeemedStatus.APPROVED
    assert application.decided_by == operator
    assert application.credit.kind == CourseKind.DEEMED
    assert practical_done(record)
    assert f"{application.reference} を承認しました。" in text(ops.get(response["Location"]))

    # The same button again (a double click): refused, shown on the page, nothing doubled.
    again = ops.post(f"/ops/deemed/{application.pk}/approve/", {"approve-note": ""})
    assert again.status_code == 400
    assert "この申請は「承認」のため、この操作はできません。" in text(again)
    assert CourseCompletion.objects.filter(record=record, kind=CourseKind.DEEMED).count() == 1

    # A second operator who still had the page open rejects: refused too.
    other = make_user("operator", "second@ipa.example.jp")
    client.force_login(other)
    late = client.post(f"/ops/deemed/{application.pk}/reject/", {"reject-reason": "不備"})
    assert late.status_code == 400
    assert "この申請は「承認」のため、この操作はできません。" in text(late)
    application.refresh_from_db()
    assert application.status == DeemedStatus.APPROVED
    assert [e.action for e in application.events.all()][-1] == "approved"


def test_reject_needs_a_reason_that_reaches_the_applicant(ops):
    application = make_application(make_registrant())
    empty = ops.post(f"/ops/deemed/{application.pk}/reject/", {"reject-reason": "  "})
    assert empty.status_code == 400
    assert "却下の理由を入力してください。" in text(empty)
    assert 'href="#id_reject-reason"' in empty.content.decode()
    response = ops.post(
        f"/ops/deemed/{application.pk}/reject/",
        {"reject-reason": "シラバスの小項目に該当する内容が確認できません。"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == DeemedStatus.REJECTED
    assert application.credit is None
    mail = OutgoingMail.objects.filter(to=application.applicant.email).latest("pk")
    assert "シラバスの小項目に該当する内容が確認できません。" in mail.body
    assert AuditEvent.objects.filter(
        action="deemed.rejected", target_id=str(application.pk)
    ).exists()


def test_request_information_once_then_the_answer_shows(ops):
    application = make_application(make_registrant())
    response = ops.post(
        f"/ops/deemed/{application.pk}/request-information/",
        {"info-question": "報告会の日付を教えてください。"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == DeemedStatus.INFO_REQUESTED
    page = text(ops.get(f"/ops/deemed/{application.pk}/"))
    assert "報告会の日付を教えてください。" in page and "（未回答）" in page
    # Waiting for the answer: no second question form, but still decidable.
    assert "/request-information/" not in page and "/approve/" in page
    again = ops.post(
        f"/ops/deemed/{application.pk}/request-information/", {"info-question": "もう一つ"}
    )
    assert again.status_code == 400
    services.answer_information(application.applicant, application, "2026年9月12日です。")
    page = text(ops.get(f"/ops/deemed/{application.pk}/"))
    assert "2026年9月12日です。" in page


def test_past_the_deadline_nothing_is_approved(ops):
    application = make_application(make_registrant(70))  # deadline in 10 days
    warning = "更新申請期限を過ぎているため、承認できません"
    page = text(ops.get(f"/ops/deemed/{application.pk}/"))
    assert warning not in page and "承認する" in page
    with time_machine.travel(timezone.now() + dt.timedelta(days=11)):
        page = text(ops.get(f"/ops/deemed/{application.pk}/"))
        assert warning in page
        assert (
            f'action="/ops/deemed/{application.pk}/approve/"'
            not in ops.get(f"/ops/deemed/{application.pk}/").content.decode()
        )
        response = ops.post(f"/ops/deemed/{application.pk}/approve/", {})
        assert response.status_code == 400
        assert "を過ぎたため承認できません" in text(response)
        application.refresh_from_db()
        assert application.status == DeemedStatus.SUBMITTED
        assert not practical_done(application.record)
        # Rejecting still works, so the applicant learns the outcome.
        ops.post(f"/ops/deemed/{application.pk}/reject/", {"reject-reason": "期限後のため"})
        application.refresh_from_db()
        assert application.status == DeemedStatus.REJECTED


@pytest.mark.django_db(transaction=True)
def test_two_operators_deciding_at_once_make_one_decision():
    application = make_application(make_registrant())
    first = make_user("operator", "first@ipa.example.jp")
    second = make_user("operator", "second@ipa.example.jp")
    results = race(
        [
            lambda: services.approve(application, first, "承認"),
            lambda: services.reject(application, second, "却下"),
            lambda: services.approve(application, second, "承認"),
        ]
    )
    refused = [r for r in results if isinstance(r, services.DeemedRefused)]
    decided = [r for r in results if isinstance(r, DeemedApplication)]
    assert len(decided) == 1 and len(refused) == 2, results
    application.refresh_from_db()
    assert application.status == decided[0].status
    credits = CourseCompletion.objects.filter(record=application.record, kind=CourseKind.DEEMED)
    assert credits.count() == (1 if application.status == DeemedStatus.APPROVED else 0)
    assert application.events.filter(action__in=["approved", "rejected"]).count() == 1


# ------------------------------------------------------------------ audit outcome


def under_audit(status: str = DeemedStatus.APPROVED) -> DeemedApplication:
    """An application of a new registrant, drawn alone (rate 1 over a population of one)."""
    application = make_application(make_registrant(), status=status)
    # Earlier applications of the test are drawn first so this one is alone.
    services.draw_audit("1", seed=3, actor_label="test")
    application.refresh_from_db()
    assert application.audit_state == AuditState.UNDER_AUDIT
    return application


def test_a_false_claim_revokes_the_credit_and_opens_a_case(ops):
    application = under_audit()
    record = application.record
    assert practical_done(record)
    page = text(ops.get(f"/ops/deemed/{application.pk}/"))
    assert "調査の結果を記録する" in page
    missing = ops.post(f"/ops/deemed/{application.pk}/audit-outcome/", {"audit-outcome": "false"})
    assert missing.status_code == 400
    assert "調査結果の内容を入力してください。" in text(missing)

    response = ops.post(
        f"/ops/deemed/{application.pk}/audit-outcome/",
        {"audit-outcome": "false", "audit-note": "証明者は業務を確認していなかった。"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == DeemedStatus.REVOKED
    assert application.audit_state == AuditState.FALSE
    assert application.credit is None
    assert not CourseCompletion.objects.filter(record=record, kind=CourseKind.DEEMED).exists()
    assert not practical_done(record)
    case = RevocationCase.objects.get(application=application)
    assert case.state == RevocationCase.State.OPEN
    assert case.finding == "証明者は業務を確認していなかった。"
    page = text(ops.get(f"/ops/deemed/{application.pk}/"))
    assert f'<a href="/ops/deemed/cases/{case.pk}/">登録取消の手続（手続中）</a>' in page
    # The registration itself is untouched until an operator decides on the case.
    record.refresh_from_db()
    assert record.status == RegistryStatus.ACTIVE
    # Recorded once: the form is gone and a second post is refused.
    assert "調査の結果を記録する" not in page
    again = ops.post(
        f"/ops/deemed/{application.pk}/audit-outcome/",
        {"audit-outcome": "confirmed", "audit-note": "やはり事実"},
    )
    assert again.status_code == 400
    assert "この申請はサンプル調査中ではありません。" in text(again)


def test_a_confirmed_audit_leaves_the_approval_and_the_credit(ops):
    application = under_audit()
    response = ops.post(
        f"/ops/deemed/{application.pk}/audit-outcome/",
        {"audit-outcome": "confirmed", "audit-note": "報告書と証明者への照会で確認した。"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.audit_state == AuditState.CONFIRMED
    assert application.status == DeemedStatus.APPROVED
    assert application.credit is not None
    assert not RevocationCase.objects.filter(application=application).exists()


# ------------------------------------------------------------------ revocation cases


@pytest.fixture
def case() -> RevocationCase:
    application = make_application(make_registrant(), status=DeemedStatus.REVOKED)
    return RevocationCase.objects.select_related("application__record").get(application=application)


def test_revoking_the_registration_needs_the_check_and_a_reason(ops, operator, case):
    record = case.application.record
    url = f"/ops/deemed/cases/{case.pk}/revoke/"
    unchecked = ops.post(url, {"revoke-reason": "虚偽の申請（法第19条第2項）"})
    assert unchecked.status_code == 400
    assert 'href="#id_revoke-checked"' in unchecked.content.decode()
    record.refresh_from_db()
    assert record.status == RegistryStatus.ACTIVE

    response = ops.post(
        url, {"revoke-checked": "on", "revoke-reason": "虚偽の申請（法第19条第2項）"}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    case.refresh_from_db()
    assert record.status == RegistryStatus.REVOKED
    assert record.ended_on == timezone.localdate()
    assert case.state == RevocationCase.State.REGISTRATION_REVOKED
    assert case.closed_by == operator
    registry_event = AuditEvent.objects.get(
        action="registry.update", target_id=record.registration_number
    )
    assert registry_event.data["changes"]["status"] == ["active", "revoked"]
    assert f"REVOCATION-{case.pk}" in registry_event.data["reason"]
    assert AuditEvent.objects.filter(
        action="deemed.registration_revoked", target_id=str(case.application_id)
    ).exists()
    page = text(ops.get(f"/ops/deemed/cases/{case.pk}/"))
    assert "登録を取消" in page and "登録取消" in page
    assert "/revoke/" not in page

    again = ops.post(url, {"revoke-checked": "on", "revoke-reason": "もう一度"})
    assert again.status_code == 400
    assert "この手続はすでに終了しています。" in text(again)


def test_closing_a_case_keeps_the_registration(ops, case):
    record = case.application.record
    url = f"/ops/deemed/cases/{case.pk}/close/"
    assert ops.post(url, {"close-note": ""}).status_code == 400
    response = ops.post(url, {"close-note": "故意ではなく、記載の誤りと判断した。"})
    assert response.status_code == 302
    case.refresh_from_db()
    record.refresh_from_db()
    assert case.state == RevocationCase.State.CLOSED
    assert case.outcome_note == "故意ではなく、記載の誤りと判断した。"
    assert record.status == RegistryStatus.ACTIVE
    # The credit stays revoked.
    assert not practical_done(record)
    assert ops.post(url, {"close-note": "再度"}).status_code == 400
    revoke = ops.post(
        f"/ops/deemed/cases/{case.pk}/revoke/",
        {"revoke-checked": "on", "revoke-reason": "やはり取消"},
    )
    assert revoke.status_code == 400
    record.refresh_from_db()
    assert record.status == RegistryStatus.ACTIVE


def test_the_case_list_puts_open_cases_first(ops, case):
    closed = make_application(make_registrant(), status=DeemedStatus.REVOKED).revocation_case
    services.close_case(closed, make_user("operator"), "記載の誤り")
    body = text(ops.get("/ops/deemed/cases/"))
    assert body.index(f"/ops/deemed/cases/{case.pk}/") < body.index(
        f"/ops/deemed/cases/{closed.pk}/"
    )
    assert "手続中" in body and "取消なしで終了" in body


# ------------------------------------------------------------------ audit draws from the page


def test_the_draw_page_offers_a_random_seed_and_confirms_before_recording(ops, operator):
    apps = [make_application(make_registrant(), status=DeemedStatus.APPROVED) for _ in range(4)]
    page = ops.get("/ops/deemed/audits/")
    seed = int(re.search(r'name="seed" value="(\d+)"', page.content.decode()).group(1))
    assert 0 <= seed < 2**32
    assert "現在の母集団：4 件" in text(page)

    preview = ops.post("/ops/deemed/audits/draw/", {"rate": "0.5", "seed": "2024"})
    assert preview.status_code == 200
    assert not AuditDraw.objects.exists()
    population, drawn = services.preview_draw("0.5", 2024)
    assert population == sorted(a.pk for a in apps) and len(drawn) == 2
    body = text(preview)
    for pk in drawn:
        assert DeemedApplication.objects.get(pk=pk).reference in body
    assert 'name="population" value="4"' in preview.content.decode()

    response = ops.post(
        "/ops/deemed/audits/draw/",
        {"rate": "0.5", "seed": "2024", "population": "4", "confirm": "True"},
    )
    assert response.status_code == 302
    draw = AuditDraw.objects.get()
    assert (draw.seed, draw.drawn, draw.drawn_by) == (2024, drawn, operator.email)
    listing = text(ops.get("/ops/deemed/audits/"))
    assert "✓ 再現を確認" in listing
    for pk in drawn:
        assert f'href="/ops/deemed/{pk}/"' in listing


def test_a_changed_population_shows_the_draw_again_instead_of_recording(ops):
    make_application(make_registrant(), status=DeemedStatus.APPROVED)
    make_application(make_registrant(), status=DeemedStatus.APPROVED)
    response = ops.post(
        "/ops/deemed/audits/draw/",
        {"rate": "0.5", "seed": "7", "population": "5", "confirm": "True"},
    )
    assert response.status_code == 200
    assert "確認の後に母集団が変わりました" in text(response)
    assert not AuditDraw.objects.exists()


def test_a_tampered_draw_is_shown_as_not_reproducible(ops):
    apps = [make_application(make_registrant(), status=DeemedStatus.APPROVED) for _ in range(3)]
    draw = services.draw_audit("0.34", seed=5, actor_label="test")
    [kept] = draw.drawn
    other = next(a.pk for a in apps if a.pk != kept)
    AuditDraw.objects.filter(pk=draw.pk).update(drawn=[other])
    assert "✗ 再現できません" in text(ops.get("/ops/deemed/audits/"))


def test_a_draw_with_an_impossible_rate_is_a_form_error(ops):
    response = ops.post("/ops/deemed/audits/draw/", {"rate": "1.5", "seed": "1"})
    assert response.status_code == 400
    assert "抽出率" in text(response)
    assert not AuditDraw.objects.exists()
