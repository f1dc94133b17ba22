"""The event sign-up link's copy button, in Debian's headless Chromium: shown
by its script (no inline script, no console error), and it copies the link or,
without clipboard permission, selects it for the user to copy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sekispe.events import services
from tests.browser_support import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def event(transactional_db):
    chamber = make_user("institution", "soudan@cci.example.jp", organization="横浜商工会議所")
    return services.create_event(
        chamber,
        services.EventDetails(
            title="情報セキュリティ個別相談会",
            held_on=timezone.localdate() + dt.timedelta(days=7),
            capacity=30,
            themes=(1,),
            place="横浜商工会議所",
        ),
    )


def test_the_copy_button_copies_or_selects_the_link(event, live_server, chromium):
    context = chromium.new_context(locale="ja-JP")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, "soudan@cci.example.jp")
    page.goto(f"{live_server.url}/events/{event.pk}/")
    button = page.get_by_role("button", name="リンクをコピー")
    expect(button).to_be_visible()
    button.click()
    expect(page.locator("#signup-url-status")).to_contain_text("リンクを")
    copied = page.locator("#signup-url-status").inner_text()
    if "選択しました" in copied:
        selected = page.evaluate("window.getSelection().toString()")
        assert selected.endswith(f"/events/join/{event.signup_token}/")
    assert errors == []
    context.close()
