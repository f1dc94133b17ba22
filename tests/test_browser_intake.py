"""End to end in Debian's headless Chromium (issue 16, part 4): an exam passer
applies at /register/, corrects an error named in the summary, checks the
answers and submits; an operator approves; the registry record, the welcome
mail and the account invitation are there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sekispe.intake.models import ApplicationStatus, RegistrationApplication
from sekispe.outbox.models import OutgoingMail
from tests.browser_support import db as _db
from tests.browser_support import sign_in as _sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def operator_user(transactional_db):
    return make_user("operator", "ops-intake@ipa.example.jp")


def test_apply_check_submit_and_approve(operator_user, live_server, chromium):
    base = live_server.url
    page = chromium.new_context(locale="ja-JP").new_page()
    page.goto(f"{base}/register/")
    page.locator("#id_name").fill("渡辺 真理")
    page.locator("#id_name_kana").fill("わたなべ まり")  # hiragana: refused
    page.locator("#id_birth_date").fill("1992-08-15")
    page.locator("#id_home_prefecture").select_option(label="福岡県")
    page.locator("#id_address").fill("福岡県福岡市中央区天神1-1")
    page.locator("#id_email").fill("watanabe@example.jp")
    page.get_by_label("試験に合格した", exact=True).check()
    page.locator("#id_exam_year").select_option(value="2025")
    page.get_by_label("春期", exact=True).check()
    page.locator("#id_examinee_number").fill("SC251-0099")
    page.locator("#id_employer_industry").select_option(value="G")
    page.locator("#id_published_items_0").check()
    page.get_by_label(re.compile("誓約します")).check()
    page.get_by_role("button", name="入力内容を確認する").click()

    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("氏名（カナ）は全角カタカナで入力してください。")
    expect(page).to_have_title(re.compile("^エラー："))
    summary.get_by_role("link").first.click()
    expect(page.locator("#id_name_kana")).to_be_focused()
    page.locator("#id_name_kana").fill("ワタナベ マリ")
    page.get_by_label(re.compile("誓約します")).check()
    page.get_by_role("button", name="入力内容を確認する").click()

    expect(page.get_by_role("heading", name="入力内容の確認")).to_be_visible()
    expect(page.locator("main")).to_contain_text("令和7年度（2025年度）")
    assert _db(lambda: RegistrationApplication.objects.count()) == 0
    page.get_by_role("button", name="この内容で申請する").click()
    expect(page.get_by_role("heading", name="登録申請を受け付けました")).to_be_visible()
    application = _db(lambda: RegistrationApplication.objects.get())
    expect(page.locator(".reference")).to_have_text(application.reference)

    ops = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(ops, base, operator_user.email)
    ops.goto(f"{base}/ops/applications/")
    ops.get_by_role("link", name=re.compile(application.reference)).click()
    expect(ops.locator("main")).to_contain_text("ワタナベ マリ")
    ops.get_by_role("button", name="承認して登録する").click()
    expect(ops.locator(".messages")).to_contain_text("渡辺 真理さんを登録しました")

    application = _db(lambda: RegistrationApplication.objects.select_related("record").get())
    assert application.status == ApplicationStatus.APPROVED
    assert application.record.home_prefecture_id == "40"
    templates = _db(
        lambda: sorted(
            OutgoingMail.objects.filter(to="watanabe@example.jp").values_list("template", flat=True)
        )
    )
    assert templates == ["intake_approved", "invitation"]
