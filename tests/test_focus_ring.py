"""The focus ring (issue 15, point 10): GOV.UK's yellow-and-black pattern.

The old ring was amber #f0a500 on white, about 2.1:1. Now a focused link turns
yellow with a black bar under it, and a control gets a yellow ring with black
beside it, so against every background the site uses one of the two colours
reaches 3:1 (WCAG 1.4.11 / 2.4.13), and the two contrast with each other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parent.parent / "sekispe" / "static" / "css"
YELLOW, BLACK = "#ffdd00", "#0b0c0c"
OLD_AMBER = "#f0a500"
# Where focusable things sit: cards and fields, the page, table headers, the
# blue header and buttons, the red error summary's links.
BACKGROUNDS = ("#ffffff", "#f6f8fa", "#eef2f6", "#e3eef9", "#0b4f8a", "#8a1f2a", "#fdf0f1")


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of #rrggbb."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rgb(colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


def test_luminance_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast(OLD_AMBER, "#ffffff") == pytest.approx(2.1, abs=0.05)  # the old ring


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_the_ring_reaches_3_to_1_on_every_background(background):
    assert max(contrast(YELLOW, background), contrast(BLACK, background)) >= 3
    assert contrast(YELLOW, BLACK) >= 3  # the two parts tell apart from each other


def _sheet() -> str:
    return (CSS / "sekispe.css").read_text(encoding="utf-8")


def _rule(css: str, selector_start: str) -> str:
    match = re.search(r"(?m)^" + re.escape(selector_start) + r"[^{]*\{([^}]*)\}", css)
    assert match, selector_start
    return match.group(1)


def test_the_stylesheet_uses_the_pattern():
    css = _sheet()
    assert f"--focus: {YELLOW}; --focus-text: {BLACK};" in css
    link = _rule(css, "a:focus-visible ")
    assert "outline: 3px solid transparent" in link
    assert "background-color: var(--focus)" in link
    assert "box-shadow: 0 -2px var(--focus), 0 4px var(--focus-text)" in link
    assert "color: var(--focus-text)" in link
    field = _rule(css, "input:focus-visible, select:focus-visible")
    assert "outline: 3px solid var(--focus)" in field
    assert "box-shadow: inset 0 0 0 2px var(--focus-text)" in field
    button = _rule(css, "button:focus-visible")
    assert "outline: 3px solid var(--focus)" in button and "var(--focus-text)" in button


def test_no_stylesheet_keeps_the_old_amber_ring_or_removes_outlines():
    for path in CSS.glob("*.css"):
        css = path.read_text(encoding="utf-8").lower()
        assert OLD_AMBER not in css and "#ffbf47" not in css, path.name
        assert "outline: none" not in css and "outline:none" not in css, path.name


@pytest.mark.browser
@pytest.mark.layout
def test_a_focused_link_and_button_look_yellow_and_black(live_server, browser_page):
    page = browser_page
    page.goto(f"{live_server.url}/specialists/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")

    page.keyboard.press("Tab")  # the skip link comes first
    link = page.evaluate(
        """() => { const el = document.activeElement, s = getComputedStyle(el);
        return {tag: el.tagName, bg: s.backgroundColor, color: s.color, shadow: s.boxShadow}; }"""
    )
    assert link["tag"] == "A"
    assert link["bg"] == _rgb(YELLOW)
    assert link["color"] == _rgb(BLACK)
    assert _rgb(BLACK) in link["shadow"] and _rgb(YELLOW) in link["shadow"]

    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    button = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
        return {tag: document.activeElement.tagName, outline: s.outlineColor,
                width: s.outlineWidth, style: s.outlineStyle, shadow: s.boxShadow}; }"""
    )
    assert button["tag"] == "BUTTON"
    assert button["outline"] == _rgb(YELLOW) and button["width"] == "3px"
    assert button["style"] == "solid"
    assert _rgb(BLACK) in button["shadow"]
    # Against the page behind it, the black part reaches 3:1.
    behind = "#{:02x}{:02x}{:02x}".format(*map(int, re.findall(r"\d+", background)[:3]))
    assert contrast(BLACK, behind) >= 3
