"""Shared pieces of the registration intake tests (issue 16, part 4)."""

from __future__ import annotations

from typing import Any

from sekispe.intake import services
from sekispe.intake.models import RegistrationApplication


def valid_post(**overrides: Any) -> dict[str, Any]:
    """A complete, valid /register/ form submission (exam passer in Tokyo)."""
    data: dict[str, Any] = {
        "name": "高橋 誠",
        "name_kana": "タカハシ マコト",
        "birth_date": "1990-05-12",
        "home_prefecture": "13",
        "address": "東京都千代田区丸の内1-1-1",
        "email": "takahashi@example.jp",
        "qualification": "exam",
        "exam_year": "2025",
        "exam_season": "spring",
        "examinee_number": "SC123-4567",
        "exemption_basis": "",
        "exemption_detail": "",
        "employer": "株式会社サンプル情報",
        "employer_industry": "G",
        "published_items": ["name", "home_prefecture"],
        "pledge": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def make_application(n: int = 0, **overrides: Any) -> RegistrationApplication:
    details: dict[str, Any] = {
        "name": f"申請 太郎{n}",
        "name_kana": "シンセイ タロウ",
        "birth_date": "1988-01-02",
        "overseas": False,
        "home_prefecture_id": "27",
        "address": "大阪府大阪市北区1-2-3",
        "email": f"applicant{n}@example.jp",
        "qualification": "exam",
        "exam_year": 2025,
        "exam_season": "autumn",
        "examinee_number": f"SC{n:03d}-0001",
        "employer_industry_id": "G",
        "published_items": ["name"],
    }
    details.update(overrides)
    return services.submit_application(details)
