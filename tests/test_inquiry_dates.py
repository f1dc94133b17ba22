"""The dates of an engagement are evidence (the confirmation may count as
practical experience for the qualification), so the services refuse dates
that cannot be true, and the pages show why next to the date field:

1. a visit is never recorded as held after today;
2. a consultation is held between the day the inquiry was sent (local time)
   and today;
3. visits are recorded one after the other, each held on or after the one
   before it (the first on or after the consultation);
4. completion needs all three visits held.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from sekispe.inquiries import services
from sekispe.inquiries.models import Consultation, Inquiry, InquiryTransition
from sekispe.inquiries.models import InquiryState as S
from tests.inquiry_support import advance, backdate, create_inquiry, send, visits

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.localdate()


def _days_ago(n: int) -> dt.date:
    return _today() - dt.timedelta(days=n)


TOMORROW = dt.timedelta(days=1)


def _accepted(sme: Any, specialist: Any, sent_days_ago: int = 30) -> Inquiry:
    inquiry = backdate(send(sme, specialist), sent_days_ago)
    services.accept(inquiry, specialist)
    inquiry.refresh_from_db()
    return inquiry


def _consult(inquiry: Inquiry, specialist: Any, held_on: dt.date) -> Inquiry:
    return services.record_consultation(
        inquiry,
        specialist,
        held_on=held_on,
        form="visit",
        issues="規程がない。",
        priorities="基本方針から。",
    )


def _planned(sme: Any, specialist: Any, *, consulted_days_ago: int = 25) -> Inquiry:
    """Sent 30 days ago, consulted `consulted_days_ago`, three visits planned."""
    inquiry = _accepted(sme, specialist)
    _consult(inquiry, specialist, _days_ago(consulted_days_ago))
    services.plan_guidance(inquiry, specialist, theme=1, visits=visits(_days_ago(20)))
    inquiry.refresh_from_db()
    return inquiry


def _visit(inquiry: Inquiry, specialist: Any, number: int, held_on: dt.date) -> Inquiry:
    return services.record_visit(
        inquiry,
        specialist,
        number=number,
        held_on=held_on,
        notes=f"{number}回目を実施。",
        goal_achieved=True,
    )


def _refused(call: Any) -> services.InquiryRefused:
    with pytest.raises(services.InquiryRefused) as refused:
        call()
    return refused.value


def _recorded(inquiry: Inquiry) -> list[int]:
    return [v.number for v in inquiry.plan.visits.all() if v.recorded_at is not None]


# ------------------------------------------------------ 1. not after today


@pytest.mark.parametrize("later", [1, 365])
def test_a_visit_cannot_be_recorded_as_held_after_today(later, sme, specialist):
    inquiry = _planned(sme, specialist)
    transitions = InquiryTransition.objects.count()
    refused = _refused(lambda: _visit(inquiry, specialist, 1, _today() + dt.timedelta(days=later)))
    assert refused.field == "held_on"
    assert "今日" in refused.message
    # Nothing moved: not the row, not the caller's object, no transition.
    assert inquiry.state == S.GUIDANCE_PLANNED
    assert Inquiry.objects.get(pk=inquiry.pk).state == S.GUIDANCE_PLANNED
    assert InquiryTransition.objects.count() == transitions
    assert _recorded(inquiry) == []
    # Today itself is a real date.
    _visit(inquiry, specialist, 1, _today())
    assert inquiry.plan.visits.get(number=1).held_on == _today()
    assert inquiry.state == S.IN_GUIDANCE


def test_a_later_visit_cannot_be_recorded_as_held_after_today_either(sme, specialist):
    inquiry = _planned(sme, specialist)
    _visit(inquiry, specialist, 1, _days_ago(10))
    refused = _refused(lambda: _visit(inquiry, specialist, 2, _today() + TOMORROW))
    assert refused.field == "held_on"
    assert _recorded(inquiry) == [1]


# ------------------------------------- 2. consultation: sent date .. today


def test_a_consultation_cannot_be_dated_before_the_inquiry_was_sent(sme, specialist):
    inquiry = _accepted(sme, specialist, sent_days_ago=10)
    sent_on = timezone.localdate(inquiry.created_at)
    refused = _refused(lambda: _consult(inquiry, specialist, sent_on - dt.timedelta(days=1)))
    assert refused.field == "held_on"
    assert "依頼が送られた日" in refused.message
    assert inquiry.state == S.ACCEPTED
    assert Inquiry.objects.get(pk=inquiry.pk).state == S.ACCEPTED
    assert not Consultation.objects.exists()
    # The day it was sent is fine.
    _consult(inquiry, specialist, sent_on)
    assert Consultation.objects.get(inquiry=inquiry).held_on == sent_on
    assert inquiry.state == S.CONSULTING


def test_a_consultation_cannot_be_dated_after_today(sme, specialist):
    inquiry = _accepted(sme, specialist, sent_days_ago=0)
    refused = _refused(lambda: _consult(inquiry, specialist, _today() + TOMORROW))
    assert refused.field == "held_on"
    assert "今日" in refused.message
    assert not Consultation.objects.exists()
    # Sent today, consulted today: the same day is allowed.
    _consult(inquiry, specialist, _today())
    assert inquiry.state == S.CONSULTING


def test_the_sent_date_is_the_local_date(sme, specialist):
    # Sent at 00:30 in Tokyo three days ago: still the day before in UTC.
    sent = dt.datetime.combine(_days_ago(3), dt.time(0, 30), tzinfo=timezone.get_current_timezone())
    assert sent.astimezone(dt.UTC).date() == _days_ago(4)
    inquiry = backdate(send(sme, specialist), to=sent)
    services.accept(inquiry, specialist)
    refused = _refused(lambda: _consult(inquiry, specialist, _days_ago(4)))
    assert refused.field == "held_on"
    _consult(inquiry, specialist, _days_ago(3))
    assert Consultation.objects.get(inquiry=inquiry).held_on == _days_ago(3)


# ------------------------------------------------- 3. visits in date order


def test_each_visit_is_held_on_or_after_the_one_before(sme, specialist):
    inquiry = _planned(sme, specialist)
    _visit(inquiry, specialist, 1, _days_ago(15))
    refused = _refused(lambda: _visit(inquiry, specialist, 2, _days_ago(16)))
    assert refused.field == "held_on"
    assert "1回目の実施日" in refused.message
    assert _recorded(inquiry) == [1]
    _visit(inquiry, specialist, 2, _days_ago(15))  # the same day as the first is fine
    refused = _refused(lambda: _visit(inquiry, specialist, 3, _days_ago(16)))
    assert refused.field == "held_on"
    assert "2回目の実施日" in refused.message
    _visit(inquiry, specialist, 3, _days_ago(1))
    assert [v.held_on for v in inquiry.plan.visits.all()] == [
        _days_ago(15),
        _days_ago(15),
        _days_ago(1),
    ]


def test_the_first_visit_is_held_on_or_after_the_consultation(sme, specialist):
    inquiry = _planned(sme, specialist, consulted_days_ago=25)
    refused = _refused(lambda: _visit(inquiry, specialist, 1, _days_ago(26)))
    assert refused.field == "held_on"
    assert "個別相談の実施日" in refused.message
    assert inquiry.state == S.GUIDANCE_PLANNED
    _visit(inquiry, specialist, 1, _days_ago(25))
    assert _recorded(inquiry) == [1]


def test_a_visit_is_recorded_only_after_the_one_before_it(sme, specialist):
    inquiry = _planned(sme, specialist)
    for number in (2, 3):
        refused = _refused(lambda number=number: _visit(inquiry, specialist, number, _days_ago(5)))
        assert refused.field == "number"
        assert "1回目を記録してから" in refused.message
    assert inquiry.state == S.GUIDANCE_PLANNED
    assert _recorded(inquiry) == []
    _visit(inquiry, specialist, 1, _days_ago(10))
    refused = _refused(lambda: _visit(inquiry, specialist, 3, _days_ago(5)))
    assert refused.field == "number"
    assert "2回目を記録してから" in refused.message
    _visit(inquiry, specialist, 2, _days_ago(5))
    _visit(inquiry, specialist, 3, _days_ago(5))
    assert _recorded(inquiry) == [1, 2, 3]


# ------------------------------------------- 4. completion needs all three


def test_completion_needs_all_three_visits_held(sme, specialist):
    inquiry = _planned(sme, specialist)
    for number in (1, 2):
        _visit(inquiry, specialist, number, _days_ago(10 - number))
        refused = _refused(lambda: services.complete(inquiry, specialist, "報告"))
        assert refused.code == "visits"
        inquiry.refresh_from_db()
        assert inquiry.state == S.IN_GUIDANCE
    _visit(inquiry, specialist, 3, _today())
    services.complete(inquiry, specialist, "3回実施しました。")
    confirmation = services.confirm(inquiry, sme)
    assert [v["held_on"] for v in confirmation.visits] == [
        _days_ago(9).isoformat(),
        _days_ago(8).isoformat(),
        _today().isoformat(),
    ]


# ----------------------------------------------------- the test helpers


def _assert_real_dates(inquiry: Inquiry) -> None:
    sent_on = timezone.localdate(inquiry.created_at)
    consulted = inquiry.consultation.held_on
    held = [v.held_on for v in inquiry.plan.visits.all()]
    assert sent_on <= consulted <= _today()
    assert None not in held
    assert [consulted, *held] == sorted([consulted, *held])
    assert held[-1] <= _today()


def test_the_helpers_walk_the_path_with_real_dates(sme, specialist):
    walked = advance(send(sme, specialist), S.CONFIRMED, specialist, sme)
    _assert_real_dates(walked)
    written = create_inquiry(sme, specialist, S.CONFIRMED, company_name="B社")
    _assert_real_dates(written)


# ---------------------------------------------------------------- pages


def _page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _field_chunk(html: str, name: str) -> str:
    """The field group of the input named `name` on the page."""
    chunks = [c for c in html.split('<div class="field') if f'name="{name}"' in c]
    assert len(chunks) == 1, name
    return chunks[0]


def _visit_post(number: int, held_on: dt.date) -> dict[str, str]:
    return {
        "record_visit-number": str(number),
        "record_visit-held_on": held_on.isoformat(),
        "record_visit-notes": "実施した。",
        "record_visit-goal_achieved": "yes",
    }


def test_a_future_visit_date_comes_back_next_to_the_date_field(sme, specialist):
    inquiry = _planned(sme, specialist)
    response = _page_client(specialist).post(
        f"/inquiries/{inquiry.pk}/record_visit/", _visit_post(1, _today() + TOMORROW)
    )
    assert response.status_code == 400
    form = response.context["forms"]["record_visit"]
    assert list(form.errors) == ["held_on"]
    message = form.errors["held_on"][0]
    assert "今日" in message
    html = response.content.decode()
    chunk = _field_chunk(html, "record_visit-held_on")
    assert chunk.startswith(' has-error"') and message in chunk
    # An input to correct, not a refused action: no "could not" banner.
    assert "操作できませんでした" not in html
    assert Inquiry.objects.get(pk=inquiry.pk).state == S.GUIDANCE_PLANNED


def test_a_visit_dated_before_the_one_before_comes_back_next_to_the_date_field(sme, specialist):
    inquiry = _planned(sme, specialist)
    _visit(inquiry, specialist, 1, _days_ago(10))
    response = _page_client(specialist).post(
        f"/inquiries/{inquiry.pk}/record_visit/", _visit_post(2, _days_ago(11))
    )
    assert response.status_code == 400
    form = response.context["forms"]["record_visit"]
    assert list(form.errors) == ["held_on"]
    assert message_in(response, "record_visit-held_on", "1回目の実施日")
    assert _recorded(inquiry) == [1]


@pytest.mark.parametrize("when", ["before_sent", "tomorrow"])
def test_an_impossible_consultation_date_comes_back_next_to_the_date_field(when, sme, specialist):
    inquiry = _accepted(sme, specialist, sent_days_ago=5)
    held_on = _days_ago(6) if when == "before_sent" else _today() + TOMORROW
    response = _page_client(specialist).post(
        f"/inquiries/{inquiry.pk}/record_consultation/",
        {
            "record_consultation-held_on": held_on.isoformat(),
            "record_consultation-form": "visit",
            "record_consultation-issues": "規程がない。",
            "record_consultation-priorities": "基本方針から。",
        },
    )
    assert response.status_code == 400
    form = response.context["forms"]["record_consultation"]
    assert list(form.errors) == ["held_on"]
    expected = "依頼が送られた日" if when == "before_sent" else "今日"
    assert message_in(response, "record_consultation-held_on", expected)
    assert Inquiry.objects.get(pk=inquiry.pk).state == S.ACCEPTED
    assert not Consultation.objects.exists()


def test_the_visit_form_offers_only_the_next_visit(sme, specialist):
    inquiry = _planned(sme, specialist)
    client = _page_client(specialist)

    def choices() -> list[str]:
        response = client.get(f"/inquiries/{inquiry.pk}/")
        return [
            c for c, _label in response.context["forms"]["record_visit"].fields["number"].choices
        ]

    assert choices() == ["1"]
    # A later visit posted by hand is an error on the visit's own field.
    response = client.post(f"/inquiries/{inquiry.pk}/record_visit/", _visit_post(2, _days_ago(5)))
    assert response.status_code == 400
    assert list(response.context["forms"]["record_visit"].errors) == ["number"]
    assert _recorded(inquiry) == []
    _visit(inquiry, specialist, 1, _days_ago(5))
    assert choices() == ["2"]


def message_in(response: Any, name: str, words: str) -> bool:
    """The field `name` is marked as in error and its group says `words`."""
    chunk = _field_chunk(response.content.decode(), name)
    return chunk.startswith(' has-error"') and words in chunk
