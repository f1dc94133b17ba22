"""`sekispe expire-inquiries` (daily): inquiries unanswered for 7 days expire,
and the company is told and shown similar specialists. Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sekispe.inquiries import services


class Command(BaseCommand):
    help = "返答期限（7日）を過ぎた依頼を期限切れにし、依頼した会社に知らせます。"

    def handle(self, *args: Any, **options: Any) -> None:
        expired = services.expire_overdue()
        self.stdout.write(f"期限切れにした依頼: {len(expired)} 件")
