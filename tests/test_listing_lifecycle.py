"""The listing lifecycle at the service level: transitions, criteria, freshness."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from sekispe.audit.models import AuditEvent
from sekispe.listings import lifecycle
from sekispe.listings.lifecycle import TRANSITIONS, ListingChanges, ListingError
from sekispe.listings.maintenance import run_listing_maintenance
from sekispe.listings.models import Availability, Listing, ListingStatus, ListingTransition
from sekispe.listings.services import write_listings
from sekispe.registry.models import RegistryRecord
from tests.factories import TODAY, make_input, make_user
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
    with time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def actor(db):
    return make_user("operator", "reviewer@ipa.example.jp")


def make_listing(status: str = S.PUBLISHED, *, with_account: bool = True, **fields) -> Listing:
    fields.setdefault("profile", LONG_PROFILE)
    item = make_input(**fields)
    write_listings([item], actor_label="tests", status=status)
    record = RegistryRecord.objects.get(registration_number=item.registration_number)
    if with_account:
        make_user("specialist", f"riss-{item.registration_number}@example.jp", record=record)
    return Listing.objects.select_related("record").get(record=record)


# Every action a caller can take, with the arguments it needs to succeed.
ACTIONS = {
    "submit": lambda listing, actor: lifecycle.submit_listing(listing, actor=actor, today=TODAY),
    "approve": lambda listing, actor: lifecycle.approve_listing(listing, actor=actor, today=TODAY),
    "send_back": lambda listing, actor: lifecycle.send_back_listing(
        listing, actor=actor, message="もう少し具体的に書いてください。"
    ),
    "suspend": lambda listing, actor: lifecycle.suspend_listing(
        listing, actor=actor, reason="苦情の確認中です。"
    ),
    "restore": lambda listing, actor: lifecycle.restore_listing(listing, actor=actor),
    "withdraw": lambda listing, actor: lifecycle.withdraw_listing(listing, actor=actor),
    "reopen": lambda listing, actor: lifecycle.reopen_listing(listing, actor=actor),
}


def test_the_table_covers_every_action():
    # A gated edit no longer moves the status (issue 15, point 5): no "resubmit".
    assert set(ACTIONS) == set(TRANSITIONS)


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("status", S.values)
def test_every_status_and_action(status, action, actor):
    listing = make_listing(status)
    sources, target = TRANSITIONS[action]
    transitions = ListingTransition.objects.filter(listing=listing).count()
    if status in sources:
        result = ACTIONS[action](listing, actor)
        assert result.status == target
        listing.refresh_from_db()
        assert listing.status == target
        assert ListingTransition.objects.filter(listing=listing).count() == transitions + 1
    else:
        with pytest.raises(ListingError):
            ACTIONS[action](listing, actor)
        listing.refresh_from_db()
        assert listing.status == status
        assert ListingTransition.objects.filter(listing=listing).count() == transitions


# --- criteria -----------------------------------------------------------------


def test_submit_refused_while_the_profile_is_short(actor):
    listing = make_listing(S.DRAFT, profile="短いプロフィールです。")
    with pytest.raises(ListingError) as exc:
        lifecycle.submit_listing(listing, actor=actor, today=TODAY)
    assert exc.value.failed == ["profile"]
    listing.refresh_from_db()
    assert listing.status == S.DRAFT


def test_submit_refused_for_company_affiliation_without_employer_permission(actor):
    listing = make_listing(S.DRAFT, affiliation="company", company_name="サンプル株式会社")
    with pytest.raises(ListingError) as exc:
        lifecycle.submit_listing(listing, actor=actor, today=TODAY)
    assert exc.value.failed == ["employer"]
    lifecycle.update_listing(
        listing, ListingChanges(values={"employer_permits_outside_work": True}), actor=actor
    )
    assert lifecycle.submit_listing(listing, actor=actor, today=TODAY).status == S.SUBMITTED


def test_submit_lists_every_failed_criterion(actor):
    listing = make_listing(S.DRAFT, profile="", email="", prefectures=(), themes=())
    with pytest.raises(ListingError) as exc:
        lifecycle.submit_listing(listing, actor=actor, today=TODAY)
    assert set(exc.value.failed) == {"profile", "contact", "regions", "themes"}


def test_approve_rechecks_the_criteria(actor):
    listing = make_listing(S.SUBMITTED)
    lifecycle.update_listing(listing, ListingChanges(values={"profile": "短い"}), actor=actor)
    with pytest.raises(ListingError) as exc:
        lifecycle.approve_listing(listing, actor=actor, today=TODAY)
    assert exc.value.failed == ["profile"]
    listing.refresh_from_db()
    assert listing.status == S.SUBMITTED


def test_approve_refused_once_the_registration_has_expired(actor):
    listing = make_listing(S.SUBMITTED)
    later = listing.record.expires_on + dt.timedelta(days=1)
    with pytest.raises(ListingError) as exc:
        lifecycle.approve_listing(listing, actor=actor, today=later)
    assert "registration" in exc.value.failed


# --- operator messages ------------------------------------------------------------


def test_send_back_requires_a_message_and_emails_the_specialist(
    actor, django_capture_on_commit_callbacks
):
    listing = make_listing(S.SUBMITTED)
    with pytest.raises(ListingError):
        lifecycle.send_back_listing(listing, actor=actor, message="   ")
    listing.refresh_from_db()
    assert listing.status == S.SUBMITTED
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.send_back_listing(listing, actor=actor, message="実績を具体的に書いてください。")
    listing.refresh_from_db()
    assert listing.status == S.DRAFT
    assert listing.status_note == "実績を具体的に書いてください。"
    assert len(delivered()) == 1
    assert delivered()[0].to == [listing.record.account.email]
    assert "実績を具体的に書いてください。" in delivered()[0].body
    # Resubmitting clears the old message.
    lifecycle.submit_listing(listing, actor=actor, today=TODAY)
    listing.refresh_from_db()
    assert listing.status_note == ""


def test_suspend_requires_a_reason(actor, django_capture_on_commit_callbacks):
    listing = make_listing(S.PUBLISHED)
    with pytest.raises(ListingError):
        lifecycle.suspend_listing(listing, actor=actor, reason="")
    listing.refresh_from_db()
    assert listing.status == S.PUBLISHED
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.suspend_listing(listing, actor=actor, reason="連絡先に誤りがあります。")
    listing.refresh_from_db()
    assert (listing.status, listing.status_note) == (S.SUSPENDED, "連絡先に誤りがあります。")
    assert len(delivered()) == 1
    assert not Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()


# --- edits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        ListingChanges(sets={"themes": {1, 2}}),
        ListingChanges(sets={"industries": {"E"}}),
        ListingChanges(values={"track_record": "製造業10社の規程整備を支援"}),
        ListingChanges(values={"affiliation": "company", "company_name": "サンプル株式会社"}),
        ListingChanges(values={"employer_permits_outside_work": True}),
    ],
)
def test_gated_edit_of_a_published_listing_waits_for_review_and_stays_live(changes, actor):
    # Issue 15, point 5: the approved version stays public while the change waits.
    listing = make_listing(S.PUBLISHED)
    result = lifecycle.update_listing(listing, changes, actor=actor)
    assert result.resubmitted
    listing.refresh_from_db()
    assert listing.status == S.PUBLISHED
    assert Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    assert listing.revisions.get().status == "pending"
    transition = ListingTransition.objects.filter(listing=listing).first()
    assert (transition.from_status, transition.to_status) == (S.PUBLISHED, S.PUBLISHED)
    assert transition.note.startswith("gated: ")


@pytest.mark.parametrize(
    "changes",
    [
        ListingChanges(values={"phone": "03-1234-5678"}),
        ListingChanges(values={"email": "new@example.jp", "web": "https://example.jp/"}),
        ListingChanges(sets={"prefectures": {"13", "14"}}),
        ListingChanges(fees={"visit": 20000}),
        ListingChanges(values={"profile": LONG_PROFILE + "追記します。"}),
        ListingChanges(values={"capacity": 3}),
    ],
)
def test_non_gated_edit_keeps_the_listing_published(changes, actor):
    listing = make_listing(S.PUBLISHED)
    result = lifecycle.update_listing(listing, changes, actor=actor)
    assert not result.resubmitted
    listing.refresh_from_db()
    assert listing.status == S.PUBLISHED
    assert Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()


def test_availability_change_keeps_the_listing_published(actor):
    listing = make_listing(S.PUBLISHED)
    lifecycle.set_availability(listing, actor=actor, accepting=False, reason="繁忙期", today=TODAY)
    listing.refresh_from_db()
    assert listing.status == S.PUBLISHED
    assert listing.availability == Availability.NOT_ACCEPTING
    assert listing.not_accepting_reason == "繁忙期"


def test_gated_edit_of_a_draft_stays_a_draft(actor):
    listing = make_listing(S.DRAFT)
    result = lifecycle.update_listing(listing, ListingChanges(sets={"themes": {2}}), actor=actor)
    assert not result.resubmitted
    listing.refresh_from_db()
    assert listing.status == S.DRAFT


@pytest.mark.parametrize(
    "changes",
    [
        ListingChanges(values={"name": "x"}),
        ListingChanges(values={"registration_number": "999999"}),
        ListingChanges(values={"status": "published"}),
        ListingChanges(values={"updated_at": "2030-01-01"}),
        ListingChanges(sets={"record": {1}}),
    ],
)
def test_update_with_an_unknown_key_is_refused(changes, actor):
    listing = make_listing(S.DRAFT)
    history = listing.history.count()
    with pytest.raises(ListingError) as exc:
        lifecycle.update_listing(listing, changes, actor=actor)
    assert exc.value.failed
    assert listing.history.count() == history


def test_withdrawn_listing_cannot_be_edited(actor):
    listing = make_listing(S.WITHDRAWN)
    with pytest.raises(ListingError):
        lifecycle.update_listing(
            listing, ListingChanges(values={"phone": "03-0000-0000"}), actor=actor
        )


# --- records of each change ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.DRAFT, "submit"),
        (S.SUBMITTED, "approve"),
        (S.SUBMITTED, "send_back"),
        (S.PUBLISHED, "suspend"),
        (S.SUSPENDED, "restore"),
        (S.PUBLISHED, "withdraw"),
        (S.WITHDRAWN, "reopen"),
    ],
)
def test_each_transition_writes_transition_audit_and_history(status, action, actor):
    listing = make_listing(status)
    history = listing.history.count()
    ACTIONS[action](listing, actor)
    transition = ListingTransition.objects.filter(listing=listing).first()
    assert (transition.from_status, transition.to_status) == (status, TRANSITIONS[action][1])
    assert transition.actor == actor
    event = AuditEvent.objects.filter(action=f"listings.{action}").get()
    assert event.target_id == str(listing.pk)
    assert event.actor == actor
    assert event.data["from"] == status
    assert listing.history.count() == history + 1


def test_edit_and_confirm_write_audit_and_history(actor):
    listing = make_listing(S.PUBLISHED)
    history = listing.history.count()
    lifecycle.update_listing(listing, ListingChanges(values={"phone": "03-1111-2222"}), actor=actor)
    lifecycle.confirm_listing(listing, actor=actor)
    assert listing.history.count() == history + 2
    assert AuditEvent.objects.filter(action="listings.update", target_id=str(listing.pk)).exists()
    assert AuditEvent.objects.filter(action="listings.confirm", target_id=str(listing.pk)).exists()


# --- withdrawal ---------------------------------------------------------------------------


def test_withdraw_hides_at_once_and_keeps_the_registry_record(actor):
    listing = make_listing(S.PUBLISHED)
    assert Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    lifecycle.withdraw_listing(listing, actor=actor)
    assert not Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    assert RegistryRecord.objects.filter(pk=listing.record_id).exists()
    listing.refresh_from_db()
    assert listing.status == S.WITHDRAWN
    # Reopening goes back through review: a draft, still hidden.
    lifecycle.reopen_listing(listing, actor=actor)
    listing.refresh_from_db()
    assert listing.status == S.DRAFT
    assert not Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()


# --- availability and freshness ---------------------------------------------------------------


def test_availability_resumes_on_the_set_date(actor):
    listing = make_listing(S.PUBLISHED)
    resumes = TODAY + dt.timedelta(days=5)
    lifecycle.set_availability(
        listing, actor=actor, accepting=False, reason="出張中", resumes_on=resumes, today=TODAY
    )
    listing.refresh_from_db()
    assert listing.availability_until == resumes - dt.timedelta(days=1)
    assert not listing.is_accepting(resumes - dt.timedelta(days=1))
    assert listing.is_accepting(resumes)

    run_listing_maintenance(resumes - dt.timedelta(days=1))
    listing.refresh_from_db()
    assert listing.availability == Availability.NOT_ACCEPTING

    report = run_listing_maintenance(resumes)
    assert report.availability_flipped == 1
    listing.refresh_from_db()
    assert listing.availability == Availability.ACCEPTING
    assert listing.availability_until is None
    assert listing.not_accepting_reason == ""
    assert run_listing_maintenance(resumes).availability_flipped == 0


def test_resume_date_must_be_in_the_future(actor):
    listing = make_listing(S.PUBLISHED)
    with pytest.raises(ListingError):
        lifecycle.set_availability(
            listing, actor=actor, accepting=False, resumes_on=TODAY, today=TODAY
        )
    listing.refresh_from_db()
    assert listing.availability == Availability.ACCEPTING


def _age(listing: Listing, days: int) -> None:
    """Pretend the last update was `days` days before TODAY (test setup, not a service write)."""
    updated = dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(12), tzinfo=dt.UTC)
    Listing.objects.filter(pk=listing.pk).update(updated_at=updated)
    listing.refresh_from_db()


def test_stale_email_is_sent_once_at_180_days(django_capture_on_commit_callbacks):
    listing = make_listing(S.PUBLISHED)
    _age(listing, 179)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_listing_maintenance(TODAY).stale_notified == 0
    assert delivered() == []

    _age(listing, 181)
    with django_capture_on_commit_callbacks(execute=True):
        first = run_listing_maintenance(TODAY)
        second = run_listing_maintenance(TODAY)
    assert (first.stale_notified, second.stale_notified) == (1, 0)
    assert len(delivered()) == 1
    assert delivered()[0].to == [listing.record.account.email]
    # Stale is a warning only: the listing is still public.
    assert Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()


def test_hidden_after_365_days_and_back_after_confirm(actor, django_capture_on_commit_callbacks):
    listing = make_listing(S.PUBLISHED, expires_on=dt.date(2029, 3, 31))
    _age(listing, 364)
    assert Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    _age(listing, 366)
    assert not Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        report = run_listing_maintenance(TODAY)
        again = run_listing_maintenance(TODAY)
    # One e-mail for the listing that crossed both lines: the hidden notice.
    assert (report.hidden_notified, report.stale_notified, again.hidden_notified) == (1, 0, 0)
    assert len(delivered()) == 1

    lifecycle.confirm_listing(listing, actor=actor)
    listing.refresh_from_db()
    assert listing.status == S.PUBLISHED
    assert listing.updated_at.date() == TODAY
    assert listing.hidden_notified_at is None
    assert Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()
