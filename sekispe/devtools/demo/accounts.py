"""Demo accounts for `make run`: one per role, so every page can be tried at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from sekispe.accounts.models import Role, User
from sekispe.core.changes import record_everything
from sekispe.devtools.demo.diagnosis import create_demo_history
from sekispe.devtools.demo.inquiries import create_demo_inquiries
from sekispe.devtools.demo.listings import create_demo_review_queue
from sekispe.listings.models import Listing, ListingStatus
from sekispe.registry.models import RegistryStatus

# Printed by seed-demo; only ever used on a developer's machine.
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    note: str


def create_demo_accounts(review_queue: int = 12) -> list[DemoAccount]:
    """Create (or keep) the demo accounts, and put a few listings in the review queue."""
    now = timezone.now()
    accounts: list[DemoAccount] = []
    with transaction.atomic():

        def ensure(email: str, role: str, note: str, **extra: object) -> None:
            if not User.objects.filter(email=email).exists():
                User.objects.create_user(
                    email, DEMO_PASSWORD, role=role, email_verified_at=now, **extra
                )
            accounts.append(DemoAccount(email, role, note))

        ensure("operator@demo.sekispe.example", Role.OPERATOR, "IPA運営者", is_staff=True,
               display_name="運営 太郎")  # fmt: skip
        ensure("sme@demo.sekispe.example", Role.SME, "中小企業（自己診断の履歴3回分つき）",
               organization="株式会社デモ製作所",
               display_name="中小 花子")  # fmt: skip
        create_demo_history(User.objects.get(email="sme@demo.sekispe.example"))
        ensure("cci@demo.sekispe.example", Role.INSTITUTION, "支援機関",
               organization="デモ商工会議所", display_name="支援 一郎")  # fmt: skip
        ensure("analyst@demo.sekispe.example", Role.ANALYST, "政策担当（集計の閲覧）",
               organization="デモ省 政策課", display_name="政策 花子")  # fmt: skip
        listing = (
            Listing.objects.filter(
                status=ListingStatus.PUBLISHED,
                record__status=RegistryStatus.ACTIVE,
                record__account__isnull=True,
            )
            .select_related("record")
            .order_by("record__registration_number")
            .first()
        )
        existing = User.objects.filter(email="specialist@demo.sekispe.example").first()
        if existing is None and listing is not None:
            ensure("specialist@demo.sekispe.example", Role.SPECIALIST,
                   f"登録セキスペ（登録番号 {listing.record.registration_number}）",
                   record=listing.record, display_name=listing.record.name)  # fmt: skip
        elif existing is not None:
            accounts.append(DemoAccount(existing.email, Role.SPECIALIST, "登録セキスペ"))
        # A few listings waiting for review, so the operator's queue is not empty.
        create_demo_review_queue(changes=review_queue * 2 // 3, first_time=review_queue // 3)
    create_demo_inquiries()
    if review_queue:
        record_everything()
    return accounts
