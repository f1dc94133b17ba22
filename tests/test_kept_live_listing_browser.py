"""The kept-live listing in Chromium (issue 15, point 5): a specialist adds a
theme, is told plainly what will happen, confirms, and the live listing stays
in search; the operator sees the diff and approves. No JavaScript is needed,
and the new pages fit a phone."""

from __future__ import annotations

import pytest

from sekispe.listings.models import Listing, RevisionStatus
from tests.browser_support import db, sign_in
from tests.factories import make_specialist_user, make_user

pytestmark = pytest.mark.browser

WIDTH = "document.documentElement.scrollWidth"


@pytest.fixture
def people(transactional_db):
    specialist = make_specialist_user("500201", name="掲載 継続", email="keep@example.jp")
    operator = make_user("operator", "ops@keep.example.jp")
    return specialist, operator


def test_a_gated_edit_is_confirmed_reviewed_and_never_leaves_search(people, live_server, chromium):
    specialist, operator = people
    base = live_server.url
    context = chromium.new_context(
        locale="ja-JP", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, specialist.email)
    page.goto(f"{base}/me/listing/")
    page.check('input[name="themes"][value="2"]')
    page.get_by_role("button", name="掲載情報を保存する").click()
    page.wait_for_load_state()
    # The check-your-answers page: what goes to review, in words.
    assert page.get_by_role("heading", name="審査に出す変更の確認").is_visible()
    body = page.inner_text("main")
    assert "掲載中の内容がそのまま公開されます" in body
    assert "追加：情報資産の洗い出しとリスク分析" in body
    assert page.evaluate(WIDTH) <= 390
    page.get_by_role("button", name="審査に出す").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/me/listing/"
    body = page.inner_text("main")
    assert "掲載中の内容は審査が終わるまでそのまま公開されます。" in body
    assert page.evaluate(WIDTH) <= 390
    # Still public, with the approved version.
    page.goto(f"{base}/specialists/500201/")
    assert "情報資産の洗い出しとリスク分析" not in page.inner_text("main")
    context.clear_cookies()
    sign_in(page, base, operator.email)
    listing = db(lambda: Listing.objects.get(record__registration_number="500201"))
    page.goto(f"{base}/ops/reviews/{listing.pk}/")
    assert "追加：情報資産の洗い出しとリスク分析" in page.inner_text("main")
    assert page.evaluate(WIDTH) <= 390
    page.get_by_role("button", name="承認する").click()
    page.wait_for_load_state()
    page.goto(f"{base}/specialists/500201/")
    assert "情報資産の洗い出しとリスク分析" in page.inner_text("main")
    context.close()
    status = db(lambda: listing.revisions.get().status)
    assert status == RevisionStatus.APPROVED
    assert errors == []
