"""End to end in Debian's headless Chromium, driven by Playwright (no browser download)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.browser


@pytest.fixture
def osaka_and_tokyo(transactional_db):
    create_specialists(
        make_input(
            registration_number="000001",
            name="中村 由美",
            prefectures=("27",),
            themes=(3,),
            track_record="製造業A社でクラウド利用ルールを整備",
        ),
        make_input(registration_number="000002", name="高橋 誠", prefectures=("27",), themes=(1,)),
        make_input(
            registration_number="000003", name="鈴木 花子", prefectures=("13",), themes=(3,)
        ),
    )


def test_filter_by_prefecture_and_theme_then_open_a_detail_page(
    live_server, osaka_and_tokyo, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/specialists/")
    assert page.locator(".total").inner_text() == "3"

    page.get_by_text("近畿", exact=True).click()  # open the block
    with page.expect_response(lambda r: "prefecture=27" in r.url):
        page.get_by_label("大阪府").check()
    expect(page.locator(".total")).to_have_text("2")
    assert "prefecture=27" in page.url  # htmx pushed the filters into the URL

    with page.expect_response(lambda r: "theme=3" in r.url):
        page.get_by_label("③クラウドサービスの安全利用").check()
    expect(page.locator(".total")).to_have_text("1")
    expect(page.locator("#results-status")).to_have_text("1名の登録セキスペが見つかりました")
    rows = page.locator(".result-card")
    assert rows.count() == 1
    assert "中村 由美" in rows.first.inner_text()

    page.get_by_role("link", name="中村 由美").click()
    page.wait_for_url("**/specialists/000001/")
    assert page.locator("h1").inner_text().startswith("中村 由美")
    assert "製造業A社でクラウド利用ルールを整備" in page.content()
    assert page.get_by_text("登録簿で確認済み").first.is_visible()

    # Contacts are not in the page until asked for; htmx swaps them in.
    assert "sato@example.jp" not in page.content()
    with page.expect_response(lambda r: r.url.endswith("/specialists/000001/contact/")):
        page.get_by_role("button", name="連絡先を表示する").click()
    expect(page.get_by_role("link", name="sato@example.jp")).to_be_visible()
    assert page.locator("h1").count() == 1  # the partial, not a nested page


@pytest.fixture
def one_in_osaka_one_in_tokyo(transactional_db):
    create_specialists(
        make_input(registration_number="000001", name="中村 由美", prefectures=("27",)),
        make_input(registration_number="000002", name="鈴木 花子", prefectures=("13",)),
    )


def test_without_javascript_the_filters_are_a_plain_get_form(
    live_server, one_in_osaka_one_in_tokyo, chromium
):
    context = chromium.new_context(java_script_enabled=False, locale="ja-JP")
    page = context.new_page()
    page.goto(f"{live_server.url}/specialists/")
    page.locator("summary", has_text="近畿").click()
    page.get_by_label("大阪府").check()
    page.get_by_role("button", name="この条件で検索").click()
    page.wait_for_url("**/specialists/?*prefecture=27*")
    expect(page.locator(".total")).to_have_text("1")
    assert "中村 由美" in page.locator(".result-list").inner_text()
    context.close()


def test_without_javascript_the_contact_button_is_a_plain_post_form(
    live_server, one_in_osaka_one_in_tokyo, chromium
):
    context = chromium.new_context(java_script_enabled=False, locale="ja-JP")
    page = context.new_page()
    page.goto(f"{live_server.url}/specialists/000001/")
    assert "sato@example.jp" not in page.content()
    page.get_by_role("button", name="連絡先を表示する").click()
    page.wait_for_url("**/specialists/000001/contact/")
    expect(page.get_by_role("link", name="sato@example.jp")).to_be_visible()
    context.close()


def test_the_limit_message_replaces_the_contact_button(
    live_server, one_in_osaka_one_in_tokyo, settings, browser_page
):
    settings.CONTACT_REVEALS_ANONYMOUS_PER_IP = (0, 3600)
    page = browser_page
    page.goto(f"{live_server.url}/specialists/000001/")
    with page.expect_response(lambda r: r.status == 429):
        page.get_by_role("button", name="連絡先を表示する").click()
    expect(page.get_by_role("alert")).to_contain_text("連絡先の表示回数が上限に達しました")
    assert "sato@example.jp" not in page.content()
