"""A past registrant mailing for /ops/mailings/: the briefing for people who
passed the exam but have not registered (the demo applications), queued
through the mailing service and then recorded as sent a week before the run,
so the demo's worker sends nothing."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from sekispe.onboarding import services
from sekispe.onboarding.models import Mailing, MailingKind, MailingRecipient, Segment
from sekispe.outbox.models import MailState, OutgoingMail

SUBJECT = "【IPA】情報処理安全確保支援士の登録手続きのご案内"
BODY = """情報処理安全確保支援士試験に合格された皆さまへ

登録の申請をいただき、ありがとうございます。
審査中の方、差し戻しを受けた方に、登録までの流れをお知らせします。

1. 差し戻しを受けた方は、メールの内容を確かめて、もう一度申請してください。
2. 審査が終わると、登録番号と登録日をメールでお知らせします。
3. 登録日は、承認の後の4月1日または10月1日です。

ご不明な点は、お問い合わせ窓口までご連絡ください。
"""


def create_demo_mailing() -> int:
    """The past mailing, once; returns how many people it went to (0 when it exists)."""
    if Mailing.objects.filter(subject=SUBJECT).exists():
        return 0
    if not services.mailing_recipients(Segment.PASSED_NOT_REGISTERED, MailingKind.NOTICE):
        return 0
    sent_at = timezone.now() - dt.timedelta(days=7)
    with transaction.atomic():
        mailing = services.create_mailing(
            kind=MailingKind.NOTICE,
            segment=Segment.PASSED_NOT_REGISTERED,
            subject=SUBJECT,
            body=BODY,
            measure=None,
            actor=None,
        )
        mailing = services.queue_mailing(mailing)
        mail_ids = MailingRecipient.objects.filter(mailing=mailing).values("mail_id")
        OutgoingMail.objects.filter(pk__in=mail_ids).update(
            state=MailState.SENT,
            attempts=1,
            created_at=sent_at,
            next_attempt_at=sent_at,
            sent_at=sent_at + dt.timedelta(minutes=1),
        )
        Mailing.objects.filter(pk=mailing.pk).update(created_at=sent_at, queued_at=sent_at)
    return mailing.recipient_count
