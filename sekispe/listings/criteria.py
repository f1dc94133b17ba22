"""The listing criteria (掲載基準): each check with a pass or fail the specialist can read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sekispe.listings.models import Listing, ListingCriteria
from sekispe.reference.models import Affiliation
from sekispe.registry.models import RegistryStatus
from sekispe.registry.rules import valid_until
from sekispe.registry.services import extension_for, renewal_status_of


@dataclass(frozen=True)
class CriterionCheck:
    code: str
    label: str
    passed: bool
    detail: str = ""


def evaluate_criteria(
    listing: Listing, today: dt.date, criteria: ListingCriteria | None = None
) -> list[CriterionCheck]:
    """Every enabled criterion for `listing` on `today`, in the order shown to the specialist."""
    criteria = criteria or ListingCriteria.current()
    record = listing.record
    checks: list[CriterionCheck] = []
    if criteria.require_active_registration:
        active = (
            record.status == RegistryStatus.ACTIVE
            and valid_until(record.expires_on, extension_for(record)) >= today
        )
        checks.append(
            CriterionCheck(
                "registration",
                _("登録が有効である"),
                active,
                "" if active else _("登録の有効期限が切れているか、登録が抹消されています。"),
            )
        )
    if criteria.require_courses_current:
        status = renewal_status_of(record, today)
        checks.append(
            CriterionCheck(
                "courses",
                _("今期の義務講習を受講済みである"),
                status.courses_up_to_date,
                _("未受講：%(items)s") % {"items": "、".join(r.label for r in status.overdue)}
                if status.overdue
                else "",
            )
        )
    if criteria.min_themes:
        count = listing.themes.count()
        checks.append(
            CriterionCheck(
                "themes",
                ngettext(
                    "指導テーマを%(n)d件以上選んでいる",
                    "指導テーマを%(n)d件以上選んでいる",
                    criteria.min_themes,
                )
                % {"n": criteria.min_themes},
                count >= criteria.min_themes,
            )
        )
    if criteria.min_regions:
        count = listing.prefectures.count()
        checks.append(
            CriterionCheck(
                "regions",
                ngettext(
                    "支援地域を%(n)d件以上選んでいる",
                    "支援地域を%(n)d件以上選んでいる",
                    criteria.min_regions,
                )
                % {"n": criteria.min_regions},
                count >= criteria.min_regions,
            )
        )
    if criteria.require_contact:
        has_contact = bool(listing.email or listing.phone or listing.web)
        checks.append(
            CriterionCheck(
                "contact",
                _("連絡手段（メール・電話・ウェブサイトのいずれか）がある"),
                has_contact,
            )
        )
    if criteria.min_profile_chars:
        length = len("".join(listing.profile.split()))
        checks.append(
            CriterionCheck(
                "profile",
                _("プロフィールが%(n)d文字以上ある") % {"n": criteria.min_profile_chars},
                length >= criteria.min_profile_chars,
                _("現在%(n)d文字") % {"n": length},
            )
        )
    if criteria.require_employer_permission and listing.affiliation == Affiliation.COMPANY:
        # 003: specialists whose employer forbids side work are not eligible.
        checks.append(
            CriterionCheck(
                "employer",
                _("勤務先が社外での支援活動を認めていることを申告している"),
                listing.employer_permits_outside_work,
            )
        )
    return checks


def criteria_met(checks: list[CriterionCheck]) -> bool:
    return all(check.passed for check in checks)
