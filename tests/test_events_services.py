"""Consultation events through their services: creating events, capacity,
staff registration and the public sign-up (linking a signed-in SME account),
consultations, referrals (an inquiry on the company's behalf), and scoping.
The report's counting rules are in test_events_report.py; pages and
permissions in test_events_pages.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sekispe.audit.models import AuditEvent
from sekispe.events import services
from sekispe.events.models import (
    ConsultationEvent,
    EventParticipant,
    IndividualConsultation,
    Referral,
    RegisteredVia,
)
from sekispe.inquiries import services as inquiry_services
from sekispe.inquiries.models import Inquiry, InquiryState
from sekispe.listings.models import Availability, Listing
from tests.factories import make_specialist_user, make_user
from tests.inquiry_support import listing_of
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def details(**overrides) -> services.EventDetails:
    base = {
        "title": "情報セキュリティ個別相談会",
        "held_on": TODAY + dt.timedelta(days=7),
        "capacity": 3,
        "themes": (1, 5),
        "place": "サンプル商工会議所 3階 会議室",
    }
    return services.EventDetails(**{**base, **overrides})


def company(n: int = 1, **overrides) -> services.ParticipantDetails:
    base = {
        "company_name": f"株式会社サンプル{n}",
        "contact_name": f"担当 {n}",
        "email": f"info{n}@company{n}.example.jp",
        "prefecture": "13",
        "industry": "E",
        "employees": "6-20",
        "themes": (5, 1),
    }
    return services.ParticipantDetails(**{**base, **overrides})


def request(**overrides) -> services.ReferralRequest:
    base = {
        "theme": 1,
        "preferred_form": "visit",
        "message": "相談会で規程がないことが分かりました。",
        "wants_free_first_session": True,
    }
    return services.ReferralRequest(**{**base, **overrides})


@pytest.fixture
def event(institution) -> ConsultationEvent:
    return services.create_event(institution, details())


# ------------------------------------------------------------------ events


def test_an_institution_creates_an_event_with_a_signup_token(institution):
    event = services.create_event(institution, details(themes=(5, 1, 1)))
    assert event.owner == institution
    assert event.themes == [1, 5]
    assert len(event.signup_token) >= 32
    assert services.event_by_token(event.signup_token) == event
    assert AuditEvent.objects.filter(action="event.create", target_id=str(event.pk)).exists()


def test_every_event_gets_its_own_token(institution):
    a = services.create_event(institution, details())
    b = services.create_event(institution, details())
    assert a.signup_token != b.signup_token


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"title": " "}, "title"),
        ({"capacity": 0}, "capacity"),
        ({"themes": ()}, "themes"),
        ({"themes": (6,)}, "themes"),
        ({"place": "", "online": False}, "place"),
        ({"starts_at": dt.time(15), "ends_at": dt.time(13)}, "time"),
    ],
)
def test_an_event_must_make_sense(institution, overrides, code):
    with pytest.raises(services.EventRefused) as refused:
        services.create_event(institution, details(**overrides))
    assert refused.value.code == code
    assert not ConsultationEvent.objects.exists()


def test_an_online_event_needs_no_place(institution):
    event = services.create_event(institution, details(place="", online=True))
    assert event.online and event.place == ""


@pytest.mark.parametrize("role", ["sme", "operator"])
def test_only_institutions_create_events(role):
    with pytest.raises(services.EventRefused) as refused:
        services.create_event(make_user(role), details())
    assert refused.value.code == "role"


def test_the_capacity_cannot_drop_below_the_companies_registered(institution, event):
    services.register_participant(institution, event, company(1))
    services.register_participant(institution, event, company(2))
    with pytest.raises(services.EventRefused) as refused:
        services.update_event(event, institution, details(capacity=1))
    assert refused.value.code == "capacity"
    services.update_event(event, institution, details(capacity=2, title="改名した相談会"))
    event.refresh_from_db()
    assert (event.capacity, event.title) == (2, "改名した相談会")
    assert AuditEvent.objects.filter(action="event.update").count() == 1


# ------------------------------------------------------------ participants


def test_the_staff_registers_companies_up_to_the_capacity(institution, event):
    for n in (1, 2, 3):
        services.register_participant(institution, event, company(n))
    with pytest.raises(services.EventRefused) as refused:
        services.register_participant(institution, event, company(4))
    assert refused.value.code == "full"
    assert "定員（3社）に達した" in refused.value.message
    assert event.participants.count() == 3
    first = event.participants.first()
    assert first.registered_via == RegisteredVia.STAFF and first.sme_account is None
    assert first.themes == [5, 1]  # the order typed: the first is the main interest
    assert AuditEvent.objects.filter(action="event.register_participant").count() == 3


def test_the_staff_cannot_register_the_same_address_twice(institution, event):
    services.register_participant(institution, event, company(1))
    with pytest.raises(services.EventRefused) as refused:
        services.register_participant(
            institution, event, company(2, email="INFO1@company1.example.jp")
        )
    assert refused.value.code == "duplicate"


def test_a_company_signs_up_through_the_link(event):
    result = services.sign_up(event, company(1), user=None)
    assert result.created
    p = result.participant
    assert p.registered_via == RegisteredVia.LINK
    assert p.sme_account is None
    assert p.email == "info1@company1.example.jp"
    audit = AuditEvent.objects.get(action="event.sign_up")
    assert audit.actor is None and audit.actor_label == "signup-link"


def test_a_signed_in_sme_is_linked_to_its_signup(event, sme):
    result = services.sign_up(event, company(1, email=sme.email), user=sme)
    assert result.participant.sme_account == sme
    assert AuditEvent.objects.get(action="event.sign_up").actor == sme


@pytest.mark.parametrize("role", ["specialist", "institution", "operator"])
def test_other_signed_in_roles_sign_up_without_a_link(event, role, specialist, institution):
    user = {"specialist": specialist, "institution": institution}.get(role) or make_user(role)
    result = services.sign_up(event, company(1), user=user)
    assert result.created and result.participant.sme_account is None


def test_signing_up_again_changes_nothing(event, sme):
    first = services.sign_up(event, company(1), user=None)
    again = services.sign_up(event, company(1, company_name="別名"), user=sme)
    assert not again.created
    assert again.participant == first.participant
    again.participant.refresh_from_db()
    assert again.participant.company_name == "株式会社サンプル1"
    assert again.participant.sme_account is None  # nobody claims someone else's sign-up
    assert EventParticipant.objects.count() == 1


def test_the_link_refuses_when_full_and_counts_staff_registrations(institution, event):
    services.register_participant(institution, event, company(1))
    services.register_participant(institution, event, company(2))
    services.sign_up(event, company(3))
    with pytest.raises(services.EventRefused) as refused:
        services.sign_up(event, company(4))
    assert refused.value.code == "full"
    assert "定員" in refused.value.message
    # An address already in is still told it is in, full or not.
    assert services.sign_up(event, company(3)).participant.company_name == "株式会社サンプル3"
    assert services.seats_left(event) == 0


def test_the_link_closes_after_the_event_day(event):
    services.sign_up(event, company(1), today=event.held_on)  # on the day: open
    with pytest.raises(services.EventRefused) as refused:
        services.sign_up(event, company(2), today=event.held_on + dt.timedelta(days=1))
    assert refused.value.code == "closed"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"prefecture": "99"}, "prefecture"),
        ({"industry": "Z"}, "industry"),
        ({"employees": "lots"}, "employees"),
        ({"themes": (7,)}, "themes"),
        ({"company_name": ""}, "name"),
    ],
)
def test_participant_details_are_checked(event, overrides, code):
    with pytest.raises(services.EventRefused) as refused:
        services.sign_up(event, company(1, **overrides))
    assert refused.value.code == code


def test_an_unknown_token_is_a_lookup_error(event):
    for token in ("", "nope", event.signup_token[:-1]):
        with pytest.raises(LookupError):
            services.event_by_token(token)


# ----------------------------------------------------------- consultations


def test_the_staff_records_a_consultation(institution, event, specialist):
    p = services.register_participant(institution, event, company(1))
    c = services.record_consultation(
        institution, p, registration_number="100001", theme=1, notes="規程がない。"
    )
    assert c.listing == listing_of(specialist)
    assert c.recorded_by == institution
    unlisted = services.record_consultation(
        institution, p, registration_number="", theme=None, notes="まず5か条から。"
    )
    assert unlisted.listing is None
    assert AuditEvent.objects.filter(action="event.record_consultation").count() == 2


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"registration_number": "12345", "theme": 1, "notes": "x"}, "number"),
        ({"registration_number": "", "theme": 9, "notes": "x"}, "theme"),
        ({"registration_number": "", "theme": 1, "notes": "  "}, "notes"),
    ],
)
def test_a_consultation_must_make_sense(institution, event, kwargs, code):
    p = services.register_participant(institution, event, company(1))
    with pytest.raises(services.EventRefused) as refused:
        services.record_consultation(institution, p, **kwargs)
    assert refused.value.code == code
    assert not IndividualConsultation.objects.exists()


def test_another_institution_cannot_record_or_refer(institution, event, specialist):
    p = services.register_participant(institution, event, company(1))
    other = make_user("institution", organization="別の商工会")
    with pytest.raises(services.EventRefused):
        services.record_consultation(other, p, registration_number="", theme=1, notes="x")
    with pytest.raises(services.EventRefused):
        services.refer(other, p, listing_of(specialist), request())
    assert not Inquiry.objects.exists()


# --------------------------------------------------------------- referrals


def test_a_referral_sends_an_inquiry_for_the_company(
    institution, event, specialist, django_capture_on_commit_callbacks
):
    p = services.register_participant(institution, event, company(1, phone="03-1234-5678"))
    with django_capture_on_commit_callbacks(execute=True):
        referral = services.refer(institution, p, listing_of(specialist), request())
    inquiry = referral.inquiry
    assert inquiry.referred_by_institution
    assert inquiry.sender == institution
    assert inquiry.sme_account is None
    assert (inquiry.company_name, inquiry.contact_name, inquiry.contact_email) == (
        "株式会社サンプル1",
        "担当 1",
        "info1@company1.example.jp",
    )
    assert inquiry.company_profile == {"prefecture": "13", "industry": "E", "employees": "6-20"}
    assert inquiry.theme == 1 and inquiry.preferred_form == "visit"
    assert inquiry.wants_free_first_session
    assert inquiry.state == InquiryState.SENT
    assert referral.participant == p
    assert AuditEvent.objects.filter(action="event.refer", target_id=str(referral.pk)).exists()
    assert AuditEvent.objects.filter(action="inquiry.send", target_id=str(inquiry.pk)).exists()
    # The specialist is told; the institution and the company's contact get a receipt.
    assert [m.to for m in delivered()] == [
        [specialist.email],
        [institution.email],
        ["info1@company1.example.jp"],
    ]


def test_a_referral_for_a_linked_sme_is_sent_for_its_account(institution, event, sme, specialist):
    p = services.sign_up(event, company(1, email=sme.email), user=sme).participant
    inquiry = services.refer(institution, p, listing_of(specialist), request()).inquiry
    assert inquiry.sme_account == sme
    # The company's account can follow (and later confirm) it.
    assert inquiry_services.inquiry_for(sme, inquiry.pk) == inquiry


def test_a_refused_inquiry_leaves_no_referral(institution, event, specialist):
    p = services.register_participant(institution, event, company(1))
    Listing.objects.filter(record_id=specialist.record_id).update(
        availability=Availability.NOT_ACCEPTING
    )
    with pytest.raises(inquiry_services.InquiryRefused) as refused:
        services.refer(institution, p, listing_of(specialist), request())
    assert refused.value.code == "not_accepting"
    assert not Referral.objects.exists()
    assert not AuditEvent.objects.filter(action="event.refer").exists()


def test_a_double_referral_is_refused_while_the_first_waits(institution, event, specialist):
    p = services.register_participant(institution, event, company(1))
    services.refer(institution, p, listing_of(specialist), request())
    with pytest.raises(inquiry_services.InquiryRefused) as refused:
        services.refer(institution, p, listing_of(specialist), request())
    assert refused.value.code == "duplicate"
    assert Referral.objects.count() == 1


def test_visible_listing_finds_only_listed_specialists(specialist):
    assert services.visible_listing("100001") == listing_of(specialist)
    assert services.visible_listing(" 100001 ") == listing_of(specialist)
    assert services.visible_listing("999999") is None
    Listing.objects.filter(record_id=specialist.record_id).update(status="draft")
    assert services.visible_listing("100001") is None


def test_the_shortlist_prefers_the_company_prefecture_and_skips_the_unavailable(institution, event):
    tokyo = make_specialist_user("300001", prefectures=("13",), themes=(1,))
    osaka = make_specialist_user("300002", prefectures=("27",), themes=(5,))
    make_specialist_user("300003", prefectures=("13",), themes=(3,))  # other theme
    busy = make_specialist_user("300004", prefectures=("13",), themes=(1,))
    Listing.objects.filter(record_id=busy.record_id).update(availability=Availability.NOT_ACCEPTING)
    p = services.register_participant(institution, event, company(1, themes=(1, 5)))
    numbers = [row["registration_number"] for row in services.shortlist(p)]
    assert numbers[0] == tokyo.record.registration_number
    assert osaka.record.registration_number in numbers  # topped up nationally
    assert "300003" not in numbers and "300004" not in numbers


# ----------------------------------------------------------------- scoping


def test_lookups_are_scoped_to_the_owner(institution, event, sme):
    p = services.register_participant(institution, event, company(1))
    other = make_user("institution", organization="別の商工会")
    mine = services.create_event(other, details())
    assert list(services.events_for(institution)) == [event]
    assert services.event_for(institution, event.pk) == event
    with pytest.raises(LookupError):
        services.event_for(other, event.pk)
    with pytest.raises(LookupError):
        services.participant_for(other, event.pk, p.pk)
    # The right participant under the wrong event id is not found either.
    with pytest.raises(LookupError):
        services.participant_for(institution, mine.pk, p.pk)
    assert services.participant_for(institution, event.pk, p.pk) == p
    for outsider in (sme, make_user("operator")):
        assert not services.events_for(outsider).exists()
        with pytest.raises(LookupError):
            services.event_for(outsider, event.pk)


def test_referrals_for_lists_only_the_owner_referrals(institution, event, specialist):
    Listing.objects.filter(record_id=specialist.record_id).update(capacity=5)
    p = services.register_participant(institution, event, company(1))
    referral = services.refer(institution, p, listing_of(specialist), request())
    other = make_user("institution")
    other_event = services.create_event(other, details())
    q = services.register_participant(other, other_event, company(2))
    services.refer(other, q, listing_of(specialist), request())
    assert list(services.referrals_for(institution)) == [referral]
    assert services.referrals_for(other).count() == 1
