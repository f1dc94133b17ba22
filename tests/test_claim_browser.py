"""In Debian's headless Chromium with JavaScript off: a registrant without an
account starts from the sign-in page, claims their account by registration
number, opens the link mailed to the registry's address and lands signed in
on their listing (issue 16, part 1)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from sekispe.accounts.models import User
from sekispe.registry.models import RegistryRecord
from tests.browser_support import db
from tests.outbox_support import delivered

pytestmark = pytest.mark.browser


@pytest.fixture
def registrant(transactional_db):
    return RegistryRecord.objects.create(
        registration_number="300001",
        name="小林 直樹",
        name_kana="コバヤシ ナオキ",
        registered_on=dt.date(2024, 4, 1),
        expires_on=dt.date(2027, 3, 31),
        home_prefecture_id="13",
        email="kobayashi@example.jp",
    )


def test_claim_from_the_sign_in_page_through_the_mailed_link(registrant, live_server, chromium):
    base = live_server.url
    page = chromium.new_context(locale="ja-JP", java_script_enabled=False).new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="登録番号でアカウントを作成").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("登録セキスペのアカウント作成")

    # A malformed number is named in the error summary.
    page.get_by_label(re.compile("登録番号")).fill("30001")
    page.get_by_role("button", name="リンクを受け取る").click()
    expect(page.locator(".error-summary")).to_contain_text(
        "登録番号は6桁の数字で入力してください。"
    )

    page.get_by_label(re.compile("登録番号")).fill("300001")
    page.get_by_role("button", name="リンクを受け取る").click()
    page.wait_for_url(f"{base}/accounts/claim/sent/")
    expect(page.get_by_role("heading", level=1)).to_have_text("お申し込みを受け付けました")

    (message,) = db(delivered)
    assert message.to == ["kobayashi@example.jp"]
    link = re.search(r"https?://\S+(/accounts/invitation/\S+?/)", message.body)
    assert link, message.body

    page.goto(f"{base}{link.group(1)}")
    expect(page.locator("main")).to_contain_text("300001")
    page.fill('input[name="password1"]', "kobayashi-strong-pass-7")
    page.fill('input[name="password2"]', "kobayashi-strong-pass-7")
    page.get_by_role("button", name="パスワードを設定してアカウントを作成").click()
    page.wait_for_url(f"{base}/me/listing/")

    user = db(lambda: User.objects.select_related("record").get())
    assert (user.email, user.record.registration_number) == ("kobayashi@example.jp", "300001")
