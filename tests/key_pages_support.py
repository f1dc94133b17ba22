"""The world and the in-page checks of tests/test_key_pages_browser.py
(issue 15, "How to prove it"): docs/accessibility-testing.md."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from django.utils import timezone

from sekispe.reference import services as ref

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 A and AA: axe tags each rule with the version that introduced it.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Pages as (persona, path template); the templates name keys of the world.
PAGES: dict[str, tuple[str | None, str]] = {
    "start": (None, "/"),
    "search": (None, "/specialists/"),
    "search-filtered": (None, "/specialists/?theme=1&prefecture=13&form=online&first_free=on"),
    "detail": (None, "/specialists/{detail}/"),
    "diagnosis": (None, "/diagnosis/"),
    "diagnosis-result": (None, "/diagnosis/r/{diagnosis}/"),
    "inquiry-form": ("sme", "/inquiries/new/{detail}/"),
    "inquiry-detail": ("sme", "/inquiries/{inquiry}/"),
    "me-home": ("specialist", "/me/"),
    "me-listing": ("specialist", "/me/listing/"),
    "me-registry": ("specialist", "/me/registry/"),
    "ops": ("operator", "/ops/"),
    "review": ("operator", "/ops/reviews/{review}/"),
    "renewals": ("operator", "/ops/renewals/"),
    "event-report": ("institution", "/events/{event}/report/"),
    "api-docs": (None, "/api/v1/docs"),
}
WIDTHS = (390, 768, 1280)

PROFILE = (
    "中小企業の情報セキュリティ規程の整備、ランサムウェア対策、従業員教育を支援しています。"
    "製造業と小売業での支援実績が多く、ISMS（ISO/IEC 27001）の認証取得も支援します。"
    "連絡先：security-consulting-support@example.jp、https://www.example.jp/security/consulting/"
)


def build_world() -> dict[str, Any]:
    """One of each thing the key pages show, written through the real services.
    Returns the accounts' e-mail addresses per persona and the path keys."""
    from sekispe.diagnosis import rules as diagnosis_rules
    from sekispe.diagnosis import services as diagnosis_services
    from sekispe.events import services as events
    from sekispe.inquiries.models import InquiryState
    from sekispe.listings import lifecycle
    from sekispe.listings.lifecycle import ListingChanges
    from tests.factories import create_specialists, make_input, make_user, random_inputs
    from tests.inquiry_support import create_inquiry, listing_of

    create_specialists(*random_inputs(random.Random(15), 12))
    detail = make_input(
        registration_number="500201",
        name="長谷川 由紀子",
        name_kana="ハセガワ ユキコ",
        prefectures=("13", "11", "12", "14", "19"),
        themes=tuple(ref.THEME_CODES),
        syllabus_items=tuple(ref.SYLLABUS_CODES[:8]),
        industries=tuple(ref.INDUSTRY_CODES[:6]),
        periods=tuple(ref.PERIOD_CODES),
        qualifications=tuple(ref.QUALIFICATION_CODES[:3]),
        first_free=True,
        fees={code: 10000 + 5000 * n for n, code in enumerate(ref.FORM_CODES)},
        company_name="サンプル情報セキュリティコンサルティング株式会社",
        affiliation=ref.AFFILIATION_CODES[-1],
        profile=PROFILE,
        track_record="ＳＥＣＵＲＩＴＹ ＡＣＴＩＯＮ 二つ星の宣言を支援（2024年度 12社、2025年度 18社）",
        web="https://www.example.jp/security/consulting/specialists/hasegawa-yukiko/profile",
    )
    reviewed = make_input(registration_number="500202", name="森 達也", themes=(1, 2))
    create_specialists(detail, reviewed)

    from sekispe.registry.models import RegistryRecord

    specialist = make_user(
        "specialist",
        "hasegawa@keypages.example.jp",
        record=RegistryRecord.objects.get(registration_number="500201"),
    )
    reviewed_user = make_user(
        "specialist",
        "mori@keypages.example.jp",
        record=RegistryRecord.objects.get(registration_number="500202"),
    )
    sme = make_user("sme", "owner@keypages.example.jp", organization="株式会社キーページ確認製作所")
    operator = make_user("operator", "ops@keypages.example.jp")
    institution = make_user(
        "institution", "staff@keypages.example.jp", organization="キーページ商工会議所"
    )

    inquiry = create_inquiry(sme, reviewed_user, InquiryState.IN_GUIDANCE, recorded=1)
    # A gated change of a live listing: it waits for review, the listing stays public.
    lifecycle.update_listing(
        listing_of(reviewed_user),
        ListingChanges(sets={"themes": {1, 2, 3}}, values={"track_record": "標的型攻撃メール訓練"}),
        actor=reviewed_user,
    )
    answers = dict.fromkeys(diagnosis_rules.current().ids, "partly")
    diagnosis = diagnosis_services.record(answers, {"prefecture": "13", "industry": "E"})

    event = events.create_event(
        institution,
        events.EventDetails(
            title="名古屋 情報セキュリティ個別相談会（中小企業向け）",
            held_on=timezone.localdate() + dt.timedelta(days=14),
            capacity=10,
            themes=(1, 5),
            place="名古屋商工会議所 2階 第3会議室",
        ),
    )
    for n in range(3):
        events.register_participant(
            institution,
            event,
            events.ParticipantDetails(
                company_name=f"株式会社参加企業{n}",
                contact_name="担当者",
                email=f"company{n}@keypages.example.jp",
                prefecture="23",
                themes=(1,),
            ),
        )
    return {
        "sessions": {
            persona: _session_of(user)
            for persona, user in {
                "sme": sme,
                "specialist": specialist,
                "operator": operator,
                "institution": institution,
            }.items()
        },
        "detail": "500201",
        "diagnosis": diagnosis.share_token,
        "inquiry": inquiry.pk,
        "review": listing_of(reviewed_user).pk,
        "event": event.pk,
    }


def _session_of(user: Any) -> str:
    """A signed-in session cookie's value: the login page is other tests' job,
    and each sign-in through it costs a password hash."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


# Text cut off by an ancestor whose overflow hides it (hidden or clip). A
# scroll container (auto, scroll) is not clipping: its content can be reached.
# A 1 px box is the visually-hidden pattern for screen-reader text.
CLIPPED_TEXT = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const element = node.parentElement;
    if (!text || !element || getComputedStyle(element).visibility === 'hidden') continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
    if (!rects.length) continue;
    for (let box = element; box && box !== document.documentElement; box = box.parentElement) {
      const style = getComputedStyle(box);
      if (!/hidden|clip/.test(style.overflowX + ' ' + style.overflowY)) continue;
      const r = box.getBoundingClientRect();
      if (r.width <= 2 || r.height <= 2) break;
      const cut = rects.some(t =>
        t.right > r.right + 1 || t.left < r.left - 1 || t.bottom > r.bottom + 1 || t.top < r.top - 1);
      if (cut) {
        const name = element.tagName.toLowerCase() + (element.className ? '.' + String(element.className).split(' ').join('.') : '');
        found.push(`${name}: ${text.slice(0, 40)}`);
        break;
      }
    }
  }
  return found;
}"""

# The widest elements when the page scrolls sideways, to say where to look.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).split(' ').join('.') : '') + ` (${Math.round(e.getBoundingClientRect().right)} px)`)"""

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    resultTypes: ['violations'],
  });
  return result.violations.map(v =>
    `${v.id} (${v.impact}): ${v.help}\\n    ${v.helpUrl}\\n` +
    v.nodes.slice(0, 6).map(n => `    - ${n.target.join(' ')}: ${(n.failureSummary || '').split('\\n').slice(1, 2).join(' ').trim()}`).join('\\n'));
}"""


def axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci` (make test does it)")
    return AXE.read_text(encoding="utf-8")
