"""The whole onboarding path in Debian's headless Chromium (issue 16, the
Playwright flow): a registrant claims their account through the mailed link,
sees their front page, creates a listing and submits it for review; an
operator then sends a statutory notice to all active registrants through the
preview step. The registrant's address gets the claim mail once and the
notice once, and no page logs a console error."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from sekispe.onboarding.services import run_pending_mailings
from sekispe.outbox.models import OutgoingMail
from sekispe.registry.models import CourseCompletion, RegistryRecord
from tests.browser_support import db, sign_in
from tests.factories import make_user
from tests.outbox_support import delivered

pytestmark = pytest.mark.browser

ADDRESS = "kobayashi@example.jp"
PASSWORD = "kobayashi-strong-pass-7"
PROFILE = (
    "製造業を中心に、中小企業の情報セキュリティ規程の整備を支援しています。"
    "現状のリスクを洗い出し、基本方針と関連規程の素案づくりまで伴走します。"
    "従業員向けの研修や、取引先から求められるセキュリティ対策の説明資料づくりもお手伝いします。"
)


@pytest.fixture
def people(transactional_db):
    """A registry record with current courses and no account yet, and an operator."""
    record = RegistryRecord.objects.create(
        registration_number="300201",
        name="小林 直樹",
        name_kana="コバヤシ ナオキ",
        registered_on=dt.date(2024, 4, 1),
        expires_on=dt.date(2027, 3, 31),
        home_prefecture_id="13",
        email=ADDRESS,
    )
    for year in (2024, 2025, 2026):
        CourseCompletion.objects.create(
            record=record, kind="common", fiscal_year=year, completed_on=dt.date(year, 7, 1)
        )
    operator = make_user("operator", "operator@ipa.example.jp", display_name="運営 太郎")
    return record, operator


def _watch(page, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))


def test_claim_front_page_listing_then_a_statutory_notice(people, live_server, chromium):
    _record, operator = people
    base = live_server.url
    errors: list[str] = []

    # 1. Claim the account by registration number; the link goes to the registry's address.
    me = chromium.new_context(locale="ja-JP").new_page()
    _watch(me, errors)
    me.goto(f"{base}/accounts/claim/")
    me.get_by_label(re.compile("登録番号")).fill("300201")
    me.get_by_role("button", name="リンクを受け取る").click()
    me.wait_for_url(f"{base}/accounts/claim/sent/")
    (claim_mail,) = db(delivered)
    assert claim_mail.to == [ADDRESS]
    link = re.search(r"https?://\S+(/accounts/invitation/\S+?/)", claim_mail.body)
    assert link, claim_mail.body
    me.goto(f"{base}{link.group(1)}")
    expect(me.locator("main")).to_contain_text("300201")
    me.fill('input[name="password1"]', PASSWORD)
    me.fill('input[name="password2"]', PASSWORD)
    me.get_by_role("button", name="パスワードを設定してアカウントを作成").click()
    me.wait_for_url(f"{base}/me/listing/")

    # 2. The front page: the registration block, and the listing block. Accepting the
    # link starts a draft listing, so the block shows that draft and a link to finish it.
    me.goto(f"{base}/me/")
    registration = me.get_by_role("region", name="登録と期限")
    expect(registration).to_contain_text("登録中")
    expect(registration).to_contain_text("2027年3月31日")
    listing_block = me.get_by_role("region", name="アクティブリストの掲載")
    expect(listing_block).to_contain_text("下書き")
    expect(listing_block.get_by_role("link", name="掲載情報を確認・編集する")).to_be_visible()

    # 3. Create the listing with what the criteria need, and submit it for review.
    listing_block.get_by_role("link", name="掲載情報を確認・編集する").click()
    me.wait_for_url(f"{base}/me/listing/")
    me.check('input[name="themes"][value="1"]')
    me.check('input[name="prefectures"][value="13"]')
    me.check('input[name="offer_online"]')
    me.fill('input[name="fee_online"]', "10000")
    me.fill('input[name="email"]', ADDRESS)
    me.fill('textarea[name="profile"]', PROFILE)
    me.get_by_role("button", name="掲載情報を保存する").click()
    expect(me.locator(".messages")).to_contain_text("保存しました")
    me.get_by_role("button", name="審査を申請する").click()
    expect(me.locator("main")).to_contain_text("審査待ち")
    me.goto(f"{base}/me/")
    expect(me.get_by_role("region", name="アクティブリストの掲載")).to_contain_text("審査待ち")

    # 4. The operator sends a statutory notice to all active registrants, via the preview.
    ops = chromium.new_context(locale="ja-JP").new_page()
    _watch(ops, errors)
    sign_in(ops, base, operator.email)
    ops.goto(f"{base}/ops/mailings/")
    ops.get_by_role("link", name="一斉メールを作成する").click()
    ops.get_by_label(re.compile("法定のお知らせ")).check()
    ops.get_by_label(re.compile("登録が有効な登録セキスペ全員")).check()
    ops.get_by_label(re.compile("^件名")).fill("登録更新の手続きについて")
    ops.get_by_label(re.compile("^本文")).fill("更新申請は有効期限の60日前までにお済ませください。")
    ops.get_by_role("button", name="確認する").click()
    expect(ops.get_by_role("heading", level=1)).to_have_text("一斉メールの確認")
    expect(ops.locator("main")).to_contain_text("宛先：1 人")
    expect(ops.locator(".mail-preview")).to_contain_text("有効期限の60日前まで")
    ops.get_by_role("button", name="1 人に送る").click()
    expect(ops.get_by_role("heading", level=1)).to_have_text("登録更新の手続きについて")
    expect(ops.locator("main")).to_contain_text("登録の順番待ち")
    assert db(run_pending_mailings) == 1  # what `sekispe worker` does next
    ops.reload()
    expect(ops.locator("main")).to_contain_text(ADDRESS)

    # 5. In the outbox once each: the claim mail and the notice.
    bodies = db(
        lambda: list(OutgoingMail.objects.filter(to=ADDRESS).values_list("body", flat=True))
    )
    assert len(bodies) == 2, bodies
    assert sum("/accounts/invitation/" in body for body in bodies) == 1
    assert sum("有効期限の60日前まで" in body for body in bodies) == 1
    assert errors == []
