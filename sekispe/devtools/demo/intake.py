"""Demo registration applications for /ops/applications/: open ones of each
kind (exam passer, exemption, overseas) and one already sent back. Written
through the intake service so they look like the real thing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from sekispe.intake import services
from sekispe.intake.models import ApplicationStatus, RegistrationApplication

DOMAIN = "@demo.sekispe.example"

APPLICATIONS: tuple[dict[str, Any], ...] = (
    {
        "name": "中村 彩",
        "name_kana": "ナカムラ アヤ",
        "birth_date": dt.date(1994, 7, 3),
        "home_prefecture_id": "13",
        "address": "東京都文京区本駒込2-28-8",
        "email": f"intake-nakamura{DOMAIN}",
        "qualification": "exam",
        "exam_year": 2025,
        "exam_season": "spring",
        "examinee_number": "SC250-0412",
        "employer": "株式会社デモソフト",
        "employer_industry_id": "G",
        "published_items": ["name", "home_prefecture", "registered_on"],
    },
    {
        "name": "小林 大輔",
        "name_kana": "コバヤシ ダイスケ",
        "birth_date": dt.date(1981, 11, 20),
        "home_prefecture_id": "23",
        "address": "愛知県名古屋市中区三の丸1-1",
        "email": f"intake-kobayashi{DOMAIN}",
        "qualification": "exemption",
        "exemption_basis": "approved_course",
        "exemption_detail": "認定講習 修了証 第2024-018号",
        "employer": "デモ製作所株式会社",
        "employer_industry_id": "E",
        "published_items": ["name"],
    },
    {
        "name": "森 健",
        "name_kana": "モリ ケン",
        "birth_date": dt.date(1987, 2, 14),
        "overseas": True,
        "home_prefecture_id": None,
        "address": "1 Demo Road, Singapore",
        "email": f"intake-mori{DOMAIN}",
        "qualification": "exam",
        "exam_year": 2024,
        "exam_season": "autumn",
        "examinee_number": "SC244-1093",
        "published_items": [],
    },
    {
        "name": "石井 恵",
        "name_kana": "イシイ メグミ",
        "birth_date": dt.date(1990, 4, 9),
        "home_prefecture_id": "27",
        "address": "大阪府大阪市北区梅田1-1",
        "email": f"intake-ishii{DOMAIN}",
        "qualification": "exam",
        "exam_year": 2025,
        "exam_season": "autumn",
        "examinee_number": "SC255-0077",
        "published_items": ["name"],
        # Sent back: the examinee number does not match the list of passers.
        "_send_back": "受験番号が合格者の名簿と一致しません。合格証書の受験番号を確かめてください。",
    },
)


def create_demo_applications() -> dict[str, int]:
    """Add the demo applications not there yet (by e-mail); return counts by state."""
    counts: dict[str, int] = {}
    for spec in APPLICATIONS:
        details = {k: v for k, v in spec.items() if not k.startswith("_")}
        if RegistrationApplication.objects.filter(email=details["email"]).exists():
            continue
        application = services.submit_application(details)
        if "_send_back" in spec:
            # No operator account exists without --accounts, so the decision is
            # written as a record of the past, without a mail.
            RegistrationApplication.objects.filter(pk=application.pk).update(
                status=ApplicationStatus.SENT_BACK,
                send_back_message=spec["_send_back"],
                decided_at=timezone.now(),
            )
        state = ApplicationStatus.SENT_BACK if "_send_back" in spec else ApplicationStatus.SUBMITTED
        counts[state] = counts.get(state, 0) + 1
    return counts
