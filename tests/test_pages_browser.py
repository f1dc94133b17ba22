"""The start page and the legal pages in a real browser (issue 15, point 3):
at 390, 768 and 1280 px nothing overflows sideways, no text is clipped, and
the console stays clean under the CSP. Screenshots go to the test artefacts
directory (SEKISPE_ARTEFACTS, default var/test-artefacts), never into git."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone

from sekispe.pages.services import create_notice
from tests.browser_support import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser

WIDTHS = (390, 768, 1280)
PUBLIC = ("/", "/privacy/", "/terms/", "/accessibility/", "/contact/")
ARTEFACTS = Path(os.environ.get("SEKISPE_ARTEFACTS", "var/test-artefacts"))

# Elements whose text is cut off by their own box (overflow hidden or clipped).
CLIPPED = """
() => [...document.querySelectorAll('body *')]
  .filter(e => e.children.length === 0 && e.textContent.trim())
  .filter(e => {
    const s = getComputedStyle(e);
    return ['hidden', 'clip'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1;
  })
  .map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 40))
"""


@pytest.fixture
def world(transactional_db):
    create_notice(
        {
            "title": "登録セキスペ アクティブリストの試行を始めました",
            "body": "中小企業の情報セキュリティ対策を相談できる専門家を探せます。" * 3,
            "published_at": timezone.now(),
            "until": None,
        },
        actor=None,
    )
    return make_user("operator", "ops@pages.example.jp")


@pytest.mark.layout
def test_start_and_legal_pages_fit_every_width_with_a_clean_console(world, live_server, chromium):
    base = live_server.url
    problems: list[str] = []
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        context = chromium.new_context(locale="ja-JP", viewport={"width": width, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, e=errors: m.type == "error" and e.append(m.text))
        page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
        urls = list(PUBLIC)
        for index, path in enumerate([*urls, "/ops/notices/", "/ops/notices/new/"]):
            if index == len(urls):
                sign_in(page, base, world.email)
            page.goto(base + path)
            page.wait_for_load_state()
            scroll, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll > inner:
                problems.append(f"{path} at {width}: {scroll} px wide")
            if clipped := page.evaluate(CLIPPED):
                problems.append(f"{path} at {width}: clipped {clipped}")
            name = path.strip("/").replace("/", "-") or "start"
            page.screenshot(path=str(ARTEFACTS / f"pages-{name}-{width}.png"), full_page=True)
        problems += [f"console at {width}: {e}" for e in errors]
        context.close()
    assert not problems, problems


def test_the_start_page_doors_work_without_javascript(world, live_server, chromium):
    context = chromium.new_context(locale="ja-JP", java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="専門家を探す").click()
    page.wait_for_load_state()
    assert page.url == live_server.url + "/specialists/"
    page.go_back()
    page.get_by_role("main").get_by_role("link", name="自己診断").click()
    page.wait_for_load_state()
    assert page.url == live_server.url + "/diagnosis/"
    context.close()
