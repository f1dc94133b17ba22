"""Demo data: the demo specialist has an engagement in visiting guidance and
an inquiry waiting for an answer (referred by the demo chamber of commerce
from its consultation event);
the demo SME has one more inquiry waiting at another specialist."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from sekispe.accounts.models import Role, User
from sekispe.events import services as events
from sekispe.inquiries import services
from sekispe.inquiries.models import Inquiry
from sekispe.listings.models import Listing

PROFILE = {"prefecture": "13", "industry": "E", "employees": "21-50"}


def _draft(
    company: str, contact: str, email: str, theme: int, message: str
) -> services.InquiryDraft:
    return services.InquiryDraft(
        company_name=company,
        contact_name=contact,
        contact_email=email,
        theme=theme,
        preferred_form="visit",
        message=message,
        wants_free_first_session=True,
        company_profile=PROFILE,
    )


def create_demo_inquiries() -> int:
    """Idempotent: nothing is added once the demo SME has sent an inquiry."""
    sme = User.objects.filter(email="sme@demo.sekispe.example", role=Role.SME).first()
    cci = User.objects.filter(email="cci@demo.sekispe.example", role=Role.INSTITUTION).first()
    specialist = User.objects.filter(
        email="specialist@demo.sekispe.example", role=Role.SPECIALIST
    ).first()
    if not (sme and cci and specialist) or Inquiry.objects.filter(sender=sme).exists():
        return 0
    listing = Listing.objects.select_related("record").get(record_id=specialist.record_id)
    today = timezone.localdate()
    with transaction.atomic():
        # The demo needs someone accepting with room for an engagement and a new inquiry.
        Listing.objects.filter(pk=listing.pk).update(
            capacity=3, availability="accepting", availability_until=None
        )
        listing.refresh_from_db()
        # Sent 45 days ago, so its consultation (40 days ago) and first visit
        # (28 days ago) fall between the day it was sent and today, as the
        # services require of every recorded date.
        engaged = services.send_inquiry(
            sme,
            listing,
            _draft(
                "株式会社デモ製作所",
                "中小 花子",
                "sme@demo.sekispe.example",
                1,
                "取引先から情報セキュリティの規程を求められました。何から始めればよいか相談したいです。",
            ),
            now=timezone.now() - dt.timedelta(days=45),
        )
        services.accept(engaged, specialist)
        services.record_consultation(
            engaged,
            specialist,
            held_on=today - dt.timedelta(days=40),
            form="visit",
            issues="情報セキュリティの基本方針と規程がなく、持ち出しのルールも決まっていない。",
            priorities="基本方針を作り、既存の就業規則との関係を整理してから関連規程に進む。",
        )
        goals = services.theme_goals(1)
        services.plan_guidance(
            engaged,
            specialist,
            theme=1,
            visits=[
                services.PlannedVisit(goals[n], today - dt.timedelta(days=28 - 21 * n), "visit")
                for n in range(3)
            ],
        )
        services.record_visit(
            engaged,
            specialist,
            number=1,
            held_on=today - dt.timedelta(days=28),
            notes="情報資産と業務の流れを聞き取り、現状のリスクを一覧にした。",
            goal_achieved=True,
        )
        # The chamber's referral goes through its consultation event, so it shows
        # on the chamber's event, participant and referral pages.
        event = events.create_event(
            cci,
            events.EventDetails(
                title="デモ 情報セキュリティ個別相談会",
                held_on=today - dt.timedelta(days=2),
                capacity=20,
                themes=(1, 5),
                place="デモ商工会議所 3階 会議室",
            ),
        )
        shop = events.register_participant(
            cci,
            event,
            events.ParticipantDetails(
                company_name="有限会社デモ商店",
                contact_name="商店 次郎",
                email="shop@demo.sekispe.example",
                prefecture="13",
                industry="I",
                themes=(5,),
            ),
        )
        events.record_consultation(
            cci,
            shop,
            registration_number=listing.record.registration_number,
            theme=5,
            notes="従業員向けの情報セキュリティ研修を探している。",
        )
        events.refer(
            cci,
            shop,
            listing,
            events.ReferralRequest(
                theme=5,
                preferred_form="visit",
                message="相談会で個別相談を受けた会社です。従業員向けの研修をお願いしたいです。",
                wants_free_first_session=True,
            ),
        )
        other = (
            Listing.objects.visible(today)
            .exclude(pk=listing.pk)
            .filter(availability="accepting")
            .select_related("record")
            .order_by("record__registration_number")
            .first()
        )
        if other is not None and services.availability_of(other, today).can_send:
            services.send_inquiry(
                sme,
                other,
                _draft(
                    "株式会社デモ製作所",
                    "中小 花子",
                    "sme@demo.sekispe.example",
                    3,
                    "クラウドサービスの設定が安全か点検してほしいです。",
                ),
            )
    return Inquiry.objects.filter(sender__in=[sme, cci]).count()
