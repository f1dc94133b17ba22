"""SECURITY ACTION in headless Chromium without JavaScript: from a result that
reaches ★★ to a recorded declaration, with labelled fields and a history table."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sekispe.diagnosis import rules, services
from sekispe.diagnosis.models import SecurityActionDeclaration
from tests.browser_support import db, sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def sme_with_result(transactional_db):
    user = make_user("sme", "declare@example.co.jp", organization="株式会社宣言")
    answers = dict.fromkeys(rules.current().ids, "done")
    diagnosis = services.record(answers, {"prefecture": "27"}, user=user)
    return user, diagnosis.share_token


def test_an_sme_records_a_two_star_declaration_from_its_result(
    live_server, sme_with_result, chromium
):
    user, token = sme_with_result
    base = live_server.url
    context = chromium.new_context(java_script_enabled=False, locale="ja-JP")
    page = context.new_page()
    sign_in(page, base, user.email)
    page.goto(f"{base}/diagnosis/r/{token}/")
    page.get_by_role("link", name="★★二つ星の宣言を記録する").click()
    page.wait_for_url("**/diagnosis/security-action/?level=2")

    level = page.get_by_label("宣言した段階")
    expect(level).to_have_value("2")
    expect(page.get_by_label("所在地（都道府県）")).to_have_value("27")
    page.get_by_label("宣言日").fill("2026-11-01")
    page.get_by_label("自己宣言ID").fill("abc")
    page.get_by_role("button", name="記録する").click()
    expect(page.locator(".error-summary")).to_contain_text("自己宣言ID")
    page.get_by_label("自己宣言ID").fill("１２３４５６７８９０１")
    page.get_by_role("button", name="記録する").click()
    page.wait_for_url("**/diagnosis/security-action/")
    expect(page.locator(".messages")).to_contain_text("宣言を記録しました")
    table = page.get_by_role("table", name="記録した宣言（新しい順）")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("12345678901")
    expect(rows.first).to_contain_text("大阪府")
    expect(table.locator("th[scope=col]")).to_have_count(5)

    page.goto(f"{base}/diagnosis/r/{token}/")
    expect(page.get_by_text("★★二つ星を宣言済みです")).to_be_visible()
    context.close()
    assert db(lambda: SecurityActionDeclaration.objects.filter(user=user).count()) == 1
