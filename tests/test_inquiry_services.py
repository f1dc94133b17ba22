"""The inquiry state machine through its services: every legal and illegal
transition, capacity, rate limits, expiry, e-mail, audit and the durable
confirmation. (The page tests are in test_inquiry_pages.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db.models import ProtectedError
from django.utils import timezone

from sekispe.audit.models import AuditEvent
from sekispe.inquiries import rules, services
from sekispe.inquiries.models import (
    CompletionConfirmation,
    Inquiry,
    InquiryState,
    InquiryTransition,
)
from sekispe.inquiries.models import InquiryState as S
from sekispe.listings.models import Availability, Listing
from tests.factories import make_specialist_user, make_user
from tests.inquiry_support import GOALS_1, advance, draft, listing_of, send, visits
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

HAPPY_PATH = [
    S.SENT,
    S.ACCEPTED,
    S.CONSULTING,
    S.GUIDANCE_PLANNED,
    S.IN_GUIDANCE,
    S.COMPLETED,
    S.CONFIRMED,
]


# ------------------------------------------------------------ the pure table

EXPECTED = {
    # action: (states it moves from, parties who may take it)
    "accept": ({S.SENT}, {"specialist"}),
    "decline": ({S.SENT}, {"specialist"}),
    "expire": ({S.SENT}, {"system"}),
    "record_consultation": ({S.ACCEPTED}, {"specialist"}),
    "plan_guidance": ({S.CONSULTING}, {"specialist"}),
    "record_visit": ({S.GUIDANCE_PLANNED, S.IN_GUIDANCE}, {"specialist"}),
    "complete": ({S.IN_GUIDANCE}, {"specialist"}),
    "confirm": ({S.COMPLETED}, {"client"}),
    "close": (
        {S.SENT, S.ACCEPTED, S.CONSULTING, S.GUIDANCE_PLANNED, S.IN_GUIDANCE, S.COMPLETED},
        {"specialist", "client"},
    ),
}


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("party", ["specialist", "client", "system", None])
def test_the_table_allows_exactly_the_documented_moves(action, state, party):
    sources, parties = EXPECTED[action]
    assert rules.allowed(action, state, party) == (state in sources and party in parties)


def test_terminal_states_allow_nothing():
    for state in (S.DECLINED, S.EXPIRED, S.CONFIRMED, S.CLOSED):
        for party in ("specialist", "client", "system"):
            assert rules.actions_for(state, party) == []


def test_open_engagements_are_the_states_between_accept_and_completion():
    assert {S.ACCEPTED, S.CONSULTING, S.GUIDANCE_PLANNED, S.IN_GUIDANCE} == rules.OPEN_ENGAGEMENT


# ---------------------------------------------------------------- sending


def test_an_sme_sends_an_inquiry_and_the_specialist_is_told(
    sme, specialist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        inquiry = send(sme, specialist)
    assert inquiry.state == S.SENT
    assert inquiry.sender == sme and inquiry.sme_account == sme
    assert not inquiry.referred_by_institution
    assert inquiry.answer_by - inquiry.created_at == dt.timedelta(days=7)
    assert [t.to_state for t in inquiry.transitions.all()] == [S.SENT]
    assert AuditEvent.objects.filter(action="inquiry.send", target_id=str(inquiry.pk)).exists()
    message, *copies = delivered()
    assert message.to == [specialist.email]
    # The company gets a receipt at the account and at the contact address.
    assert sorted(m.to[0] for m in copies) == ["hanako@sample.example.jp", sme.email]
    assert all("さんに相談の依頼を送りました" in m.subject for m in copies)
    assert "株式会社サンプル製作所から相談の依頼が届きました" in message.subject
    assert "初回は無料の相談を希望しています" in message.body
    assert f"/inquiries/{inquiry.pk}/" in message.body


def test_an_institution_sends_for_a_company(institution, specialist, sme):
    inquiry = services.send_inquiry(institution, listing_of(specialist), draft(), sme_account=sme)
    assert inquiry.referred_by_institution
    assert inquiry.sender == institution and inquiry.sme_account == sme
    assert services.party_of(sme, inquiry) == "client"
    assert services.party_of(institution, inquiry) == "client"


@pytest.mark.parametrize("role", ["specialist", "operator"])
def test_only_smes_and_institutions_send(role, specialist):
    user = make_specialist_user("100077") if role == "specialist" else make_user(role)
    with pytest.raises(services.InquiryRefused) as refused:
        send(user, specialist)
    assert refused.value.code == "role"
    assert not Inquiry.objects.exists()


def test_a_specialist_not_accepting_cannot_be_sent_an_inquiry(sme, specialist):
    Listing.objects.filter(record_id=specialist.record_id).update(
        availability=Availability.NOT_ACCEPTING
    )
    with pytest.raises(services.InquiryRefused) as refused:
        send(sme, specialist)
    assert refused.value.code == "not_accepting"
    assert "受け付けていません" in refused.value.message


def test_a_specialist_at_capacity_cannot_be_sent_an_inquiry(sme, specialist):
    first = send(sme, specialist)  # capacity is 1 by default
    services.accept(first, specialist)
    other = make_user("sme", organization="別の会社")
    with pytest.raises(services.InquiryRefused) as refused:
        send(other, specialist, company_name="別の会社")
    assert refused.value.code == "full"
    assert services.availability_of(listing_of(specialist)).reason == "full"


def test_capacity_frees_when_an_engagement_ends(sme, specialist):
    first = send(sme, specialist)
    services.accept(first, specialist)
    services.close(first, sme, "cost")
    assert services.availability_of(listing_of(specialist)).can_send
    assert services.open_engagements_by_listing() == {}


def test_capacity_counts_only_open_engagements(sme, specialist):
    Listing.objects.filter(record_id=specialist.record_id).update(capacity=2)
    a = send(sme, specialist, company_name="A社")
    b = send(sme, specialist, company_name="B社")
    c = send(sme, specialist, company_name="C社")
    services.accept(a, specialist)
    services.accept(b, specialist)
    listing = listing_of(specialist)
    assert services.open_engagements_by_listing() == {listing.pk: 2}
    with pytest.raises(services.InquiryRefused) as refused:
        services.accept(c, specialist)
    assert refused.value.code == "full"
    advance(a, S.COMPLETED, specialist, sme)  # completed no longer takes a slot
    services.accept(c, specialist)
    assert services.open_engagements_by_listing() == {listing.pk: 2}


def test_a_second_click_on_send_sends_once(sme, specialist):
    send(sme, specialist)
    with pytest.raises(services.InquiryRefused) as refused:
        send(sme, specialist)
    assert refused.value.code == "duplicate"
    assert Inquiry.objects.count() == 1


def test_inquiries_are_rate_limited_per_sender(sme, specialist, other_specialist, settings):
    settings.INQUIRIES_PER_SME = (2, 24 * 3600)
    send(sme, specialist, company_name="A社")
    send(sme, other_specialist, company_name="A社")
    third = make_specialist_user("100055")
    with pytest.raises(services.InquiryRefused) as refused:
        send(sme, third, company_name="A社")
    assert refused.value.code == "rate_limited"
    # Another sender is not affected.
    send(make_user("sme"), third, company_name="B社")


def test_a_made_up_theme_or_form_is_refused(sme, specialist):
    with pytest.raises(services.InquiryRefused):
        send(sme, specialist, theme=9)
    with pytest.raises(services.InquiryRefused):
        send(sme, specialist, preferred_form="fax")
    assert not Inquiry.objects.exists()


# ------------------------------------------------------- every transition


def test_the_happy_path_records_every_step_once(sme, specialist):
    inquiry = advance(send(sme, specialist), S.CONFIRMED, specialist, sme)
    states = [t.to_state for t in inquiry.transitions.all()]
    # record_visit moves guidance_planned → in_guidance, then in_guidance → in_guidance twice.
    assert states == [
        S.SENT,
        S.ACCEPTED,
        S.CONSULTING,
        S.GUIDANCE_PLANNED,
        S.IN_GUIDANCE,
        S.IN_GUIDANCE,
        S.IN_GUIDANCE,
        S.COMPLETED,
        S.CONFIRMED,
    ]
    actions = list(
        AuditEvent.objects.filter(target_type="inquiry", target_id=str(inquiry.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "inquiry.send",
        "inquiry.accept",
        "inquiry.record_consultation",
        "inquiry.plan_guidance",
        "inquiry.record_visit",
        "inquiry.record_visit",
        "inquiry.record_visit",
        "inquiry.complete",
        "inquiry.confirm",
    ]


def _call(action: str, inquiry: Inquiry, actor):
    calls = {
        "accept": lambda: services.accept(inquiry, actor),
        "decline": lambda: services.decline(inquiry, actor, "out_of_scope"),
        "record_consultation": lambda: services.record_consultation(
            inquiry, actor, held_on=timezone.localdate(), form="visit", issues="x", priorities="y"
        ),
        "plan_guidance": lambda: services.plan_guidance(inquiry, actor, theme=1, visits=visits()),
        "record_visit": lambda: services.record_visit(
            inquiry, actor, number=1, held_on=timezone.localdate(), notes="x", goal_achieved=True
        ),
        "complete": lambda: services.complete(inquiry, actor, "done"),
        "confirm": lambda: services.confirm(inquiry, actor),
        "close": lambda: services.close(inquiry, actor, "no_longer_needed"),
    }
    return calls[action]()


@pytest.mark.parametrize("state", [*HAPPY_PATH, S.DECLINED, S.CLOSED])
@pytest.mark.parametrize("action", sorted(set(EXPECTED) - {"expire"}))
def test_every_action_from_every_state_is_taken_or_refused_by_the_table(
    state, action, sme, specialist
):
    inquiry = send(sme, specialist)
    if state == S.DECLINED:
        services.decline(inquiry, specialist, "schedule")
    elif state == S.CLOSED:
        services.close(inquiry, sme, "cost")
    else:
        advance(inquiry, state, specialist, sme)
    inquiry.refresh_from_db()
    party = "client" if action == "confirm" else "specialist"
    actor = sme if party == "client" else specialist
    if action == "close":
        actor, party = sme, "client"
    before = InquiryTransition.objects.count()
    if action == "record_visit" and state == S.IN_GUIDANCE:
        # The table allows it, but all three visits were recorded on the way.
        with pytest.raises(services.InquiryRefused) as refused:
            _call(action, inquiry, actor)
        assert refused.value.code == "visit"
        assert InquiryTransition.objects.count() == before
    elif rules.allowed(action, state, party):
        _call(action, inquiry, actor)
        inquiry.refresh_from_db()
        assert inquiry.state == rules.ACTIONS[action].target
        assert InquiryTransition.objects.count() == before + 1
    else:
        with pytest.raises(services.InquiryRefused):
            _call(action, inquiry, actor)
        inquiry.refresh_from_db()
        assert inquiry.state == state
        assert InquiryTransition.objects.count() == before


@pytest.mark.parametrize("action", sorted(set(EXPECTED) - {"expire", "close"}))
def test_the_wrong_party_is_refused(action, sme, specialist, other_specialist):
    inquiry = send(sme, specialist)
    needed = {
        "accept": S.SENT,
        "decline": S.SENT,
        "record_consultation": S.ACCEPTED,
        "plan_guidance": S.CONSULTING,
        "record_visit": S.GUIDANCE_PLANNED,
        "complete": S.IN_GUIDANCE,
        "confirm": S.COMPLETED,
    }[action]
    advance(inquiry, needed, specialist, sme)
    wrong = [other_specialist, make_user("operator"), make_user("institution")]
    wrong.append(specialist if action == "confirm" else sme)
    for actor in wrong:
        with pytest.raises(services.InquiryRefused) as refused:
            _call(action, inquiry, actor)
        assert refused.value.code == "not_allowed"
    inquiry.refresh_from_db()
    assert inquiry.state == needed


def test_a_visit_is_recorded_once_and_completion_needs_all_three(sme, specialist):
    inquiry = advance(send(sme, specialist), S.GUIDANCE_PLANNED, specialist, sme)
    today = timezone.localdate()
    services.record_visit(
        inquiry, specialist, number=1, held_on=today, notes="1", goal_achieved=True
    )
    with pytest.raises(services.InquiryRefused) as refused:
        services.record_visit(
            inquiry, specialist, number=1, held_on=today, notes="again", goal_achieved=False
        )
    assert refused.value.code == "visit"
    assert inquiry.plan.visits.get(number=1).notes == "1"
    with pytest.raises(services.InquiryRefused) as refused:
        services.complete(inquiry, specialist, "report")
    assert refused.value.code == "visits"
    inquiry.refresh_from_db()
    assert inquiry.state == S.IN_GUIDANCE


def test_a_plan_takes_three_visits_with_the_themes_goals_in_date_order(sme, specialist):
    inquiry = advance(send(sme, specialist), S.CONSULTING, specialist, sme)
    bad = [
        visits()[:2],
        [services.PlannedVisit("自由な目標", visits()[0].scheduled_on, "visit"), *visits()[1:]],
        list(reversed(visits())),
        [services.PlannedVisit(GOALS_1[0], visits()[0].scheduled_on, "fax"), *visits()[1:]],
    ]
    for planned in bad:
        with pytest.raises(services.InquiryRefused):
            services.plan_guidance(inquiry, specialist, theme=1, visits=planned)
    with pytest.raises(services.InquiryRefused):
        services.plan_guidance(inquiry, specialist, theme=7, visits=visits())
    inquiry.refresh_from_db()
    assert inquiry.state == S.CONSULTING
    services.plan_guidance(inquiry, specialist, theme=1, visits=visits())
    assert [v.goal for v in inquiry.plan.visits.all()] == list(GOALS_1)


def test_decline_and_close_need_a_reason(sme, specialist, django_capture_on_commit_callbacks):
    inquiry = send(sme, specialist)
    with pytest.raises(services.InquiryRefused):
        services.decline(inquiry, specialist, "because")
    with pytest.raises(services.InquiryRefused):
        services.close(inquiry, sme, "")
    with django_capture_on_commit_callbacks(execute=True):
        services.decline(inquiry, specialist, "out_of_scope", "専門外のため")
    inquiry.refresh_from_db()
    assert (inquiry.state, inquiry.decline_reason, inquiry.state_note) == (
        S.DECLINED,
        "out_of_scope",
        "専門外のため",
    )
    assert "辞退しました" in delivered()[-1].body
    assert "/specialists/?theme=1&prefecture=13" in delivered()[-1].body


# ------------------------------------------------------------ confirmation


def test_the_confirmation_is_a_durable_snapshot(
    sme, specialist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        inquiry = advance(send(sme, specialist), S.CONFIRMED, specialist, sme)
    confirmation = CompletionConfirmation.objects.get(inquiry=inquiry)
    assert confirmation.registration_number == "100001"
    assert confirmation.specialist_name == "佐藤 健太"
    assert confirmation.theme == 1
    assert [v["number"] for v in confirmation.visits] == [1, 2, 3]
    assert all(v["goal_achieved"] for v in confirmation.visits)
    assert confirmation.confirmed_by == sme and not confirmation.confirmed_on_behalf
    with pytest.raises(ProtectedError):
        inquiry.delete()
    assert "完了を確認しました" in delivered()[-1].subject
    assert delivered()[-1].to == [specialist.email]


def test_an_institution_confirms_on_behalf_of_a_company_without_an_account(institution, specialist):
    inquiry = services.send_inquiry(institution, listing_of(specialist), draft())
    advance(inquiry, S.CONFIRMED, specialist, institution)
    assert inquiry.confirmation.confirmed_on_behalf


# ------------------------------------------------------------------ expiry


def test_unanswered_inquiries_expire_after_seven_days_and_the_company_is_told(
    sme, specialist, django_capture_on_commit_callbacks
):
    inquiry = send(sme, specialist)
    answered = send(make_user("sme"), specialist, company_name="B社")
    services.accept(answered, specialist)
    delivered().clear()
    assert services.expire_overdue(timezone.now() + dt.timedelta(days=6)) == []
    with django_capture_on_commit_callbacks(execute=True):
        expired = services.expire_overdue(timezone.now() + dt.timedelta(days=7, minutes=1))
    assert expired == [inquiry.pk]
    inquiry.refresh_from_db()
    assert inquiry.state == S.EXPIRED
    # The account and the contact address named in the inquiry.
    assert sorted(m.to[0] for m in delivered()) == ["hanako@sample.example.jp", sme.email]
    message = delivered()[0]
    assert "返答がありませんでした" in message.subject
    assert "/specialists/?theme=1&prefecture=13" in message.body
    # Run again: nothing more.
    assert services.expire_overdue(timezone.now() + dt.timedelta(days=8)) == []
    transition = inquiry.transitions.last()
    assert (transition.actor, transition.actor_label) == (None, "expire-inquiries")


def test_the_expire_command_runs_the_same_rule(sme, specialist):
    from django.core.management import call_command

    inquiry = send(sme, specialist)
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        call_command("expire_inquiries")
    inquiry.refresh_from_db()
    assert inquiry.state == S.EXPIRED


# --------------------------------------------------------------- scoping


def test_lookups_are_scoped_to_the_parties(sme, specialist, other_specialist, institution):
    inquiry = send(sme, specialist)
    assert services.inquiry_for(sme, inquiry.pk) == inquiry
    assert services.inquiry_for(specialist, inquiry.pk) == inquiry
    for outsider in (other_specialist, institution, make_user("operator"), make_user("sme")):
        with pytest.raises(LookupError):
            services.inquiry_for(outsider, inquiry.pk)
        assert not services.inquiries_for(outsider).exists()


def test_every_state_has_a_japanese_label():
    assert {state.label for state in InquiryState} >= {"返答待ち", "完了確認済み", "終了"}
