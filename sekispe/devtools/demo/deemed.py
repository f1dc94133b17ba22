"""Demo deemed-attendance applications in every state, so the operator's queue
and the audit page have content the first time a newcomer opens them.

Everything goes through `sekispe.deemed.services`, so the demo data is what
the real flow leaves behind: certification links, history, audit events,
registry credits, a recorded audit draw and one revocation case.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from sekispe.accounts.models import Role, User
from sekispe.deemed import services
from sekispe.deemed.models import DeemedApplication
from sekispe.deemed.services import Certifier, WorkDeclaration
from sekispe.registry import rules
from sekispe.registry.models import RegistryRecord, RegistryStatus

# Honest descriptions written for the similarity measurement; the demo uses them too.
DESCRIPTIONS = Path(__file__).parent / "data" / "deemed_descriptions.json"
AUDIT_RATE = "0.25"

# The final state of each; most applications wait for review, as in a real queue.
PLAN: tuple[str, ...] = (
    "awaiting_certification",
    "awaiting_certification",
    "certification_declined",
    "submitted",
    "submitted",
    "submitted",
    "submitted_similar",
    "info_requested",
    "approved",
    "approved",
    "approved",
    "approved",
    "rejected",
    "withdrawn",
    "approved",
    "approved",
)
ORGANISATIONS = (
    ("株式会社みなと精工", "employer", "情報システム課 主任"),
    ("医療法人さくら会", "client", "外部セキュリティアドバイザー"),
    ("北浜物流株式会社", "employer", "経営企画部 課長"),
    ("有限会社ひかり印刷", "client", "情報セキュリティコンサルタント"),
    ("株式会社東雲システム", "employer", "セキュリティ推進室 室長代理"),
    ("山手市役所", "client", "委託事業の技術責任者"),
)
CERTIFIERS = (
    ("青木 和夫", "取締役 管理本部長"),
    ("井上 美穂", "事務長"),
    ("上田 誠", "経営企画部長"),
    ("遠藤 恵", "代表取締役"),
    ("小川 大輔", "情報システム部長"),
    ("加藤 直子", "情報政策課長"),
)


def _eligible_records(today: dt.date, limit: int) -> list[RegistryRecord]:
    """Active registrants without an account, well inside their period, with
    deadlines spread out so the queue shows different days left."""
    records = []
    for record in RegistryRecord.objects.filter(
        status=RegistryStatus.ACTIVE, account__isnull=True, extension_measure__isnull=True
    ).order_by("registration_number")[:2000]:
        deadline = rules.application_deadline(record.expires_on)
        start = rules.period_start(record.expires_on)
        if deadline >= today + dt.timedelta(days=5) and start <= today - dt.timedelta(days=150):
            records.append(record)
    records.sort(key=lambda r: (r.expires_on, r.registration_number))
    step = max(1, len(records) // limit)
    return records[::step][:limit]


def create_demo_deemed(seed: int) -> Counter[str]:
    """Write the demo applications once; returns counts per status."""
    if DeemedApplication.objects.exists():
        return Counter()
    today = timezone.localdate()
    rng = random.Random(seed)
    pool = json.loads(DESCRIPTIONS.read_text("utf-8"))
    rng.shuffle(pool)
    records = _eligible_records(today, len(PLAN))
    operator = User.objects.filter(role=Role.OPERATOR).order_by("pk").first()
    if operator is None:
        operator = User.objects.create_user(
            "deemed-operator@demo.sekispe.example", None, role=Role.OPERATOR, is_staff=True
        )
    with transaction.atomic():
        created: list[tuple[str, DeemedApplication]] = []
        for n, (plan, record) in enumerate(zip(PLAN, records, strict=False)):
            user = User.objects.create_user(
                f"deemed-{n + 1:02d}@demo.sekispe.example",
                None,
                role=Role.SPECIALIST,
                record=record,
                display_name=record.name,
                email_verified_at=timezone.now(),
            )
            text = pool[n % len(pool)]
            description = text["text"]
            if plan == "submitted_similar":
                # Someone else's description with a few words changed: flagged, not refused.
                description = created[3][1].description.replace("。", "。\n", 2)
            org, relation, role = ORGANISATIONS[n % len(ORGANISATIONS)]
            name, title = CERTIFIERS[n % len(CERTIFIERS)]
            start = max(rules.period_start(record.expires_on), today - dt.timedelta(days=400))
            started = start + dt.timedelta(days=rng.randrange(0, 60))
            work = WorkDeclaration(
                syllabus_item=text["syllabus"],
                organisation=org,
                relation=relation,
                role=role,
                started_on=started,
                ended_on=min(today - dt.timedelta(days=7), started + dt.timedelta(days=90)),
                hours=rng.choice([24, 40, 60, 80, 120]),
                work_summary=text.get("title") or f"シラバス {text['syllabus']} に該当する業務",
                description=description,
            )
            certifier = Certifier(
                name=name,
                title=title,
                organisation=org,
                email=f"certifier-{n + 1:02d}@demo-client.example",
            )
            application = services.apply(user, work, certifier, oath=True, today=today)
            created.append((plan, application))
            if plan.startswith("awaiting"):
                continue
            request = application.certifications.get()
            # The demo has no mailbox to click in: answer as the link would.
            token = f"demo-{application.pk}"
            type(request).objects.filter(pk=request.pk).update(
                token_hash=services.hash_token(token)
            )
            if plan == "certification_declined":
                services.decline_certification(
                    token,
                    reason="記載の期間、申請者は別の部署に所属していました。",
                    address_hash="",
                )
                continue
            services.certify(token, name=name, title=title, address_hash="")
            if plan == "info_requested":
                services.request_information(
                    application, operator, "報告会の日付と出席者の役職を教えてください。"
                )
            elif plan == "rejected":
                services.reject(
                    application,
                    operator,
                    "記載の業務は製品の導入作業が中心で、シラバスの小項目に該当する指導・助言の"
                    "内容が確認できませんでした。",
                )
            elif plan == "withdrawn":
                services.withdraw(user, application)
            elif plan == "approved":
                services.approve(application, operator, "証明と記載内容を確認しました。")
        draw = services.draw_audit(AUDIT_RATE, seed, actor=operator, actor_label="seed-demo")
        # Outcomes for two of the drawn: one confirmed, one found false.
        drawn = list(DeemedApplication.objects.filter(pk__in=draw.drawn).order_by("pk"))
        for application, false_claim in zip(drawn, (False, True), strict=False):
            services.record_audit_outcome(
                application,
                operator,
                false_claim=false_claim,
                note=(
                    "証明者に確認したところ、申請者は記載の業務に関与していなかった。"
                    if false_claim
                    else "提出された報告書と証明者への確認により、業務の実施を確認した。"
                ),
            )
    return Counter(DeemedApplication.objects.values_list("status", flat=True))
