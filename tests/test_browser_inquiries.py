"""End to end in Debian's headless Chromium, the pilot's path: an SME signs up
for a chamber of commerce's consultation event, then asks a specialist for
help from the specialist's page; the specialist accepts, records the
individual consultation, plans three visits, records them and reports
completion; the SME confirms, the confirmation is kept, and the chamber's
event report counts the match and the completed guidance."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sekispe.events import services as events
from sekispe.events.models import EventParticipant
from sekispe.inquiries.models import CompletionConfirmation, Inquiry, InquiryState
from tests.browser_support import db as _db
from tests.browser_support import sign_in as _sign_in
from tests.factories import make_specialist_user, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db):
    specialist = make_specialist_user("300201", name="小林 誠", email="kobayashi@example.jp")
    sme = make_user(
        "sme",
        "owner@kanagata.example.jp",
        organization="株式会社小林金型",
        display_name="中村 由美",
    )
    chamber = make_user("institution", "soudan@cci.example.jp", organization="横浜商工会議所")
    event = events.create_event(
        chamber,
        events.EventDetails(
            title="情報セキュリティ個別相談会",
            held_on=timezone.localdate(),
            capacity=30,
            themes=(1, 5),
            place="横浜商工会議所 3階",
        ),
    )
    return specialist, sme, chamber, event


def test_an_inquiry_from_the_list_to_the_confirmed_guidance(people, live_server, chromium):
    specialist, sme, chamber, event = people
    base = live_server.url

    # The SME signs up for the chamber's consultation event with its account.
    company = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(company, base, sme.email)
    company.goto(f"{base}/events/join/{event.signup_token}/")
    company.get_by_label("会社名").fill("株式会社小林金型")
    company.get_by_label("担当者名").fill("中村 由美")
    company.get_by_label("メールアドレス").fill("owner@kanagata.example.jp")
    company.get_by_label("所在地（都道府県）").select_option("14")
    company.get_by_label(re.compile("同意します")).check()
    company.get_by_role("button", name="申し込む").click()
    expect(company.get_by_role("heading", name="申し込みを受け付けました")).to_be_visible()
    assert _db(lambda: EventParticipant.objects.get().sme_account_id) == sme.pk

    # Then it finds the specialist and sends an inquiry.
    company.goto(f"{base}/specialists/300201/")
    company.get_by_role("link", name="この専門家に相談を依頼する").click()
    expect(company.get_by_role("heading", level=1)).to_have_text("小林 誠さんに相談を依頼する")
    expect(company.get_by_label("会社名")).to_have_value("株式会社小林金型")
    expect(company.get_by_label("担当者名")).to_have_value("中村 由美")
    company.get_by_label("所在地（都道府県）").select_option("14")
    company.get_by_label("従業員数").select_option("21-50")
    company.get_by_label("①情報セキュリティ規程の整備").check()
    company.get_by_label("どちらでもよい").check()
    company.get_by_label("相談内容").fill(
        "取引先から情報セキュリティ規程の提出を求められています。"
    )
    company.get_by_label("初回は無料の相談を希望する").check()
    company.get_by_role("button", name="この内容で依頼を送る").click()
    expect(company.locator(".messages")).to_contain_text("小林 誠さんに相談の依頼を送りました")
    expect(company.locator("#inquiry-state")).to_have_text("返答待ち")
    inquiry = _db(lambda: Inquiry.objects.get())
    assert inquiry.company_profile["prefecture"] == "14"
    assert inquiry.theme == 1 and inquiry.wants_free_first_session

    # The specialist accepts and records the individual consultation.
    me = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(me, base, specialist.email)
    me.goto(f"{base}/inquiries/")
    expect(me.locator("#group-waiting")).to_contain_text("株式会社小林金型")
    me.get_by_role("link", name="株式会社小林金型").click()
    me.get_by_role("button", name="依頼を受ける").click()
    expect(me.locator(".messages")).to_contain_text("依頼を受けました")
    # Dates are evidence: nothing is recorded before the inquiry was sent or
    # after today, so the consultation is today, the day it was sent.
    today = timezone.localdate()
    me.get_by_label("実施日").fill(today.isoformat())
    me.get_by_label("訪問", exact=True).check()
    me.get_by_label("見つかった課題").fill("情報セキュリティの基本方針と規程がない。")
    me.get_by_label("優先して取り組むこと").fill("基本方針を作り、既存の就業規則を点検する。")
    me.get_by_role("button", name="個別相談の記録を登録する").click()
    expect(me.locator(".messages")).to_contain_text("個別相談の記録を登録しました")
    expect(me.locator("#inquiry-state")).to_have_text("個別相談済み")

    # Three visits on theme 1, each with one of the theme's goals (planned
    # dates may lie ahead).
    for n, days in ((1, 7), (2, 21), (3, 42)):
        me.get_by_label(f"{n}回目の予定日").fill((today + dt.timedelta(days=days)).isoformat())
    me.get_by_label("3回目の目標").select_option("関連規程の案を策定する")
    me.get_by_role("button", name="訪問指導の計画を登録する").click()
    expect(me.locator(".messages")).to_contain_text("訪問指導の計画を登録しました")
    expect(me.locator("#inquiry-state")).to_have_text("訪問指導の計画済み")

    # A visit held tomorrow is refused next to its date field, and nothing is lost.
    expect(me.get_by_label("記録する回")).to_have_value("1")
    me.get_by_label("実施日").fill((today + dt.timedelta(days=1)).isoformat())
    me.get_by_label("実施内容").fill("1回目の訪問指導を実施した。")
    me.get_by_label("達成した", exact=True).check()
    me.get_by_role("button", name="訪問指導の記録を登録する").click()
    date_field = me.locator(".field.has-error", has=me.get_by_label("実施日"))
    expect(date_field).to_contain_text("より後の日付は記録できません")
    expect(me.get_by_label("実施内容")).to_have_value("1回目の訪問指導を実施した。")
    expect(me.locator("#inquiry-state")).to_have_text("訪問指導の計画済み")

    # Held today, one after the other.
    for n in (1, 2, 3):
        expect(me.get_by_label("記録する回")).to_have_value(str(n))
        me.get_by_label("実施日").fill(today.isoformat())
        me.get_by_label("実施内容").fill(f"{n}回目の訪問指導を実施した。")
        me.get_by_label("達成した", exact=True).check()
        me.get_by_role("button", name="訪問指導の記録を登録する").click()
        expect(me.locator(".messages")).to_contain_text("訪問指導の記録を登録しました")
        expect(me.locator(f"#visit-{n}")).to_contain_text("達成")
    expect(me.locator("#inquiry-state")).to_have_text("訪問指導中")

    me.get_by_label("完了報告").fill("基本方針と関連規程の案を作成し、社内に周知した。")
    me.get_by_role("button", name="完了を報告する").click()
    expect(me.locator(".messages")).to_contain_text("完了を報告しました")
    expect(me.locator("#inquiry-state")).to_have_text("完了報告済み")

    # The SME reads the records and confirms the work.
    company.goto(f"{base}/inquiries/{inquiry.pk}/")
    expect(company.locator("main")).to_contain_text("関連規程の案を策定する")
    expect(company.locator("main")).to_contain_text("基本方針と関連規程の案を作成し")
    expect(company.locator("main")).to_contain_text("実務を証明するもの")
    company.get_by_label(re.compile("訪問指導が実施され")).check()
    company.get_by_role("button", name="完了を確認する").click()
    expect(company.locator(".messages")).to_contain_text("訪問指導の完了を確認しました")
    expect(company.locator("#inquiry-state")).to_have_text("完了確認済み")

    confirmation = _db(lambda: CompletionConfirmation.objects.get(inquiry_id=inquiry.pk))
    assert confirmation.registration_number == "300201"
    assert confirmation.confirmed_by_id == sme.pk
    assert [v["number"] for v in confirmation.visits] == [1, 2, 3]
    assert confirmation.visits[2]["goal"] == "関連規程の案を策定する"
    assert all(v["goal_achieved"] for v in confirmation.visits)
    assert _db(lambda: Inquiry.objects.get(pk=inquiry.pk).state) == InquiryState.CONFIRMED

    # Both dashboards show it as confirmed.
    for page in (company, me):
        page.goto(f"{base}/inquiries/")
        finished = page.locator("#group-finished")
        expect(finished).to_contain_text("完了確認済み")
        expect(finished).to_contain_text("株式会社小林金型")

    # The chamber's event report counts the match and the completed guidance.
    cci = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(cci, base, chamber.email)
    cci.goto(f"{base}/events/{event.pk}/report/")
    expect(cci.locator(".funnel-summary")).to_have_text(
        "参加 1 社 → マッチ 1 社 → 訪問指導の完了 1 社"
    )
    expect(cci.locator("main")).to_contain_text("情報セキュリティ規程の整備")
