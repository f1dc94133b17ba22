"""The inquiry page's stepper and history name each visit (issue 15, point 16):
依頼 → 受諾 → 相談 → 計画 → 訪問 1–3 → 完了 → 確認."""

from __future__ import annotations

import re

import pytest

from sekispe.inquiries import rules
from sekispe.inquiries.models import InquiryState
from tests.factories import make_user
from tests.inquiry_support import create_inquiry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("state", "visits", "reached"),
    [
        ("sent", 0, 1),
        ("accepted", 0, 2),
        ("consulting", 0, 3),
        ("guidance_planned", 0, 4),
        ("in_guidance", 1, 5),
        ("in_guidance", 2, 6),
        ("in_guidance", 3, 7),
        ("completed", 3, 8),
        ("confirmed", 3, 9),
        ("declined", 0, 0),
    ],
)
def test_steps_reached(state, visits, reached):
    assert rules.steps_reached(state, visits) == reached


def _steps(html: str) -> list[tuple[str, str]]:
    stepper = re.search(r'<ol class="stepper".*?</ol>', html, re.S).group(0)
    return [
        (re.sub(r"<[^>]+>|（済み）", "", body).strip(), cls.strip())
        for cls, body in re.findall(r'<li class="step([^"]*)"[^>]*>(.*?)</li>', stepper)
    ]


def test_the_stepper_says_which_visit_comes_next(client_for, specialist):
    sme = make_user("sme", organization="株式会社サンプル製作所")
    inquiry = create_inquiry(sme, specialist, InquiryState.IN_GUIDANCE, recorded=2)
    html = client_for(specialist).get(f"/inquiries/{inquiry.pk}/").content.decode()
    steps = _steps(html)
    assert [name for name, _ in steps] == [
        "依頼", "受諾", "相談", "計画", "訪問1回目", "訪問2回目", "訪問3回目", "完了", "確認",
    ]  # fmt: skip
    assert [cls for _, cls in steps] == ["step-done"] * 6 + ["step-current", "", ""]
    assert 'aria-current="step">訪問3回目' in html
    # The history names each recorded visit instead of repeating 訪問指導中.
    assert "訪問指導（1回目を記録）" in html and "訪問指導（2回目を記録）" in html
    assert "訪問指導中" not in re.search(r'<ol class="history">.*?</ol>', html, re.S).group(0)


def test_a_closed_inquiry_shows_where_it_stopped_with_no_current_step(client_for, specialist):
    sme = make_user("sme", organization="株式会社サンプル製作所")
    inquiry = create_inquiry(sme, specialist, InquiryState.CONFIRMED)
    html = client_for(sme).get(f"/inquiries/{inquiry.pk}/").content.decode()
    assert [cls for _, cls in _steps(html)] == ["step-done"] * 9
    assert 'aria-current="step"' not in html
