"""End to end in Debian's headless Chromium: an operator invites a specialist,
the specialist accepts, fills in the listing and submits it, the operator
approves, and the listing appears in the public search."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from sekispe.registry.models import CourseCompletion, RegistryRecord
from tests.browser_support import db
from tests.browser_support import sign_in as _sign_in
from tests.factories import make_user
from tests.outbox_support import delivered

pytestmark = pytest.mark.browser

PROFILE = (
    "製造業を中心に、中小企業の情報セキュリティ規程の整備を支援しています。"
    "現状のリスクを洗い出し、基本方針と関連規程の素案づくりまで伴走します。"
    "従業員向けの研修や、取引先から求められるセキュリティ対策の説明資料づくりもお手伝いします。"
)


@pytest.fixture
def invitee(transactional_db):
    """A registry record with current courses and no listing yet, and an operator."""
    record = RegistryRecord.objects.create(
        registration_number="300001",
        name="小林 直樹",
        name_kana="コバヤシ ナオキ",
        registered_on=dt.date(2024, 4, 1),
        expires_on=dt.date(2027, 3, 31),
        home_prefecture_id="13",
    )
    for year in (2024, 2025, 2026):
        CourseCompletion.objects.create(
            record=record, kind="common", fiscal_year=year, completed_on=dt.date(year, 7, 1)
        )
    operator = make_user("operator", "ops@ipa.example.jp")
    return record, operator


def test_invite_accept_fill_submit_approve_then_public(invitee, live_server, chromium):
    _record, operator = invitee
    base = live_server.url
    ops = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(ops, base, operator.email)

    # The operator finds the record and sends the invitation.
    ops.goto(f"{base}/ops/registry/?q=300001")
    ops.get_by_role("link", name=re.compile("小林 直樹|300001")).first.click()
    ops.fill('input[name="email"]', "kobayashi@example.jp")
    ops.get_by_role("button", name="アクティブリストへの招待を送る").click()
    expect(ops.locator("body")).to_contain_text("kobayashi@example.jp")
    # The worker sends the queued invitation (off Playwright's event loop).
    message = db(delivered)[-1]
    link = re.search(r"https?://\S+/accounts/invitation/(\S+?)/", message.body)
    assert link, message.body
    token = link.group(1)

    # The specialist accepts: the number comes from the invitation, never typed.
    me = chromium.new_context(locale="ja-JP").new_page()
    me.goto(f"{base}/accounts/invitation/{token}/")
    expect(me.locator("main")).to_contain_text("300001")
    me.fill('input[name="password1"]', "kobayashi-strong-pass-7")
    me.fill('input[name="password2"]', "kobayashi-strong-pass-7")
    me.get_by_role("button", name="パスワードを設定してアカウントを作成").click()
    me.wait_for_url(f"{base}/me/listing/")

    # Fill in the listing and submit it for review.
    me.check('input[name="themes"][value="1"]')
    me.check('input[name="prefectures"][value="13"]')
    me.check('input[name="offer_online"]')
    me.fill('input[name="fee_online"]', "10000")
    me.fill('input[name="email"]', "kobayashi@example.jp")
    me.fill('textarea[name="profile"]', PROFILE)
    me.get_by_role("button", name="掲載情報を保存する").click()
    expect(me.locator(".messages")).to_contain_text("保存しました")
    me.get_by_role("button", name="審査を申請する").click()
    expect(me.locator("main")).to_contain_text("審査待ち")

    # Not public yet.
    public = chromium.new_context(locale="ja-JP").new_page()
    public.goto(f"{base}/specialists/?q=小林")
    expect(public.locator("main")).not_to_contain_text("小林 直樹")

    # The operator approves from the review queue.
    ops.goto(f"{base}/ops/reviews/")
    ops.get_by_role("link", name=re.compile("小林 直樹")).click()
    ops.get_by_role("button", name="承認する").click()
    expect(ops.locator(".messages")).to_contain_text("承認")

    # Now it is in the public search.
    public.goto(f"{base}/specialists/?q=小林")
    expect(public.locator("main")).to_contain_text("小林 直樹")
    public.get_by_role("link", name=re.compile("小林 直樹")).first.click()
    expect(public.locator("main")).to_contain_text("情報セキュリティ規程")
