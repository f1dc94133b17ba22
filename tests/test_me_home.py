"""`/me/` (issue 16, part 5): the signed-in specialist's front page sums up
their registration, courses, deemed attendance, listing, inquiries and
requests, each block linking to its page, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from sekispe.inquiries.models import Inquiry, InquiryState
from sekispe.listings.models import Listing, ListingRevision, RevisionStatus
from sekispe.me.presentation import front_page
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.registry.services import renewal_status_of
from tests.factories import PASSWORD, make_user
from tests.inquiry_support import create_inquiry

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page's words without tags, whitespace runs folded to one space."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _request(record: RegistryRecord, kind: str, status: str = RequestStatus.SUBMITTED):
    return RegistrantRequest.objects.create(
        record=record, kind=kind, status=status, fiscal_year=2026, submitted_at=timezone.now()
    )


def _companies(sme, specialist, n: int, state: str = InquiryState.SENT, tag: str = "") -> None:
    for i in range(n):
        create_inquiry(sme, specialist, state, company_name=f"株式会社テスト{tag}{i}")


def test_the_page_shows_each_block_with_a_link_to_its_page(client_for, specialist, sme):
    record = specialist.record
    _companies(sme, specialist, 4)
    declined = create_inquiry(sme, specialist, company_name="株式会社辞退済み")
    Inquiry.objects.filter(pk=declined.pk).update(state=InquiryState.DECLINED)
    _request(record, RequestKind.CARD_REISSUE)
    _request(record, RequestKind.LOGO_USE, RequestStatus.APPROVED)
    status = renewal_status_of(record)

    response = client_for(specialist).get("/me/")

    assert response.status_code == 200
    body = text(response)
    html = response.content.decode()
    # Registration and its deadlines.
    assert "登録と期限" in body
    assert record.expires_on.strftime("%Y年%-m月%-d日") in body
    deadline = status.application_deadline
    assert f"更新申請の期限 {deadline:%Y}年{deadline.month}月{deadline.day}日" in body
    assert f"あと{status.days_to_deadline}日" in body
    # Courses: the factory's record has this fiscal year's common course and
    # the practical course still to do.
    assert "まだ受講していない講習が2件あります。" in body
    assert "実践講習または特定講習（いずれか1つ）" in body
    # The listing and how fresh it is.
    assert "掲載中" in body
    today = timezone.localdate()
    # text() turns the date's <time> element into spaces around it.
    assert f"最終更新日 {today:%Y}年{today.month}月{today.day}日 （今日）" in body
    # Open inquiries: the count, three links, not the declined one.
    assert "対応中の依頼が4件あります。うち4件は、あなたの返答を待っています。" in body
    assert len(re.findall(r'href="/inquiries/\d+/"', html)) == 3
    assert "株式会社辞退済み" not in body
    # Open requests only.
    assert "事務局が審査している申請・届出が1件あります。" in body
    assert "登録証再発行届" in body and "ロゴ利用申請" not in body
    for href in ("/me/registry/", "/me/listing/", "/inquiries/", "/me/deemed/"):
        assert f'href="{href}' in html, href


def test_without_a_listing_the_page_invites_to_list(client_for, specialist):
    Listing.objects.filter(record=specialist.record).delete()

    body = text(client_for(specialist).get("/me/"))

    assert "アクティブリストに掲載すると" in body
    assert "掲載情報を作成する" in body
    assert "対応中の依頼はありません。" in body
    assert "審査中の申請・届出はありません。" in body


def test_a_change_under_review_and_an_old_update_are_shown(client_for, specialist):
    listing = Listing.objects.get(record=specialist.record)
    Listing.objects.filter(pk=listing.pk).update(updated_at=timezone.now() - dt.timedelta(days=200))
    ListingRevision.objects.create(listing=listing, status=RevisionStatus.PENDING)

    body = text(client_for(specialist).get("/me/"))

    assert "審査中の変更" in body
    assert "今の掲載内容が表示されます" in body
    assert "200日前" in body
    assert "内容が今も正しいか確認してください" in body


def test_an_expired_registration_shows_its_status_without_deadlines(client_for, specialist):
    RegistryRecord.objects.filter(pk=specialist.record_id).update(status=RegistryStatus.EXPIRED)
    specialist.refresh_from_db()

    response = client_for(specialist).get("/me/")
    html = response.content.decode()

    assert "更新申請や講習の受講状況の確認はできません" in text(response)
    assert 'id="me-courses"' not in html and 'id="me-deemed"' not in html


def test_the_page_composition_is_a_plain_function(specialist):
    today = dt.date(2027, 1, 20)  # deadline 2027-01-30

    page = front_page(specialist, today)

    assert page.registration.days_left == 10
    assert page.listing.published
    assert page.inquiries.open_count == 0
    assert page.requests == []
    assert front_page(specialist, dt.date(2027, 2, 1)).registration.days_left is None


def test_the_number_of_queries_does_not_grow_with_the_rows(
    client_for, specialist, sme, django_assert_max_num_queries
):
    client = client_for(specialist)
    client.get("/me/")  # warm caches (reference data, criteria)
    record = specialist.record
    _companies(sme, specialist, 1)
    with django_assert_max_num_queries(20) as few:
        client.get("/me/")
    _companies(sme, specialist, 8, InquiryState.ACCEPTED, tag="B")
    for kind in (RequestKind.CARD_REISSUE, RequestKind.LOGO_USE, RequestKind.BADGE_LOAN):
        _request(record, kind)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/me/")
    assert "対応中の依頼が9件あります。" in text(response)


def test_a_specialist_lands_on_the_front_page_after_signing_in(client, specialist, sme):
    response = client.post("/accounts/login/", {"email": specialist.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/me/"
    client.logout()
    response = client.post("/accounts/login/", {"email": sme.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/"


def test_the_header_links_a_specialist_to_the_front_page(client_for, specialist):
    html = client_for(specialist).get("/me/listing/").content.decode()
    assert 'href="/me/">マイページ</a>' in html


def test_other_roles_do_not_get_the_page(client_for):
    operator = make_user("operator", "ops-me@example.jp")
    assert client_for(operator).get("/me/").status_code == 403
