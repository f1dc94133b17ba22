"""Demo notices for the start page, written through the notice service so
they are audited like an operator's."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from sekispe.pages.models import Notice
from sekispe.pages.services import create_notice

# (days before the anchor, title, body)
NOTICES = (
    (
        7,
        "登録セキスペ アクティブリストの試行を始めました",
        "中小企業の情報セキュリティ対策を相談できる登録セキスペを、地域や相談したいテーマから"
        "探せます。\n掲載している専門家は、試行の間に順次増えていきます。"
        "ご意見は、お問い合わせの窓口からお寄せください。",
    ),
    (
        2,
        "支援機関の方へ：相談会の申し込みリンクを使えるようになりました",
        "商工会議所などの支援機関は、相談会を作成すると、参加企業が自分で申し込める"
        "リンクを受け取れます。\n相談会のあと、参加企業を登録セキスペに紹介することもできます。"
        "アカウントの作成は、IPAの担当までご連絡ください。",
    ),
)


def create_demo_notices(anchor: dt.date) -> int:
    """Add the demo notices not there yet (by title); return how many were added."""
    added = 0
    for days, title, body in NOTICES:
        if Notice.objects.filter(title=title).exists():
            continue
        day = anchor - dt.timedelta(days=days)
        published_at = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
        create_notice(
            {"title": title, "body": body, "published_at": published_at, "until": None},
            actor=None,
        )
        added += 1
    return added
