"""Deemed attendance end to end in Debian's headless Chromium:

1. the specialist applies from a confirmed Active List engagement, and makes
   (as a second registrant) another application with an external certifier;
2. the certifier confirms through the mailed link, without an account;
3. the operator approves both and runs an audit draw;
4. /me/registry/ shows the practical requirement met by deemed attendance.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sekispe.deemed.models import AuditDraw, DeemedApplication, DeemedStatus
from sekispe.devtools.demo.deemed import DESCRIPTIONS
from sekispe.inquiries.models import InquiryState
from sekispe.registry.models import RegistryRecord
from tests.browser_support import db as _db
from tests.browser_support import sign_in as _sign_in
from tests.factories import make_specialist_user, make_user
from tests.inquiry_support import create_inquiry
from tests.outbox_support import delivered

pytestmark = pytest.mark.browser


def _honest(n: int) -> str:
    import json

    return json.loads(DESCRIPTIONS.read_text("utf-8"))[n]["text"]


@pytest.fixture
def people(transactional_db):
    expires = timezone.localdate() + dt.timedelta(days=240)
    engaged = make_specialist_user("400101", name="森 一樹", email="mori@example.jp")
    employed = make_specialist_user("400102", name="林 真由美", email="hayashi@example.jp")
    RegistryRecord.objects.filter(pk__in=[engaged.record_id, employed.record_id]).update(
        expires_on=expires
    )
    sme = make_user("sme", "owner@kanagata.example.jp", organization="株式会社森金型")
    inquiry = create_inquiry(sme, engaged, InquiryState.CONFIRMED)
    operator = make_user("operator", "ops@ipa.example.jp")
    return engaged, employed, inquiry.confirmation, operator


def _fill_work(page, description: str) -> None:
    page.get_by_label("担当した役割").fill("外部セキュリティアドバイザー")
    page.get_by_label("従事時間（時間）").fill("36")
    page.get_by_label("業務の名称・概要").fill("情報セキュリティ規程の整備に関する指導")
    page.get_by_label("業務の内容（ご自身の言葉で）").fill(description)
    page.get_by_label("上記の宣誓文を読み、その内容に同意して宣誓します").check()


def test_deemed_attendance_from_application_to_the_renewal_page(people, live_server, chromium):
    engaged, employed, confirmation, operator = people
    base = live_server.url
    today = timezone.localdate()

    # 1a. From the confirmed engagement, in one step: no certifier to name.
    page = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(page, base, engaged.email)
    page.goto(f"{base}/me/deemed/")
    page.get_by_role("link", name="株式会社サンプル製作所の業務で申請する").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("アクティブリスト")
    page.get_by_label(re.compile(r"\b1-1 ")).check()
    _fill_work(page, _honest(0))
    page.get_by_role("button", name="宣誓して申請する").click()
    expect(page.locator("main")).to_contain_text("審査待ち")
    from_list = _db(lambda: DeemedApplication.objects.get(record_id=engaged.record_id))
    assert from_list.status == DeemedStatus.SUBMITTED
    assert from_list.confirmation_id == confirmation.pk

    # 1b. With an external certifier (the employer), in two steps.
    other = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(other, base, employed.email)
    other.goto(f"{base}/me/deemed/new/")
    other.get_by_label(re.compile(r"\b1-2 ")).check()
    other.get_by_role("button", name="次へ：業務の内容を入力する").click()
    expect(other.locator("main")).to_contain_text("要求される知識")
    other.get_by_label("業務を行った組織").fill("株式会社北陸精機")
    other.get_by_label("所属組織（勤務先）").check()
    other.get_by_label("業務の開始日").fill((today - dt.timedelta(days=90)).isoformat())
    other.get_by_label("業務の終了日").fill((today - dt.timedelta(days=5)).isoformat())
    _fill_work(other, _honest(1))
    other.get_by_label("証明者の氏名").fill("北陸 太郎")
    other.get_by_label("証明者の役職").fill("取締役 管理本部長")
    other.get_by_label("証明者の組織").fill("株式会社北陸精機")
    other.get_by_label("証明者のメールアドレス").fill("taro@hokuriku-seiki.example.jp")
    other.get_by_role("button", name="宣誓して申請する").click()
    expect(other.locator("main")).to_contain_text("証明者の確認待ち")

    # 2. The certifier follows the mailed link, with no account.
    [mail] = _db(lambda: [m for m in delivered() if "taro@hokuriku-seiki.example.jp" in m.to])
    link = re.search(r"https?://\S+/certify/[A-Za-z0-9_-]+/", mail.body).group(0)
    path = link[link.index("/certify/") :]
    certifier = chromium.new_context(locale="ja-JP").new_page()
    certifier.goto(f"{base}{path}")
    expect(certifier.locator("main")).to_contain_text("林 真由美")
    certifier.get_by_label("記載の業務を申請者が行ったことを証明します").check()
    certifier.get_by_role("button", name="証明する").click()
    expect(certifier.locator("main")).to_contain_text("ありがとうございました")
    # The link is used up.
    assert certifier.goto(f"{base}{path}").status == 410

    # 3. The operator approves both, then draws a sample.
    ops = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(ops, base, operator.email)
    ops.goto(f"{base}/ops/deemed/")
    for application in _db(lambda: list(DeemedApplication.objects.order_by("pk"))):
        ops.goto(f"{base}/ops/deemed/{application.pk}/")
        ops.get_by_role("button", name="承認する").click()
        expect(ops.locator("main")).to_contain_text("承認")
    assert _db(lambda: set(DeemedApplication.objects.values_list("status", flat=True))) == {
        DeemedStatus.APPROVED
    }
    ops.goto(f"{base}/ops/deemed/audits/")
    ops.get_by_label("抽出率").fill("0.5")
    ops.get_by_label("乱数の種（シード）").fill("20261204")
    ops.get_by_role("button", name="抽出結果を確認する").click()
    expect(ops.locator("main")).to_contain_text("20261204")
    ops.get_by_role("button", name="この内容で抽出を確定する").click()
    expect(ops.locator("main")).to_contain_text("これまでの抽出")
    draw = _db(lambda: AuditDraw.objects.get())
    assert (draw.seed, len(draw.population), len(draw.drawn)) == (20261204, 2, 1)

    # 4. The renewal page shows the practical requirement met by deemed attendance.
    other.goto(f"{base}/me/registry/")
    expect(other.locator("main")).to_contain_text("みなし受講により充足")
    page.goto(f"{base}/me/registry/")
    expect(page.locator("main")).to_contain_text("みなし受講により充足")
