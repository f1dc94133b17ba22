"""The renewal moment prompts the Active List (issue 16, section 3): the
30- and 15-day renewal reminders and the "renewal approved" mail invite a
registrant without a listing to list, and tell one with a listing when it was
last updated, with a link to confirm it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sekispe.listings.models import Listing, ListingStatus
from sekispe.listings.services import CourseInput
from sekispe.registrant_requests.models import RequestKind
from sekispe.registrant_requests.reminders import send_reminders
from sekispe.registrant_requests.services import approve_request, submit_request
from tests.factories import make_specialist_user
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

LISTING_URL = "http://127.0.0.1:8000/me/listing/"
INVITATION = "アクティブリストに掲載すると、相談先をさがしている中小企業から"
# Every course of the period ending 2027-03-31 (deadline 2027-01-30) done.
DONE = (
    ("common", dt.date(2024, 6, 1)),
    ("common", dt.date(2025, 6, 1)),
    ("common", dt.date(2026, 6, 1)),
    ("practical", dt.date(2025, 9, 1)),
)


def registrant(number: str, *, listed: bool, updated: dt.date | None = None):
    courses = tuple(CourseInput(kind, day, "IPA", "P-1" if kind == "practical" else "")
                    for kind, day in DONE)  # fmt: skip
    user = make_specialist_user(number, courses=courses)
    listing = Listing.objects.get(record=user.record)
    if not listed:
        listing.delete()
    elif updated is not None:
        at = dt.datetime.combine(updated, dt.time(10), tzinfo=timezone.get_current_timezone())
        Listing.objects.filter(pk=listing.pk).update(updated_at=at)
    return user


def mail_to(address: str, subject_part: str):
    [message] = [m for m in delivered() if m.to == [address] and subject_part in m.subject]
    return message.body


@pytest.mark.parametrize("today", [dt.date(2026, 12, 31), dt.date(2027, 1, 15)])
def test_a_renewal_reminder_invites_a_registrant_without_a_listing(today):
    user = registrant("600001", listed=False)
    send_reminders(today)
    body = mail_to(user.email, "更新申請の期限")
    assert "■ アクティブリストについて" in body
    assert INVITATION in body
    assert LISTING_URL in body
    assert "最終更新日" not in body
    assert "\n\n\n" not in body  # one blank line between paragraphs


@pytest.mark.parametrize("today", [dt.date(2026, 12, 31), dt.date(2027, 1, 15)])
def test_a_renewal_reminder_asks_a_listed_registrant_to_confirm_their_listing(today):
    user = registrant("600002", listed=True, updated=dt.date(2026, 6, 1))
    send_reminders(today)
    body = mail_to(user.email, "更新申請の期限")
    assert "アクティブリストの掲載情報（掲載中）の最終更新日は 2026年6月1日 です。" in body
    assert "「内容に変更なし（確認）」" in body
    assert LISTING_URL in body
    assert INVITATION not in body


def test_a_withdrawn_listing_is_invited_back(operator):
    user = registrant("600003", listed=True)
    Listing.objects.filter(record=user.record).update(status=ListingStatus.WITHDRAWN)
    send_reminders(dt.date(2026, 12, 31))
    assert INVITATION in mail_to(user.email, "更新申請の期限")


def _approve_renewal(user, operator, django_capture_on_commit_callbacks) -> str:
    req = submit_request(user.record, RequestKind.RENEWAL, {}, actor=user)
    with django_capture_on_commit_callbacks(execute=True):
        approve_request(req, actor=operator)
    [message] = [m for m in delivered() if m.to == [user.email]]
    return message.body


def test_the_renewal_approved_mail_invites_a_registrant_without_a_listing(
    operator, django_capture_on_commit_callbacks
):
    user = registrant("600004", listed=False)
    body = _approve_renewal(user, operator, django_capture_on_commit_callbacks)
    assert "「承認」としました" in body
    assert INVITATION in body and LISTING_URL in body


def test_the_renewal_approved_mail_gives_the_listings_last_update(
    operator, django_capture_on_commit_callbacks
):
    user = registrant("600005", listed=True, updated=dt.date(2026, 9, 15))
    body = _approve_renewal(user, operator, django_capture_on_commit_callbacks)
    assert "最終更新日は 2026年9月15日 です。" in body
    assert "\n\n\n" not in body
    assert LISTING_URL in body
    assert INVITATION not in body


def test_other_decisions_say_nothing_about_the_active_list(
    operator, django_capture_on_commit_callbacks
):
    user = registrant("600006", listed=False)
    req = submit_request(user.record, RequestKind.CARD_REISSUE, {"reason": "lost"}, actor=user)
    with django_capture_on_commit_callbacks(execute=True):
        approve_request(req, actor=operator)
    [message] = [m for m in delivered() if m.to == [user.email]]
    assert "アクティブリスト" not in message.body


def test_the_paragraph_costs_no_query_per_registrant(django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sekispe.registrant_requests.reminders import find_due

    today = dt.date(2026, 12, 31)
    registrant("600101", listed=True)
    with CaptureQueriesContext(connection) as one:
        assert len(find_due(today)) == 1
    for n in range(2, 8):
        registrant(f"60010{n}", listed=n % 2 == 0)
    with django_assert_max_num_queries(len(one.captured_queries)):
        due = find_due(today)
    assert len(due) == 7
    assert sum(item.context["active_list"]["has_listing"] for item in due) == 4
