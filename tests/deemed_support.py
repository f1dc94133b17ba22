"""Deemed-attendance applications in a given state, quickly, through the services.

`make_application(user_or_record, status=...)` applies for the registrant and
walks the application through the same service calls the pages make (the
certifier's link is answered as the mailed link would be), so what a test
sees is what the real flow leaves behind: history, audit events, mail, the
registry credit. Each call takes the next of the 50 honest descriptions in
`sekispe/devtools/demo/data/deemed_descriptions.json`, so applications made
here are not flagged as similar to each other unless a test asks for it by
passing `description=`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

from django.utils import timezone

from sekispe.accounts.models import User
from sekispe.deemed import services
from sekispe.deemed.models import AuditState, DeemedApplication, DeemedStatus
from sekispe.registry.models import RegistryRecord
from tests.factories import make_specialist_user, make_user

DESCRIPTIONS: list[dict[str, str]] = json.loads(
    (
        Path(__file__).resolve().parent.parent
        / "sekispe/devtools/demo/data/deemed_descriptions.json"
    ).read_text("utf-8")
)
_next_description = itertools.cycle(range(len(DESCRIPTIONS)))

WORK_FIELDS = frozenset(services.WorkDeclaration.__dataclass_fields__)
CERTIFIER_FIELDS = {
    "certifier_name": "name",
    "certifier_title": "title",
    "certifier_organisation": "organisation",
    "certifier_email": "email",
}


def _operator() -> Any:
    operator = User.objects.filter(role="operator").order_by("pk").first()
    return operator or make_user("operator", "deemed-support-operator@ipa.example.jp")


def specialist_for(record: RegistryRecord) -> Any:
    """The record's account, made if it has none."""
    user = User.objects.filter(record=record).first()
    return user or make_user("specialist", record=record)


def make_application(
    owner: Any,
    status: str = DeemedStatus.SUBMITTED,
    *,
    operator: Any = None,
    note: str = "確認しました。",
    today: dt.date | None = None,
    **overrides: Any,
) -> DeemedApplication:
    """An application of `owner` (a specialist `User` or a `RegistryRecord`) in `status`.

    `overrides` are fields of `WorkDeclaration` (`syllabus_item`, `description`,
    `started_on`, …) or `certifier_name` / `certifier_title` /
    `certifier_organisation` / `certifier_email`. `operator` decides (default:
    the first operator, made if there is none); `note` is the decision's text.
    `revoked` is an approved application found false in a sample audit (the
    audit is marked directly, without a draw, so no other application is touched).
    """
    user = specialist_for(owner) if isinstance(owner, RegistryRecord) else owner
    unknown = set(overrides) - WORK_FIELDS - set(CERTIFIER_FIELDS)
    if unknown:
        raise TypeError(f"unknown overrides: {sorted(unknown)}")
    today = today or timezone.localdate()
    text = DESCRIPTIONS[next(_next_description)]
    work = {
        "syllabus_item": text["syllabus"],
        "organisation": "株式会社テスト製作所",
        "relation": "employer",
        "role": "情報システム部 主任",
        "started_on": today - dt.timedelta(days=90),
        "ended_on": today - dt.timedelta(days=7),
        "hours": 60,
        "work_summary": "情報セキュリティに関する業務",
        "description": text["text"],
        **{k: v for k, v in overrides.items() if k in WORK_FIELDS},
    }
    certifier = {
        "name": "証明 太郎",
        "title": "情報システム部長",
        "organisation": work["organisation"],
        "email": f"certifier-{user.record.registration_number}@example.co.jp",
        **{CERTIFIER_FIELDS[k]: v for k, v in overrides.items() if k in CERTIFIER_FIELDS},
    }
    application = services.apply(
        user,
        services.WorkDeclaration(**work),
        services.Certifier(**certifier),
        oath=True,
        today=today,
    )
    if status == DeemedStatus.AWAITING_CERTIFICATION:
        return application
    if status == DeemedStatus.WITHDRAWN:
        return services.withdraw(user, application)
    # Answer the link as the certifier would: the mailed token is known only by its hash.
    token = f"support-{application.pk}"
    application.certifications.update(token_hash=services.hash_token(token))
    if status == DeemedStatus.CERTIFICATION_DECLINED:
        return services.decline_certification(
            token, reason="記載の期間、申請者は別の部署にいました。", address_hash=""
        )
    application = services.certify(
        token, name=certifier["name"], title=certifier["title"], address_hash="0" * 64
    )
    operator = operator or _operator()
    if status == DeemedStatus.SUBMITTED:
        return application
    if status == DeemedStatus.INFO_REQUESTED:
        return services.request_information(application, operator, "報告書の日付を教えてください。")
    if status == DeemedStatus.REJECTED:
        return services.reject(application, operator, note)
    application = services.approve(application, operator, note)
    if status == DeemedStatus.APPROVED:
        return application
    if status == DeemedStatus.REVOKED:
        DeemedApplication.objects.filter(pk=application.pk).update(
            audit_state=AuditState.UNDER_AUDIT
        )
        return services.record_audit_outcome(
            application, operator, false_claim=True, note="証明者は業務を確認していなかった。"
        )
    raise ValueError(f"unknown status: {status}")


_numbers = itertools.count(700001)


def make_registrant(days_to_expiry: int = 300, **fields: Any) -> Any:
    """A specialist (account, record, listing) whose period ends `days_to_expiry`
    days from today: the renewal-application deadline is 60 days earlier."""
    expires_on = timezone.localdate() + dt.timedelta(days=days_to_expiry)
    return make_specialist_user(f"{next(_numbers)}", expires_on=expires_on, **fields)


def make_active_list_application(user: Any, company: Any = None) -> DeemedApplication:
    """A submitted application of `user` certified by a confirmed Active List
    engagement (the company's confirmation is the certification)."""
    from sekispe.inquiries.models import InquiryState
    from tests.inquiry_support import create_inquiry

    company = company or make_user("sme", organization="株式会社アクティブ確認")
    confirmation = create_inquiry(company, user, state=InquiryState.CONFIRMED).confirmation
    known = services.work_from_confirmation(confirmation)
    today = timezone.localdate()
    text = DESCRIPTIONS[next(_next_description)]
    work = services.WorkDeclaration(
        syllabus_item=services.candidate_items(confirmation)[0].code,
        organisation=known["organisation"],
        relation=known["relation"],
        role="外部アドバイザー",
        started_on=known["started_on"] or today - dt.timedelta(days=60),
        ended_on=known["ended_on"] or today - dt.timedelta(days=1),
        hours=24,
        work_summary="アクティブリスト経由の指導",
        description=text["text"],
    )
    return services.apply_from_confirmation(user, confirmation, work, oath=True)
