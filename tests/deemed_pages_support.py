"""Building deemed-attendance applications for the page tests and the permission rows."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone

from sekispe.deemed import services
from sekispe.deemed.models import DeemedApplication
from sekispe.outbox.models import OutgoingMail

# An honest description in its own words (no published example's phrasing): 400+
# characters without spaces.
DESCRIPTION = (
    "物流倉庫を運営する取引先の依頼で、倉庫管理システムと無線ハンディ端末の運用について、"
    "セキュリティ監視の仕組みを見直した。着手時点では、システムのログが各サーバに分散し、"
    "保存期間も七日程度しかなく、夜間に不審な接続があっても翌朝まで誰も気付けない状態だった。"
    "私は担当の情報システム課長と二人で、どの操作を記録すべきかを業務の流れに沿って洗い出し、"
    "管理者権限での設定変更、深夜帯の大量出力、退職者アカウントでの接続試行の三つを重点項目とした。"
    "次に、既存のログ収集製品の設定を改め、ログを一か所に集約して九十日保存する構成を提案し、"
    "検知ルールを十四本作成した。試験運用の二週間で誤検知が多かった二本は閾値を調整し、"
    "残りは担当者の携帯に通知が届くようにした。あわせて、通知を受けたときの初動手順を一枚の"
    "手順書にまとめ、夜間当番の社員三名に読み合わせと模擬訓練を行った。運用開始後の月例会議では、"
    "検知件数と対応時間を報告する様式を定め、課長が自ら傾向を説明できるようにした。"
)


def work(**overrides: Any) -> services.WorkDeclaration:
    today = timezone.localdate()
    base: dict[str, Any] = {
        "syllabus_item": "3-4",
        "organisation": "株式会社サンプル倉庫",
        "relation": "client",
        "role": "外部アドバイザー",
        "started_on": today - dt.timedelta(days=90),
        "ended_on": today - dt.timedelta(days=10),
        "hours": 60,
        "work_summary": "倉庫管理システムのログ監視の見直し",
        "description": DESCRIPTION,
    }
    return services.WorkDeclaration(**{**base, **overrides})


def certifier(**overrides: Any) -> services.Certifier:
    base = {
        "name": "倉庫 一郎",
        "title": "情報システム課長",
        "organisation": "株式会社サンプル倉庫",
        "email": "ichiro@souko.example.jp",
    }
    return services.Certifier(**{**base, **overrides})


def form_data(**overrides: Any) -> dict[str, Any]:
    """The POST of /me/deemed/new/ for `work()` and `certifier()`."""
    w, c = work(), certifier()
    data = {
        "syllabus_item": w.syllabus_item,
        "organisation": w.organisation,
        "relation": w.relation,
        "role": w.role,
        "started_on": w.started_on.isoformat(),
        "ended_on": w.ended_on.isoformat(),
        "hours": str(w.hours),
        "work_summary": w.work_summary,
        "description": w.description,
        "certifier_name": c.name,
        "certifier_title": c.title,
        "certifier_organisation": c.organisation,
        "certifier_email": c.email,
        "oath": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def latest_token(application: DeemedApplication) -> str:
    """The token of the newest link mailed for `application` (only its hash is stored)."""
    mail = (
        OutgoingMail.objects.filter(template="deemed_certify", to=application.certifier_email)
        .order_by("-created_at", "-pk")
        .first()
    )
    assert mail is not None
    match = re.search(r"/certify/([A-Za-z0-9_-]+)/", mail.body)
    assert match is not None
    return match.group(1)


def apply(user: Any, **overrides: Any) -> tuple[DeemedApplication, str]:
    """An application awaiting certification, and the token mailed to its certifier."""
    email = overrides.pop("email", None)
    application = services.apply(
        user,
        work(**overrides),
        certifier(**({"email": email} if email else {})),
        oath=True,
    )
    return application, latest_token(application)
