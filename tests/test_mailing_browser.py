"""In Debian's headless Chromium with JavaScript off: an operator writes an
optional news mailing to the active registrants, checks it on the preview
step, sends it, and the registrant's mail is in the outbox once; the
registrant then stops the news through the link in that mail (issue 16,
parts 2 and 3)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from sekispe.onboarding import services
from sekispe.outbox.models import OutgoingMail
from sekispe.registry.models import RegistryRecord
from tests.browser_support import db, sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def registrant(transactional_db):
    return RegistryRecord.objects.create(
        registration_number="300101",
        name="小林 直樹",
        name_kana="コバヤシ ナオキ",
        registered_on=dt.date(2024, 4, 1),
        expires_on=dt.date(2027, 3, 31),
        home_prefecture_id="13",
        email="kobayashi@example.jp",
    )


@pytest.fixture
def ops_user(transactional_db):
    return make_user("operator", "operator@ipa.example.jp", display_name="運営 太郎")


def test_operator_sends_a_news_mailing_and_the_registrant_unsubscribes(
    registrant, ops_user, live_server, chromium
):
    operator = ops_user
    base = live_server.url
    page = chromium.new_context(locale="ja-JP", java_script_enabled=False).new_page()
    sign_in(page, base, operator.email)
    page.goto(f"{base}/ops/")
    page.get_by_role("link", name="一斉メール").click()
    page.get_by_role("link", name="一斉メールを作成する").click()
    page.get_by_label(re.compile("任意のお知らせ")).check()
    page.get_by_label(re.compile("登録が有効な登録セキスペ全員")).check()
    page.get_by_label(re.compile("^件名")).fill("オンライン説明会のご案内")
    page.get_by_label(re.compile("^本文")).fill("12月20日にオンライン説明会を開きます。")
    page.get_by_role("button", name="確認する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("一斉メールの確認")
    expect(page.locator("main")).to_contain_text("宛先：1 人")
    expect(page.locator(".mail-preview")).to_contain_text("12月20日にオンライン説明会を開きます。")
    page.get_by_role("button", name="1 人に送る").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("オンライン説明会のご案内")
    expect(page.locator("main")).to_contain_text("登録の順番待ち")
    # What `sekispe worker` does next: write each recipient's mail.
    assert db(services.run_pending_mailings) == 1
    page.reload()
    expect(page.locator("main")).to_contain_text("kobayashi@example.jp")

    mails = db(lambda: list(OutgoingMail.objects.filter(to="kobayashi@example.jp")))
    assert len(mails) == 1  # in the outbox once
    link = re.search(r"https?://\S+(/mailings/unsubscribe/\S+?/)", mails[0].body)
    assert link, mails[0].body

    visitor = chromium.new_context(locale="ja-JP", java_script_enabled=False).new_page()
    visitor.goto(f"{base}{link.group(1)}")
    visitor.get_by_role("button", name="配信を停止する").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("配信を停止しました")
    assert db(lambda: RegistryRecord.objects.get(pk=registrant.pk).news_opt_out) is True
