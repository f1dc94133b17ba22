"""A live listing stays live while its gated edit is reviewed (issue 15, point 5).

The Listing row is the last approved version; a gated change waits as a
ListingRevision until an operator approves it (it replaces the live version)
or sends it back (the live version stays).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekispe.audit.models import AuditEvent
from sekispe.listings import lifecycle
from sekispe.listings.lifecycle import ListingChanges, ListingError
from sekispe.listings.models import (
    Listing,
    ListingRevision,
    ListingStatus,
    RevisionStatus,
)
from sekispe.listings.revisions import GATED_SCALARS, GATED_SETS, live_state
from sekispe.outbox.models import OutgoingMail
from sekispe.search.services import get_specialist
from tests.factories import TODAY, make_specialist_user, text
from tests.outbox_support import delivered
from tests.test_self_service import valid_post

pytestmark = pytest.mark.django_db

S = ListingStatus
R = RevisionStatus
TRACK = "製造業10社の情報セキュリティ規程の整備を支援しました。"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        yield


def listing_of(user) -> Listing:
    return Listing.objects.select_related("record").get(record=user.record)


def visible(listing: Listing) -> bool:
    return Listing.objects.visible(TODAY).filter(pk=listing.pk).exists()


def public_themes(number: str) -> list[int]:
    """The themes the public search index (detail page, API) shows for a number."""
    return list(get_specialist(number, today=TODAY)["themes"])


def propose_themes(user, themes: set[int]) -> lifecycle.UpdateResult:
    return lifecycle.update_listing(
        listing_of(user), ListingChanges(sets={"themes": themes}), actor=user
    )


# ------------------------------------------------------------------ services


def test_gated_edit_keeps_the_live_version_in_search_and_on_the_detail_page(client, specialist):
    listing = listing_of(specialist)
    assert public_themes("100001") == [1]
    result = propose_themes(specialist, {1, 2})
    assert result.resubmitted and result.pending == ("themes",)
    listing.refresh_from_db()
    assert listing.status == S.PUBLISHED and visible(listing)
    assert set(listing.themes.values_list("pk", flat=True)) == {1}
    assert public_themes("100001") == [1]
    page = text(client.get("/specialists/100001/"))
    assert "情報資産の洗い出しとリスク分析" not in page
    assert client.get("/api/v1/specialists/100001").json()["themes"] == [1]
    revision = listing.revisions.get()
    assert (revision.status, revision.sets["themes"]) == (R.PENDING, [1, 2])
    assert AuditEvent.objects.filter(action="listings.change_submitted").count() == 1


def test_approve_replaces_the_live_version(
    client, specialist, operator, django_capture_on_commit_callbacks
):
    propose_themes(specialist, {1, 2})
    listing = listing_of(specialist)
    revision = listing.revisions.get()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.approve_change(listing, actor=operator, revision_id=revision.pk, today=TODAY)
    listing.refresh_from_db()
    assert set(listing.themes.values_list("pk", flat=True)) == {1, 2}
    assert listing.status == S.PUBLISHED and visible(listing)
    assert public_themes("100001") == [1, 2]
    assert "情報資産の洗い出しとリスク分析" in text(client.get("/specialists/100001/"))
    revision.refresh_from_db()
    assert revision.status == R.APPROVED and revision.closed_at and revision.decided_by == operator
    event = AuditEvent.objects.get(action="listings.change_approved")
    assert event.data["before"]["sets"]["themes"] == [1]
    assert event.data["after"]["sets"]["themes"] == [1, 2]
    assert listing.history.first().history_change_reason == "approve_change"
    assert [m.to for m in delivered()] == [[specialist.email]]
    assert "変更を承認しました" in delivered()[0].subject


def test_send_back_keeps_the_live_version_and_the_specialist_can_resubmit(
    client_for, specialist, operator, django_capture_on_commit_callbacks
):
    propose_themes(specialist, {1, 2})
    listing = listing_of(specialist)
    revision = listing.revisions.get()
    message = "テーマ②の支援実績を具体的に書いてください。"
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.send_back_change(
            listing, actor=operator, revision_id=revision.pk, message=message
        )
    listing.refresh_from_db()
    assert set(listing.themes.values_list("pk", flat=True)) == {1}
    assert listing.status == S.PUBLISHED and visible(listing)
    revision.refresh_from_db()
    assert (revision.status, revision.note, revision.closed_at) == (R.RETURNED, message, None)
    assert message in delivered()[0].body
    # The specialist sees the message and their returned change, prefilled.
    page = text(client_for(specialist).get(reverse("me:listing")))
    assert "変更が差し戻されました" in page and message in page
    assert '<input type="checkbox" name="themes" value="2" id="id_themes_1" checked>' in page
    # Resubmitting opens a new pending revision and closes the returned one.
    result = lifecycle.update_listing(
        listing,
        ListingChanges(sets={"themes": {1, 2}}, values={"track_record": TRACK}),
        actor=specialist,
    )
    assert result.resubmitted
    revision.refresh_from_db()
    assert revision.status == R.RETURNED and revision.closed_at is not None
    new = listing.revisions.get(closed_at__isnull=True)
    assert new.status == R.PENDING and new.values["track_record"] == TRACK


def test_non_gated_edit_applies_at_once_and_leaves_the_pending_change(specialist):
    propose_themes(specialist, {1, 3})
    listing = listing_of(specialist)
    result = lifecycle.update_listing(
        listing, ListingChanges(values={"phone": "03-9999-0000"}), actor=specialist
    )
    assert not result.resubmitted and result.pending == ("themes",)
    listing.refresh_from_db()
    assert listing.phone == "03-9999-0000"
    assert set(listing.themes.values_list("pk", flat=True)) == {1}
    assert listing.revisions.get().status == R.PENDING


def test_only_one_open_revision_per_listing(specialist):
    propose_themes(specialist, {1, 2})
    propose_themes(specialist, {1, 3})
    listing = listing_of(specialist)
    assert listing.revisions.filter(closed_at__isnull=True).count() == 1
    statuses = list(
        listing.revisions.order_by("submitted_at", "id").values_list("status", flat=True)
    )
    assert statuses == [R.SUPERSEDED, R.PENDING]
    assert listing.revisions.get(status=R.PENDING).sets["themes"] == [1, 3]
    # Saving the same proposal again changes nothing.
    assert not propose_themes(specialist, {1, 3}).resubmitted
    assert listing.revisions.count() == 2
    # The database refuses a second open one whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        ListingRevision.objects.create(listing=listing, values={}, sets={})


def test_putting_the_live_values_back_cancels_the_pending_change(specialist):
    propose_themes(specialist, {1, 2})
    result = propose_themes(specialist, {1})
    assert not result.resubmitted and result.pending == ()
    assert listing_of(specialist).revisions.get().status == R.CANCELLED


def test_withdrawing_cancels_the_pending_change(specialist):
    propose_themes(specialist, {1, 2})
    lifecycle.withdraw_listing(listing_of(specialist), actor=specialist)
    assert listing_of(specialist).revisions.get().status == R.CANCELLED


def test_gated_edits_of_a_listing_that_is_not_live_apply_directly(specialist):
    listing = listing_of(specialist)
    Listing.objects.filter(pk=listing.pk).update(status=S.DRAFT)
    result = propose_themes(specialist, {1, 2})
    assert not result.resubmitted
    assert set(listing.themes.values_list("pk", flat=True)) == {1, 2}
    assert not listing.revisions.exists()


def test_a_revision_id_from_another_listing_is_refused(specialist, other_specialist, operator):
    # Never trust a posted id: it is looked up among this listing's own pending revisions.
    propose_themes(other_specialist, {1, 4})
    propose_themes(specialist, {1, 2})
    other = listing_of(other_specialist).revisions.get()
    mine = listing_of(specialist)
    for forged in (other.pk, "abc", None, -1):
        with pytest.raises(ListingError):
            lifecycle.approve_change(mine, actor=operator, revision_id=forged, today=TODAY)
        with pytest.raises(ListingError):
            lifecycle.send_back_change(mine, actor=operator, revision_id=forged, message="x")
    other.refresh_from_db()
    assert other.status == R.PENDING
    assert set(listing_of(other_specialist).themes.values_list("pk", flat=True)) == {1}


def test_a_superseded_revision_cannot_be_approved(specialist, operator):
    propose_themes(specialist, {1, 2})
    first = listing_of(specialist).revisions.get()
    propose_themes(specialist, {1, 3})
    with pytest.raises(ListingError):
        lifecycle.approve_change(
            listing_of(specialist), actor=operator, revision_id=first.pk, today=TODAY
        )
    assert set(listing_of(specialist).themes.values_list("pk", flat=True)) == {1}


def test_approve_is_refused_when_the_change_breaks_a_criterion(specialist, operator):
    propose_themes(specialist, set())
    listing = listing_of(specialist)
    revision = listing.revisions.get()
    with pytest.raises(ListingError) as exc:
        lifecycle.approve_change(listing, actor=operator, revision_id=revision.pk, today=TODAY)
    assert exc.value.failed == ["themes"]
    assert set(listing.themes.values_list("pk", flat=True)) == {1}
    revision.refresh_from_db()
    assert revision.status == R.PENDING


def test_a_specialist_cannot_touch_another_specialists_revision(
    client_for, specialist, other_specialist
):
    propose_themes(other_specialist, {1, 4})
    other = listing_of(other_specialist).revisions.get()
    client = client_for(specialist)
    # /me/ has no id to forge: a posted revision or record id is ignored.
    response = client.post(
        reverse("me:listing"),
        valid_post(themes=["1"], revision=str(other.pk), record=str(other_specialist.record_id)),
    )
    assert response.status_code in (200, 302)
    other.refresh_from_db()
    assert other.status == R.PENDING and other.sets["themes"] == [1, 4]
    # The operators' decision URL is closed to specialists.
    listing = listing_of(other_specialist)
    response = client.post(
        f"/ops/reviews/{listing.pk}/", {"action": "approve", "revision": str(other.pk)}
    )
    assert response.status_code == 403
    other.refresh_from_db()
    assert other.status == R.PENDING


def test_the_gated_lists_match_the_lifecycle():
    assert frozenset(GATED_SCALARS + GATED_SETS) == lifecycle.GATED_FIELDS
    assert set(GATED_SCALARS) <= set(lifecycle.SCALAR_FIELDS)
    assert set(GATED_SETS) <= set(lifecycle.SET_FIELDS)


# ------------------------------------------------------------------ property

_numbers = itertools.count(700_000)

edit = st.tuples(
    st.just("edit"),
    st.frozensets(st.integers(1, 5), max_size=3),
    st.sampled_from(["", TRACK, "別の実績"]),
)
operation = st.one_of(
    edit,
    st.tuples(st.just("phone"), st.sampled_from(["03-1111-2222", "06-3333-4444"])),
    st.tuples(st.just("approve")),
    st.tuples(st.just("send_back")),
    st.tuples(st.just("approve_stale")),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operation, max_size=10))
def test_the_public_listing_is_always_the_last_approved_version(steps, operator):
    """Any sequence of edits, approvals and send-backs: public == last approved."""
    number = f"{next(_numbers):06d}"
    # Hypothesis replays the global random per example, so make_msgid repeats
    # across examples; earlier examples' mails are of no interest here.
    OutgoingMail.objects.all().delete()
    user = make_specialist_user(number, track_record="")
    listing = listing_of(user)
    approved = {"themes": [1], "track_record": ""}
    pending: dict | None = None
    phone = listing.phone
    stale_ids: list[int] = []
    for step in steps:
        open_revision = listing.revisions.filter(status=R.PENDING).first()
        if step[0] == "edit":
            _op, themes, track = step
            proposal = {"themes": sorted(themes), "track_record": track}
            if open_revision is not None and proposal != pending:
                stale_ids.append(open_revision.pk)
            lifecycle.update_listing(
                listing,
                ListingChanges(sets={"themes": set(themes)}, values={"track_record": track}),
                actor=user,
            )
            pending = None if proposal == approved else proposal
        elif step[0] == "phone":
            lifecycle.update_listing(listing, ListingChanges(values={"phone": step[1]}), actor=user)
            phone = step[1]
        elif step[0] == "approve" and open_revision is not None:
            try:
                lifecycle.approve_change(
                    listing, actor=operator, revision_id=open_revision.pk, today=TODAY
                )
            except ListingError:
                assert pending["themes"] == []  # only an empty theme list breaks a criterion
            else:
                approved, pending = pending, None
        elif step[0] == "send_back" and open_revision is not None:
            lifecycle.send_back_change(
                listing, actor=operator, revision_id=open_revision.pk, message="直してください"
            )
            pending = None
        elif step[0] in ("approve", "send_back", "approve_stale"):
            for stale in stale_ids[-1:] or [0]:
                with pytest.raises(ListingError):
                    lifecycle.approve_change(
                        listing, actor=operator, revision_id=stale, today=TODAY
                    )
        listing.refresh_from_db()
        live = live_state(listing)
        assert {"themes": live.sets["themes"], "track_record": live.values["track_record"]} == (
            approved
        )
        assert listing.phone == phone
        assert listing.status == S.PUBLISHED and visible(listing)
        assert public_themes(number) == approved["themes"]
        opened = listing.revisions.filter(status=R.PENDING)
        assert opened.count() == (0 if pending is None else 1)
        if pending is not None:
            assert opened.get().sets["themes"] == pending["themes"]
        assert listing.revisions.filter(closed_at__isnull=True).count() <= 1


# ------------------------------------------------------------------ pages


def test_a_gated_save_shows_the_confirmation_first_and_saves_nothing(client_for, specialist):
    client = client_for(specialist)
    response = client.post(reverse("me:listing"), valid_post())
    assert response.status_code == 200
    page = text(response)
    assert "審査に出す変更の確認" in page
    assert "掲載中の内容がそのまま公開されます" in page
    assert "支援実績のある指導テーマ" in page
    assert "追加：④" in page or "追加：" in page
    assert "審査に出す" in page and "戻って直す" in page
    # The answers travel on as hidden fields; nothing is saved yet.
    assert '<input type="hidden" name="phone" value="03-1234-5678">' in page
    listing = listing_of(specialist)
    assert not listing.revisions.exists() and listing.phone == ""
    # 「戻って直す」: the form again, with what was typed, still nothing saved.
    back = client.post(reverse("me:listing"), valid_post(back="1"))
    assert back.status_code == 200
    assert 'value="03-1234-5678"' in text(back) and "掲載内容の編集" in text(back)
    assert not listing_of(specialist).revisions.exists()
    # 「審査に出す」: saved; the themes wait, the rest is live at once.
    done = client.post(reverse("me:listing"), valid_post(confirm="1"), follow=True)
    assert done.redirect_chain == [(reverse("me:listing"), 302)]
    listing = listing_of(specialist)
    assert listing.phone == "03-1234-5678" and visible(listing)
    assert listing.revisions.get().status == R.PENDING
    page = text(done)
    assert (
        "掲載中の内容は審査が終わるまでそのまま公開されます。変更した内容（支援実績のある指導テーマ"
        in page
    )
    assert "は運営者の審査後に公開されます。" in page
    # The form now shows the proposal, so a plain re-save needs no new confirmation.
    again = client.post(reverse("me:listing"), valid_post())
    assert again.status_code == 302
    assert listing.revisions.count() == 1


def test_a_non_gated_save_needs_no_confirmation(client_for, specialist):
    listing = listing_of(specialist)
    themes = [str(t) for t in listing.themes.values_list("pk", flat=True)]
    response = client_for(specialist).post(
        reverse("me:listing"),
        valid_post(
            themes=themes,
            syllabus_items=[],
            industries=[],
            qualifications=[],
            track_record=listing.track_record,
            affiliation=listing.affiliation,
        ),
    )
    assert response.status_code == 302
    assert not listing.revisions.exists()
    assert listing_of(specialist).phone == "03-1234-5678"


def test_the_review_queue_and_page_show_the_change_and_decide_it(client_for, specialist, operator):
    propose_themes(specialist, {1, 2})
    listing = listing_of(specialist)
    revision = listing.revisions.get()
    ops = client_for(operator)
    queue = text(ops.get("/ops/reviews/"))
    assert "掲載中の内容の変更" in queue and "100001" in queue
    page = text(ops.get(f"/ops/reviews/{listing.pk}/"))
    assert "掲載中の内容からの変更（審査待ち）" in page
    assert "これまでに掲載された版はありません" not in page
    assert "変更前" in page and "変更後" in page
    assert "追加：情報資産の洗い出しとリスク分析" in page or "追加：②" in page
    assert f'name="revision" value="{revision.pk}"' in page
    response = ops.post(
        f"/ops/reviews/{listing.pk}/", {"action": "approve", "revision": str(revision.pk)}
    )
    assert response.status_code == 302
    assert set(listing.themes.values_list("pk", flat=True)) == {1, 2}
    assert "審査待ちの掲載はありません" in text(ops.get("/ops/reviews/"))


def test_send_back_from_the_review_page_keeps_the_live_version(client_for, specialist, operator):
    propose_themes(specialist, {1, 2})
    listing = listing_of(specialist)
    revision = listing.revisions.get()
    ops = client_for(operator)
    url = f"/ops/reviews/{listing.pk}/"
    empty = ops.post(url, {"action": "send_back", "revision": str(revision.pk), "message": ""})
    assert empty.status_code == 200
    response = ops.post(
        url, {"action": "send_back", "revision": str(revision.pk), "message": "具体的に"}
    )
    assert response.status_code == 302
    revision.refresh_from_db()
    assert revision.status == R.RETURNED
    assert set(listing.themes.values_list("pk", flat=True)) == {1}
    assert visible(listing)


def test_the_dashboard_and_the_listing_page_count_and_link_the_change(
    client_for, specialist, operator
):
    propose_themes(specialist, {1, 2})
    listing = listing_of(specialist)
    ops = client_for(operator)
    assert "審査待ち 1 件" in text(ops.get("/ops/"))
    page = text(ops.get(f"/ops/listings/{listing.pk}/"))
    assert f'<a href="/ops/reviews/{listing.pk}/">審査待ちの変更を審査する</a>' in page
    assert "表示されています" in page


def test_the_preview_shows_the_pending_change_as_it_will_look(client_for, specialist):
    propose_themes(specialist, {1, 2})
    page = text(client_for(specialist).get(reverse("me:preview")))
    assert "審査待ちの変更を含めて表示しています" in page
    assert "情報資産の洗い出しとリスク分析" in page


def test_the_admin_shows_revisions_read_only(client_for, specialist, operator):
    propose_themes(specialist, {1, 2})
    revision = listing_of(specialist).revisions.get()
    admin = client_for(operator)
    operator.is_staff = True
    operator.save(update_fields=["is_staff"])
    assert admin.get("/admin/listings/listingrevision/").status_code == 200
    assert admin.get("/admin/listings/listingrevision/add/").status_code == 403
    assert admin.get(f"/admin/listings/listingrevision/{revision.pk}/delete/").status_code == 403
