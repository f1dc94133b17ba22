"""The search results as cards in a real browser (issue 15, point 8).

The ten-column table cut its last columns off at 1280 px and wrapped its
cells every 3-4 characters. Each specialist is now a card whose facts are
grouped as the 2025 mock table orders them. At 390, 768 and 1280 px, with
and without filters: nothing overflows sideways, every fact lies inside its
card, no text is clipped, and a theme name is not broken into short lines.
Screenshots go to the test artefacts directory (SEKISPE_ARTEFACTS, default
var/test-artefacts), never into git."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import create_specialists, make_input

pytestmark = [pytest.mark.browser, pytest.mark.layout]

WIDTHS = (390, 768, 1280)
ARTEFACTS = Path(os.environ.get("SEKISPE_ARTEFACTS", "var/test-artefacts"))
PAGES = {
    "search": "/specialists/",
    # The filtered state: a region, a theme, a form and the first-free flag.
    "filtered": "/specialists/?region=kinki&theme=1&theme=3&form=visit&first_free=1",
    # With the specialist not accepting now, whose card carries 受付停止中.
    "all": "/specialists/?include_not_accepting=1",
}
CARDS = {"search": 4, "filtered": 3, "all": 5}

# Leaf elements whose text is cut off by their own box (overflow hidden or clip);
# text hidden on purpose for screen readers (.visually-hidden) is meant to be.
CLIPPED = """
() => [...document.querySelectorAll('body *')]
  .filter(e => e.children.length === 0 && e.textContent.trim())
  .filter(e => !e.closest('.visually-hidden'))
  .filter(e => {
    const s = getComputedStyle(e);
    return ['hidden', 'clip'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1;
  })
  .map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 40))
"""

# Every label and value of every card, with the card's box and its own.
OUTSIDE_CARD = """
() => [...document.querySelectorAll('.result-card')].flatMap(card => {
  const c = card.getBoundingClientRect();
  return [...card.querySelectorAll('h3, dt, dd, li, .badge, .status')]
    .filter(e => {
      const r = e.getBoundingClientRect();
      return r.left < c.left - 0.5 || r.right > c.right + 0.5
          || r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5;
    })
    .map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 30));
})
"""

# How many lines each theme chip takes (its height over its line height).
THEME_LINES = """
() => [...document.querySelectorAll('.result-card .themes li')].map(e => {
  const s = getComputedStyle(e);
  const line = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.7;
  return [e.textContent.trim(), Math.round(e.getBoundingClientRect().height / line)];
})
"""


@pytest.fixture
def specialists(transactional_db):
    """One specialist with every item at its longest, and a few ordinary ones."""
    create_specialists(
        make_input(
            registration_number="800001",
            name="長谷川 久美子",
            name_kana="ハセガワ クミコ",
            prefectures=("25", "26", "27", "28", "29", "30", "24", "21", "13"),
            themes=(1, 2, 3, 4, 5),
            syllabus_items=("1-1", "1-6", "2-2", "3-4", "4-3"),
            industries=("E", "G", "H", "I", "K", "R"),
            periods=("spot", "1-3m", "3-6m", "6-12m", "12m+"),
            first_free=True,
            fees={"visit": 100000, "online": 30000, "training": 55000, "product": 80000},
            qualifications=("itc", "smeca", "csa", "pe", "cpa"),
            other_qualifications="ISMS審査員補、情報処理安全確保支援士（実践講習講師）",
            affiliation="company",
            company_name="関西サイバーセキュリティコンサルティング株式会社",
        ),
        make_input(
            registration_number="800002",
            name="中村 由美",
            prefectures=("27",),
            themes=(3,),
            first_free=True,
            fees={"visit": 20000},
        ),
        make_input(
            registration_number="800003",
            name="高橋 誠",
            prefectures=("26", "27"),
            themes=(1, 3),
            first_free=True,
            fees={"visit": 30000, "online": 10000},
            affiliation="sole",
        ),
        make_input(registration_number="800004", name="鈴木 花子", prefectures=("13",)),
        make_input(
            registration_number="800005",
            name="渡辺 翔",
            prefectures=("13",),
            availability="not_accepting",
        ),
    )


def test_result_cards_fit_390_768_and_1280_with_and_without_filters(
    specialists, live_server, chromium
):
    problems: list[str] = []
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        context = chromium.new_context(locale="ja-JP", viewport={"width": width, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, e=errors: m.type == "error" and e.append(m.text))
        page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
        for name, path in PAGES.items():
            page.goto(live_server.url + path)
            page.wait_for_load_state()
            where = f"{name} at {width}"
            cards = page.locator(".result-card").count()
            expected = CARDS[name]
            if cards != expected:
                problems.append(f"{where}: {cards} cards, expected {expected}")
            scroll, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll > inner:
                problems.append(f"{where}: page {scroll} px wide")
            if clipped := page.evaluate(CLIPPED):
                problems.append(f"{where}: clipped {clipped}")
            if outside := page.evaluate(OUTSIDE_CARD):
                problems.append(f"{where}: outside its card {outside}")
            if name == "all" and not page.locator(".result-card .status.off").is_visible():
                problems.append(f"{where}: no 受付停止中 shown")
            lines = dict(page.evaluate(THEME_LINES))
            if not lines:
                problems.append(f"{where}: no theme shown")
            # A theme name is one short phrase: at 1280 it stays on one line,
            # and even on a phone it never breaks into a column of fragments.
            limit = 1 if width == 1280 else 2
            if broken := {t: n for t, n in lines.items() if n > limit}:
                problems.append(f"{where}: themes broken over lines {broken}")
            page.screenshot(path=str(ARTEFACTS / f"search-{name}-{width}.png"), full_page=True)
        problems += [f"console at {width}: {e}" for e in errors]
        context.close()
    assert not problems, problems


def test_the_longest_card_keeps_short_values_whole_at_1280(specialists, live_server, chromium):
    """Short values (a period, a fee, the affiliation) are not split mid-word:
    each fits on one line at 1280 px, where the table wrapped them every few
    characters."""
    context = chromium.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + "/specialists/?q=" + "長谷川")
    page.wait_for_load_state()
    card = page.locator(".result-card", has_text="長谷川 久美子")
    heights = card.evaluate(
        """card => [...card.querySelectorAll('.periods li, .fees li, .regions li')]
          .map(e => {
            const s = getComputedStyle(e);
            const line = parseFloat(s.lineHeight);
            return [e.textContent.trim(), Math.round(e.getBoundingClientRect().height / line)];
          })"""
    )
    context.close()
    assert heights, "no period, fee or region shown"
    assert {text: n for text, n in heights if n > 1} == {}


def test_english_cards_fit_a_phone_and_keep_spaces_between_items(
    specialists, live_server, chromium
):
    problems: list[str] = []
    for width in (390, 1280):
        context = chromium.new_context(locale="en-GB", viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        page = context.new_page()
        page.goto(live_server.url + "/specialists/?q=" + "長谷川")
        page.wait_for_load_state()
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            problems.append(f"{width}: page {scroll} px wide")
        if outside := page.evaluate(OUTSIDE_CARD):
            problems.append(f"{width}: outside its card {outside}")
        # "Tokyo," and "Gifu" on one line, with a space between them.
        first, second = page.locator(".result-card .regions li").all()[:2]
        a, b = first.bounding_box(), second.bounding_box()
        if first.inner_text() != "Tokyo," or a["y"] != b["y"] or b["x"] - (a["x"] + a["width"]) < 2:
            problems.append(f"{width}: no space after {first.inner_text()!r}: {a} {b}")
        page.screenshot(path=str(ARTEFACTS / f"search-en-{width}.png"), full_page=True)
        context.close()
    assert not problems, problems
