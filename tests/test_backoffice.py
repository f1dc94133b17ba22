"""The operators' back office (/ops/): reviews, suspension, invitations,
institutions, criteria and the before → after history."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import time_machine

from sekispe.accounts.models import Invitation, Role, User
from sekispe.audit.models import AuditEvent
from sekispe.backoffice.history import (
    changes_since_published,
    listing_changes,
    record_changes,
)
from sekispe.backoffice.services import update_criteria
from sekispe.listings.criteria import criteria_met, evaluate_criteria
from sekispe.listings.lifecycle import (
    ListingChanges,
    approve_change,
    reopen_listing,
    submit_listing,
    update_listing,
    withdraw_listing,
)
from sekispe.listings.models import Listing, ListingCriteria, ListingStatus, ListingTransition
from sekispe.registry.models import RegistryRecord
from tests.factories import TODAY, create_specialists, make_input, make_specialist_user, text
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

S = ListingStatus
LONG_PROFILE = (
    "中小企業の情報セキュリティ規程の整備とリスク分析を専門に支援しています。"
    "製造業・小売業を中心に、現状の洗い出しから規程の策定、従業員教育まで一貫して伴走します。"
    "クラウドサービスの安全な利用やインシデント対応手順書の作成、机上演習の実施にも対応します。"
)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def ops(client, operator):
    client.force_login(operator)
    return client


def own_listing(user) -> Listing:
    return Listing.objects.select_related("record").get(record=user.record)


def submitted_specialist(number: str = "100010", **fields):
    """A specialist whose first listing waits for review (draft → submitted)."""
    fields.setdefault("profile", LONG_PROFILE)
    user = make_specialist_user(number, **fields)
    listing = own_listing(user)
    Listing.objects.filter(pk=listing.pk).update(status=S.DRAFT)
    listing.refresh_from_db()
    if criteria_met(evaluate_criteria(listing, TODAY)):
        submit_listing(listing, actor=user, today=TODAY)
    else:  # the queue also shows listings that no longer meet a criterion
        Listing.objects.filter(pk=listing.pk).update(status=S.SUBMITTED)
        ListingTransition.objects.create(
            listing=listing, from_status=S.DRAFT, to_status=S.SUBMITTED, actor_label="tests"
        )
    return user


def changed_specialist(number: str = "100010", **fields):
    """A specialist whose live listing has a gated change waiting (issue 15, point 5)."""
    fields.setdefault("profile", LONG_PROFILE)
    user = make_specialist_user(number, **fields)
    result = update_listing(own_listing(user), ListingChanges(sets={"themes": {1, 2}}), actor=user)
    assert result.resubmitted
    return user


# ------------------------------------------------------------- permissions

PAGES = [
    "/ops/",
    "/ops/reviews/",
    "/ops/reviews/{listing}/",
    "/ops/listings/",
    "/ops/listings/{listing}/",
    "/ops/registry/",
    "/ops/registry/{record}/",
    "/ops/history/listing/{listing}/",
    "/ops/history/record/{record}/",
    "/ops/institutions/",
    "/ops/institutions/new/",
    "/ops/criteria/",
]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["anonymous", "sme", "institution", "specialist", "operator"])
def test_every_page_is_for_operators_only(page, role, request, client_for, specialist):
    user = None if role == "anonymous" else request.getfixturevalue(role)
    listing = own_listing(specialist)
    url = page.format(listing=listing.pk, record=listing.record_id)
    response = client_for(user).get(url)
    if role == "anonymous":
        assert response.status_code == 302
        assert "login" in response["Location"]
    elif role == "operator":
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ["sme", "institution", "specialist"])
def test_other_roles_cannot_approve(role, request, client_for):
    user = submitted_specialist()
    listing = own_listing(user)
    response = client_for(request.getfixturevalue(role)).post(
        f"/ops/reviews/{listing.pk}/", {"action": "approve"}
    )
    assert response.status_code == 403
    assert own_listing(user).status == S.SUBMITTED


@pytest.mark.parametrize(
    "url",
    [
        "/ops/reviews/999999/",
        "/ops/listings/999999/",
        "/ops/registry/999999/",
        "/ops/history/listing/999999/",
        "/ops/history/record/999999/",
    ],
)
def test_unknown_ids_are_404(ops, url):
    assert ops.get(url).status_code == 404


# --------------------------------------------------------------- dashboard


def test_dashboard_counts_reviews_and_stale_listings(ops):
    submitted_specialist("100010")
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), tick=False):
        create_specialists(make_input(registration_number="100011"))  # 266 days old
    with time_machine.travel(dt.datetime(2025, 9, 1, tzinfo=dt.UTC), tick=False):
        create_specialists(make_input(registration_number="100012"))  # 447 days old
    page = text(ops.get("/ops/"))
    assert "審査待ち 1 件" in page
    assert "180日以上更新がない掲載中の掲載</dt> <dd><a" in page
    assert '?status=published&amp;freshness=stale">2</a>' in page
    assert '?status=published&amp;freshness=hidden">1</a>' in page


def test_dashboard_counts_registry_operations(ops):
    from sekispe.registrant_requests.models import RegistrantRequest
    from sekispe.registry.models import Reminder

    create_specialists(
        make_input(registration_number="100020", expires_on=dt.date(2027, 1, 31)),
        make_input(registration_number="100021", expires_on=dt.date(2027, 9, 30)),
    )
    soon = RegistryRecord.objects.get(registration_number="100020")
    RegistrantRequest.objects.create(
        record=soon,
        kind="badge_loan",
        payload={"note": ""},
        fiscal_year=2026,
        submitted_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )
    Reminder.objects.create(
        record=soon, kind="deadline_30", key="2026-12-30", state="sending", email="a@example.jp"
    )
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        page = text(ops.get("/ops/"))
    assert '/ops/requests/">1</a>' in page
    # 2027-01-31 − 60 days = 2026-12-02, within 30 days; the September expiry is not.
    assert '/ops/renewals/?within=30">1</a>' in page
    assert '?state__exact=sending">1</a>' in page


# ----------------------------------------------------------------- reviews


def test_the_queue_lists_oldest_submission_first_with_the_criteria_count(ops):
    with time_machine.travel(dt.datetime(2026, 11, 20, tzinfo=dt.UTC), tick=False):
        older = submitted_specialist("100020", name="高橋 誠")
    newer = submitted_specialist("100021", name="田中 美咲", profile="短い紹介です。")
    page = text(ops.get("/ops/reviews/"))
    assert page.index("100020") < page.index("100021")
    assert "2026-11-20" in page
    total = len(evaluate_criteria(own_listing(older), TODAY))
    assert f"{total}項目中{total}項目を満たす" in page
    assert f"{total}項目中{total - 1}項目を満たす" in page
    assert str(own_listing(newer).pk) in page


def test_the_review_page_shows_the_listing_checks_transitions_and_changes(ops):
    user = changed_specialist()
    listing = own_listing(user)
    page = text(ops.get(f"/ops/reviews/{listing.pk}/"))
    assert listing.record.name in page
    assert "中小企業の情報セキュリティ規程の整備とリスク分析" in page  # the profile
    assert "満たしている" in page and "満たしていない" not in page
    # The transition written by the gated edit, in words (issue 15, point 6).
    assert "審査待ち" in page and "審査が必要な項目の変更：支援実績のある指導テーマ" in page
    assert "gated:" not in page
    # The diff since the published version: theme 2 was added.
    assert "追加：②情報資産の洗い出しとリスク分析" in page or (
        "追加：情報資産の洗い出しとリスク分析" in page
    )
    assert "承認する" in page and "差し戻す" in page


def test_approve_from_the_queue_publishes_the_listing(ops, django_capture_on_commit_callbacks):
    user = submitted_specialist()
    listing = own_listing(user)
    assert not Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(f"/ops/reviews/{listing.pk}/", {"action": "approve"})
    assert response.status_code == 302
    assert response["Location"] == "/ops/reviews/"
    assert own_listing(user).status == S.PUBLISHED
    assert Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    assert [m.to for m in delivered()] == [[user.email]]
    page = text(ops.get("/ops/reviews/"))
    assert "承認しました" in page
    assert "審査待ちの掲載はありません" in page


def test_approve_is_refused_while_a_criterion_fails(ops):
    user = submitted_specialist()
    listing = own_listing(user)
    update_criteria(ListingCriteria.current(), {"min_themes": 4}, actor=None)
    response = ops.post(f"/ops/reviews/{listing.pk}/", {"action": "approve"}, follow=True)
    assert "掲載基準を満たしていないため承認できません" in text(response)
    assert own_listing(user).status == S.SUBMITTED


def test_send_back_needs_a_message(ops, django_capture_on_commit_callbacks):
    user = submitted_specialist()
    listing = own_listing(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(f"/ops/reviews/{listing.pk}/", {"action": "send_back", "message": " "})
    assert response.status_code == 200
    page = text(response)
    assert "差し戻しの理由を入力してください。" in page
    assert 'aria-describedby="id_message_helptext id_message_error"' in page
    assert own_listing(user).status == S.SUBMITTED
    assert delivered() == []


def test_send_back_with_a_message_returns_it_to_draft_and_mails_the_specialist(
    ops, django_capture_on_commit_callbacks
):
    user = submitted_specialist()
    listing = own_listing(user)
    message = "指導テーマ②の支援実績を具体的に書いてください。"
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(
            f"/ops/reviews/{listing.pk}/", {"action": "send_back", "message": message}
        )
    assert response.status_code == 302
    listing = own_listing(user)
    assert (listing.status, listing.status_note) == (S.DRAFT, message)
    assert len(delivered()) == 1
    assert delivered()[0].to == [user.email]
    assert message in delivered()[0].body


def test_a_listing_that_is_not_submitted_cannot_be_sent_back(ops, specialist):
    listing = own_listing(specialist)
    page = text(ops.get(f"/ops/reviews/{listing.pk}/"))
    assert "この掲載は審査待ちではありません" in page
    assert "承認する" not in page
    response = ops.post(f"/ops/reviews/{listing.pk}/", {"action": "send_back", "message": "x"})
    assert "この操作は現在の掲載状態（掲載中）ではできません。" in text(response)
    assert own_listing(specialist).status == S.PUBLISHED


# ---------------------------------------------------------------- listings


def test_listing_search_by_number_name_kana_and_status(ops):
    create_specialists(
        make_input(registration_number="300001", name="高橋 誠", name_kana="タカハシ マコト"),
        make_input(registration_number="300002", name="田中 美咲", name_kana="タナカ ミサキ"),
    )
    submitted_specialist("300003", name="渡辺 翔", name_kana="ワタナベ ショウ")
    assert "300001" in text(ops.get("/ops/listings/?q=300001"))
    by_name = text(ops.get("/ops/listings/?q=高橋誠"))
    assert "300001" in by_name and "300002" not in by_name
    by_kana = text(ops.get("/ops/listings/?q=タナカ"))
    assert "300002" in by_kana and "300001" not in by_kana
    by_status = text(ops.get("/ops/listings/?status=submitted"))
    assert "300003" in by_status and "300001" not in by_status


def test_suspend_needs_a_reason_then_hides_the_listing_until_restored(
    ops, specialist, django_capture_on_commit_callbacks
):
    listing = own_listing(specialist)
    url = f"/ops/listings/{listing.pk}/"
    response = ops.post(url, {"action": "suspend", "reason": ""})
    assert "掲載停止の理由を入力してください。" in text(response)
    assert own_listing(specialist).status == S.PUBLISHED

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(url, {"action": "suspend", "reason": "連絡先に連絡がつきません。"})
    assert response.status_code == 302
    listing = own_listing(specialist)
    assert (listing.status, listing.status_note) == (S.SUSPENDED, "連絡先に連絡がつきません。")
    assert not Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    assert "連絡先に連絡がつきません。" in delivered()[-1].body
    page = text(ops.get(url))
    assert "掲載を再開する" in page and "表示されていません" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(url, {"action": "restore"})
    assert response.status_code == 302
    assert own_listing(specialist).status == S.PUBLISHED
    assert Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    transitions = list(ListingTransition.objects.filter(listing=listing).values_list("to_status"))
    assert transitions[:2] == [(S.PUBLISHED,), (S.SUSPENDED,)]


def test_restore_of_a_published_listing_is_refused_with_a_message(ops, specialist):
    listing = own_listing(specialist)
    response = ops.post(f"/ops/listings/{listing.pk}/", {"action": "restore"}, follow=True)
    assert "この操作は現在の掲載状態（掲載中）ではできません。" in text(response)


# ---------------------------------------------------------------- registry


def test_registry_search_by_number_name_and_status(ops, specialist):
    create_specialists(
        make_input(registration_number="300010", name="高橋 誠", name_kana="タカハシ マコト"),
        make_input(registration_number="300011", name="田中 美咲", status="expired"),
    )
    page = text(ops.get("/ops/registry/?q=100001"))
    assert "100001" in page and "300010" not in page
    by_kana = text(ops.get("/ops/registry/?q=タカハシマコト"))
    assert "300010" in by_kana and "300011" not in by_kana
    expired = text(ops.get("/ops/registry/?status=expired"))
    assert "300011" in expired and "300010" not in expired


def test_inviting_from_a_record_page_sends_an_email(
    ops, operator, django_capture_on_commit_callbacks
):
    create_specialists(make_input(registration_number="300020", name="高橋 誠"))
    record = RegistryRecord.objects.get(registration_number="300020")
    url = f"/ops/registry/{record.pk}/"
    assert "アクティブリストへの招待を送る" in text(ops.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(url, {"email": "Takahashi@Example.JP"})
    assert response.status_code == 302
    invitation = Invitation.objects.get(record=record)
    assert (invitation.email, invitation.created_by) == ("takahashi@example.jp", operator)
    assert delivered()[0].to == ["takahashi@example.jp"]
    page = text(ops.get(url))
    assert "takahashi@example.jp" in page and "未使用" in page
    assert invitation.token_hash not in page


def test_inviting_a_record_that_has_an_account_shows_an_error(ops, specialist):
    response = ops.post(f"/ops/registry/{specialist.record_id}/", {"email": "new@example.jp"})
    assert response.status_code == 200
    assert "この登録番号にはすでにアカウントがあります。" in text(response)
    assert not Invitation.objects.exists()
    assert delivered() == []


def test_inviting_needs_a_valid_address(ops):
    create_specialists(make_input(registration_number="300021"))
    record = RegistryRecord.objects.get(registration_number="300021")
    response = ops.post(f"/ops/registry/{record.pk}/", {"email": "not-an-address"})
    assert 'aria-describedby="id_email_helptext id_email_error"' in text(response)
    assert not Invitation.objects.exists()


# ------------------------------------------------------------ institutions


def test_creating_an_institution_sends_an_email(ops, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(
            "/ops/institutions/new/",
            {
                "organization": "サンプル商工会議所",
                "display_name": "相談 窓口",
                "email": "Soudan@CCI.example.jp",
            },
        )
    assert response.status_code == 302
    user = User.objects.get(email="soudan@cci.example.jp")
    assert (user.role, user.organization) == (Role.INSTITUTION, "サンプル商工会議所")
    assert delivered()[0].to == ["soudan@cci.example.jp"]
    page = text(ops.get("/ops/institutions/"))
    assert "サンプル商工会議所" in page and "soudan@cci.example.jp" in page


def test_creating_an_institution_with_a_taken_address_shows_the_error_on_the_field(ops, sme):
    response = ops.post(
        "/ops/institutions/new/",
        {"organization": "商工会", "display_name": "担当", "email": sme.email},
    )
    assert response.status_code == 200
    page = text(response)
    assert "このメールアドレスはすでに登録されています。" in page
    assert 'href="#id_email"' in page


# ---------------------------------------------------------------- criteria


def test_criteria_edit_is_audited_and_changes_the_evaluation(ops, operator):
    user = submitted_specialist()
    listing = own_listing(user)
    assert criteria_met(evaluate_criteria(listing, TODAY))
    form = {
        "require_active_registration": "on",
        "require_courses_current": "on",
        "min_themes": "1",
        "min_regions": "1",
        "require_contact": "on",
        "min_profile_chars": "500",
        "require_employer_permission": "on",
    }
    response = ops.post("/ops/criteria/", form)
    assert response.status_code == 302
    assert ListingCriteria.current().min_profile_chars == 500
    event = AuditEvent.objects.get(action="listings.criteria_update")
    assert event.actor == operator
    assert event.data == {"changes": {"min_profile_chars": [100, 500]}}
    assert not criteria_met(evaluate_criteria(listing, TODAY))
    page = text(ops.get("/ops/criteria/"))
    assert "最近の変更" in page and operator.email in page
    # The same form again changes nothing and writes no event.
    ops.post("/ops/criteria/", form)
    assert AuditEvent.objects.filter(action="listings.criteria_update").count() == 1


def test_criteria_form_refuses_negative_numbers(ops):
    response = ops.post("/ops/criteria/", {"min_themes": "-1", "min_regions": "1",
                                           "min_profile_chars": "100"})  # fmt: skip
    assert response.status_code == 200
    assert "入力内容を確認してください。" in text(response)
    assert ListingCriteria.current().min_themes == 1


# ----------------------------------------------------------------- history


def test_history_page_shows_before_and_after_and_who(ops, specialist, operator):
    listing = own_listing(specialist)
    update_listing(
        listing,
        ListingChanges(values={"phone": "03-1234-5678"}, sets={"themes": {1, 3}}),
        actor=specialist,
    )
    approve_change(listing, actor=operator, revision_id=listing.revisions.get().pk, today=TODAY)
    page = text(ops.get(f"/ops/history/listing/{listing.pk}/"))
    entries = [e.split("</section>")[0] for e in page.split('class="card history-entry"')[1:]]
    # Newest first: the approval of the gated change, then the edit itself.
    assert "審査対象の項目の変更を承認" in entries[0]
    assert operator.email in entries[0]
    assert "追加：クラウドサービスの安全利用" in entries[0]
    edit = entries[1]
    assert "本人による編集" in edit
    assert specialist.email in edit
    assert "電話番号" in edit and "03-1234-5678" in edit
    # The themes changed only with the approval; the edit itself applied the phone.
    assert "支援実績のある指導テーマ" not in edit
    assert (
        '<td class="before prose" data-label="変更前">情報セキュリティ規程の整備</td>' in entries[0]
    )
    assert "情報セキュリティ規程の整備、クラウドサービスの安全利用" in entries[0]
    # The bulk creation names the command that wrote it.
    assert "一括取り込み" in page and "tests" in page


def test_record_history_shows_registry_changes(ops):
    item = make_input(registration_number="300030", name="佐藤 健太")
    create_specialists(item)
    create_specialists(dataclasses.replace(item, name="佐藤 健二", home_prefecture="27"))
    record = RegistryRecord.objects.get(registration_number="300030")
    page = text(ops.get(f"/ops/history/record/{record.pk}/"))
    assert "佐藤 健太" in page and "佐藤 健二" in page
    assert "東京都" in page and "大阪府" in page


def test_listing_changes_as_plain_data(specialist):
    listing = own_listing(specialist)
    update_listing(
        listing,
        ListingChanges(values={"phone": "03-1234-5678"}, sets={"prefectures": {"13", "27"}}),
        actor=specialist,
    )
    entries = listing_changes(listing)
    assert [e.kind for e in entries] == ["~", "+"]
    newest, created = entries
    assert newest.who == specialist.email
    by_field = {c.field: c for c in newest.changes}
    assert {"phone", "prefectures"} <= set(by_field)  # and updated_at, if the clock moved
    assert (by_field["phone"].old, by_field["phone"].new) == ("—", "03-1234-5678")
    regions = by_field["prefectures"]
    assert (regions.old, regions.new, regions.added, regions.removed) == (
        "東京都",
        "東京都、大阪府",
        ("大阪府",),
        (),
    )
    # The first snapshot lists what the listing started with.
    assert created.who == "tests"
    assert {"themes", "prefectures", "profile", "email"} <= {c.field for c in created.changes}


def test_record_changes_as_plain_data():
    item = make_input(registration_number="300031", renewal_count=0)
    create_specialists(item)
    create_specialists(dataclasses.replace(item, renewal_count=1, status="expired"))
    record = RegistryRecord.objects.get(registration_number="300031")
    newest = record_changes(record)[0]
    assert {(c.field, c.old, c.new) for c in newest.changes} == {
        ("renewal_count", "0", "1"),
        ("status", "登録中", "失効"),
    }


def test_changes_since_published_compares_a_resubmitted_listing_with_its_live_version():
    user = make_specialist_user("100010", profile=LONG_PROFILE)
    listing = own_listing(user)
    withdraw_listing(listing, actor=user)
    reopen_listing(listing, actor=user)
    update_listing(listing, ListingChanges(sets={"themes": {1, 2}}), actor=user)
    submit_listing(listing, actor=user, today=TODAY)
    changes = changes_since_published(listing)
    assert [c.field for c in changes] == ["themes"]
    assert changes[0].added == ("情報資産の洗い出しとリスク分析",)


def test_changes_since_published_is_none_for_a_first_submission():
    create_specialists(make_input(registration_number="300040", profile=LONG_PROFILE))
    listing = Listing.objects.get(record__registration_number="300040")
    Listing.objects.filter(pk=listing.pk).update(status=S.DRAFT)  # as if never published
    Listing.history.filter(id=listing.pk).update(status=S.DRAFT)
    assert changes_since_published(listing) is None


# ------------------------------------------------------------------- admin


def test_admin_shows_listing_history_and_keeps_status_read_only(ops, specialist):
    listing = own_listing(specialist)
    assert ops.get(f"/admin/listings/listing/{listing.pk}/history/").status_code == 200
    change = text(ops.get(f"/admin/listings/listing/{listing.pk}/change/"))
    assert 'name="status"' not in change
    assert f"/ops/listings/{listing.pk}/" in change
    version = listing.history.first()
    url = f"/admin/listings/listing/{listing.pk}/history/{version.history_id}/"
    assert ops.get(url).status_code == 200
    assert ops.post(url, {}).status_code == 403


def test_admin_transitions_are_read_only(ops):
    submitted_specialist()
    transition = ListingTransition.objects.first()
    assert ops.get("/admin/listings/listingtransition/").status_code == 200
    assert ops.get("/admin/listings/listingtransition/add/").status_code == 403
    url = f"/admin/listings/listingtransition/{transition.pk}/delete/"
    assert ops.get(url).status_code == 403
    assert ops.get("/admin/listings/listingcriteria/").status_code == 200
    assert ops.get("/admin/registry/registryrecord/").status_code == 200
