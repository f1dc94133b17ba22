"""End to end in Debian's headless Chromium: a specialist files a deregistration
(消除届) for cost reasons, an operator approves it from the queue, and the
specialist's public page is gone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registry.models import RegistryRecord, RegistryStatus
from tests.browser_support import db as _db
from tests.browser_support import sign_in as _sign_in
from tests.factories import make_specialist_user, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db):
    """A specialist with a published listing, and an operator."""
    specialist = make_specialist_user("300101", name="中村 亮")
    operator = make_user("operator", "ops-dereg@ipa.example.jp")
    return specialist, operator


def test_deregistration_filed_approved_and_the_public_page_is_gone(people, live_server, chromium):
    specialist, operator = people
    base = live_server.url
    public = chromium.new_context(locale="ja-JP").new_page()
    assert public.goto(f"{base}/specialists/300101/").status == 200

    # The specialist files a deregistration with the cost reason.
    me = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(me, base, specialist.email)
    me.goto(f"{base}/me/registry/")
    me.get_by_role("link", name="消除届").click()
    me.get_by_label("費用負担が重い").check()
    me.get_by_label("補足（任意）").fill("年会費と講習費の負担が大きいため。")
    me.get_by_role("button", name="消除届を提出する").click()
    expect(me.locator(".messages")).to_contain_text("消除届を提出しました")
    expect(me.locator("main")).to_contain_text("審査中")
    expect(me.locator("main")).to_contain_text("費用負担が重い")
    req = _db(lambda: RegistrantRequest.objects.get(kind=RequestKind.DEREGISTRATION))
    assert req.payload["reason"] == "cost"
    assert req.status == RequestStatus.SUBMITTED

    # The operator opens the queue and approves with a comment.
    ops = chromium.new_context(locale="ja-JP").new_page()
    _sign_in(ops, base, operator.email)
    ops.goto(f"{base}/ops/requests/")
    expect(ops.locator("main")).to_contain_text("中村 亮")
    ops.get_by_role("link", name=re.compile("消除届.*中村 亮")).click()
    expect(ops.locator("main")).to_contain_text("費用負担が重い")
    ops.get_by_label("登録者へのコメント").fill("消除を受け付けました。ありがとうございました。")
    ops.get_by_role("button", name="承認する").click()
    expect(ops.locator(".messages")).to_contain_text("中村 亮さんの消除届を承認しました")

    req = _db(lambda: RegistrantRequest.objects.get(pk=req.pk))
    assert req.status == RequestStatus.APPROVED
    assert req.operator_comment == "消除を受け付けました。ありがとうございました。"
    record = _db(lambda: RegistryRecord.objects.get(registration_number="300101"))
    assert record.status == RegistryStatus.DEREGISTERED

    # The specialist sees the decision; the public page is gone.
    me.goto(f"{base}/me/registry/")
    expect(me.locator("main")).to_contain_text("登録抹消")
    expect(me.locator("main")).to_contain_text("消除を受け付けました。ありがとうございました。")
    assert public.goto(f"{base}/specialists/300101/").status == 404
