"""Demo requests: a few years of decided requests in 000's proportions, and an
open queue for the operator, so the request and report pages have content.

Decided requests are history: the records already hold their outcome, so they
are written directly rather than applied again through the services.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from django.db import transaction
from django.utils import timezone

from sekispe.lib.dates import fiscal_year
from sekispe.registrant_requests.models import (
    DeregistrationReason,
    RegistrantRequest,
    RequestKind,
    RequestStatus,
)
from sekispe.registry.models import RegistryRecord, RegistryStatus
from sekispe.registry.services import completions_by_record, renewal_status_of

# Requests per 20,000 registrants in FY2020 (000, b-1-6).
PER_YEAR_PER_20K = {
    RequestKind.DETAILS_CHANGE: 25,
    RequestKind.CARD_REISSUE: 13,
    RequestKind.CONTACT_CHANGE: 3017,
    RequestKind.PUBLICATION: 376,
    RequestKind.BADGE_LOAN: 237,
    RequestKind.LOGO_USE: 17,
}
# The main reason is cost (000); the rest is our guess at a plausible spread.
DEREGISTRATION_REASONS = (
    (DeregistrationReason.COST, 0.45),
    (DeregistrationReason.COURSE_BURDEN, 0.2),
    (DeregistrationReason.NOT_NEEDED, 0.15),
    (DeregistrationReason.RETIREMENT, 0.1),
    (DeregistrationReason.EMPLOYER, 0.05),
    (DeregistrationReason.OTHER, 0.05),
)
OPEN_QUEUE = (
    RequestKind.DETAILS_CHANGE,
    RequestKind.CONTACT_CHANGE,
    RequestKind.PUBLICATION,
    RequestKind.PUBLICATION,
    RequestKind.CARD_REISSUE,
    RequestKind.DEREGISTRATION,
    RequestKind.BADGE_LOAN,
    RequestKind.LOGO_USE,
)
JST = dt.timezone(dt.timedelta(hours=9))


def create_demo_requests(seed: int, anchor: dt.date) -> Counter[str]:
    """Write the demo requests once; returns counts per status."""
    rng = random.Random(f"{seed}-requests")
    if RegistrantRequest.objects.exists():
        return Counter()
    records = list(RegistryRecord.objects.order_by("registration_number"))
    active = [r for r in records if r.status == RegistryStatus.ACTIVE]
    if not active:
        return Counter()
    rows: list[RegistrantRequest] = []
    scale = len(records) / 20_000
    first_fy = fiscal_year(anchor) - 2
    for fy in range(first_fy, fiscal_year(anchor) + 1):
        year_start = dt.date(fy, 4, 1)
        year_end = min(dt.date(fy + 1, 3, 31), anchor - dt.timedelta(days=1))
        # The running year is only partly over.
        share = (year_end - year_start).days / 365
        for kind, per_20k in PER_YEAR_PER_20K.items():
            for _ in range(round(per_20k * scale * share * rng.uniform(0.8, 1.2))):
                submitted = _day(rng, year_start, year_end)
                rows.append(_decided(rng, rng.choice(active), kind, _payload(rng, kind), submitted))
    # Deregistered demo registrants get the request that ended their registration.
    ended = [r for r in records if r.status == RegistryStatus.DEREGISTERED]
    for record in ended:
        submitted = _day(rng, anchor - dt.timedelta(days=700), anchor - dt.timedelta(days=20))
        rows.append(
            _decided(
                rng, record, RequestKind.DEREGISTRATION, _payload(rng, "deregistration"), submitted
            )
        )
        record.ended_on = (rows[-1].decided_at or timezone.now()).astimezone(JST).date()
    # The open queue: distinct registrants, so no two open requests of a kind collide.
    for kind, record in zip(OPEN_QUEUE, rng.sample(active, len(OPEN_QUEUE)), strict=True):
        rows.append(_open(rng, record, kind, _payload(rng, kind, record), anchor))
    for record in _renewable(active, anchor)[:3]:
        payload = {"expires_on": record.expires_on.isoformat()}
        rows.append(_open(rng, record, RequestKind.RENEWAL, payload, anchor))
    with transaction.atomic():
        RegistrantRequest.objects.bulk_create(rows, batch_size=2000)
        RegistryRecord.objects.bulk_update(ended, ["ended_on"], batch_size=2000)
    return Counter(row.status for row in rows)


def _renewable(active: list[RegistryRecord], anchor: dt.date) -> list[RegistryRecord]:
    """Registrants who could apply for renewal on the anchor day."""
    soon = [r for r in active if (r.expires_on - anchor).days <= 240]
    completions = completions_by_record(r.pk for r in soon)
    return [r for r in soon if renewal_status_of(r, anchor, completions[r.pk]).can_apply]


def _payload(rng: random.Random, kind: str, record: RegistryRecord | None = None) -> dict[str, Any]:
    if kind == RequestKind.DETAILS_CHANGE:
        return {"name": "高橋 由美", "name_kana": "タカハシ ユミ", "reason": "婚姻による姓の変更"}
    if kind == RequestKind.CONTACT_CHANGE:
        number = f"{rng.randint(10, 99)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        payload: dict[str, Any] = {"phone": f"0{number}"}
        if record is not None:
            # An open contact change is one that waits for an operator: a move.
            payload["home_prefecture"] = "13" if record.home_prefecture_id != "13" else "14"
        return payload
    if kind == RequestKind.PUBLICATION:
        return {"published_items": rng.choice([["name", "name_kana"], ["name", "home_prefecture"]])}
    if kind == RequestKind.CARD_REISSUE:
        return {"reason": rng.choice(["lost", "damaged"]), "note": ""}
    if kind == RequestKind.DEREGISTRATION:
        reasons = [reason for reason, _ in DEREGISTRATION_REASONS]
        weights = [weight for _, weight in DEREGISTRATION_REASONS]
        return {"reason": str(rng.choices(reasons, weights=weights)[0]), "note": ""}
    if kind == RequestKind.BADGE_LOAN:
        return {"note": ""}
    if kind == RequestKind.LOGO_USE:
        return {
            "intended_use": "会社案内とホームページに登録セキスペのロゴを掲載するため",
            "medium": "website",
        }
    return {}


def _decided(
    rng: random.Random, record: RegistryRecord, kind: str, payload: dict[str, Any], day: dt.date
) -> RegistrantRequest:
    submitted_at = _at(rng, day)
    rejected = kind != RequestKind.DEREGISTRATION and rng.random() < 0.03
    return RegistrantRequest(
        record=record,
        kind=kind,
        status=RequestStatus.REJECTED if rejected else RequestStatus.APPROVED,
        payload=payload,
        fiscal_year=fiscal_year(day),
        submitted_at=submitted_at,
        decided_at=submitted_at + dt.timedelta(days=rng.randint(1, 10)),
        operator_comment="記載内容に不備があったため、再提出をお願いします。" if rejected else "",
    )


def _open(
    rng: random.Random, record: RegistryRecord, kind: str, payload: dict[str, Any], anchor: dt.date
) -> RegistrantRequest:
    day = anchor - dt.timedelta(days=rng.randint(0, 6))
    return RegistrantRequest(
        record=record,
        kind=kind,
        payload=payload,
        fiscal_year=fiscal_year(day),
        submitted_at=_at(rng, day),
    )


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _at(rng: random.Random, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=JST)
