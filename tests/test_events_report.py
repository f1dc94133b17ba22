"""The event report's counting rules on a constructed funnel: who counts as
consulted, inquired, matched, completed and confirmed, under which theme; and
the Excel export's sheets and numbers."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from sekispe.events import report, services
from sekispe.inquiries import services as inquiry_services
from sekispe.inquiries.models import Inquiry
from sekispe.inquiries.models import InquiryState as S
from sekispe.listings.models import Listing
from sekispe.reports import exports
from tests.factories import make_user
from tests.inquiry_support import draft, jump, listing_of

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
HELD_ON = TODAY - dt.timedelta(days=3)


def _details(**overrides) -> services.EventDetails:
    base = {
        "title": "大阪 情報セキュリティ相談会",
        "held_on": HELD_ON,
        "capacity": 200,
        "themes": (1, 2, 3, 4, 5),
        "place": "大阪商工会議所",
    }
    return services.EventDetails(**{**base, **overrides})


def _company(n: int, themes=(), **overrides) -> services.ParticipantDetails:
    base = {
        "company_name": f"会社{n:02d}",
        "contact_name": f"担当{n}",
        "email": f"c{n}@example.jp",
        "prefecture": "27",
        "themes": tuple(themes),
    }
    return services.ParticipantDetails(**{**base, **overrides})


def _refer(institution, p, specialist, theme):
    return services.refer(
        institution,
        p,
        listing_of(specialist),
        services.ReferralRequest(
            theme=theme,
            preferred_form="visit",
            message="紹介します。",
            wants_free_first_session=False,
        ),
    ).inquiry


@pytest.fixture
def funnel(institution, specialist, sme):
    """14 participants, each a different way through (see the comments), plus
    one more at another institution's event that must never be counted."""
    Listing.objects.filter(record_id=specialist.record_id).update(capacity=50)
    event = services.create_event(institution, _details())
    p = {
        n: services.register_participant(institution, event, _company(n, themes=(2,)))
        for n in range(1, 13)
    }
    # 13: an SME account that signed up through the link and later asked a
    # specialist itself; 14: signed up, asked only before the event.
    with time_machine.travel(timezone.now() - dt.timedelta(days=10)):
        early = inquiry_services.send_inquiry(
            sme, listing_of(specialist), draft(company_name="先に聞いた会社", theme=4)
        )
    # Signing up is closed after the event day, so sign up "on the day".
    linked = services.sign_up(
        event, _company(13, themes=(3,), email=sme.email), user=sme, today=HELD_ON
    ).participant
    other_sme = make_user("sme", organization="会社14")
    services.sign_up(event, _company(14, themes=()), user=other_sme, today=HELD_ON)

    # Individual consultations at the event: 1–6 and 10 (7 companies).
    for n in (1, 2, 3, 4, 5, 6, 10):
        services.record_consultation(
            institution,
            p[n],
            registration_number="100001",
            theme=5 if n == 10 else None,
            notes="課題",
        )

    i = {}
    i[1] = jump(
        _refer(institution, p[1], specialist, 1), S.CONFIRMED, specialist, institution
    )  # confirmed
    i[2] = jump(
        _refer(institution, p[2], specialist, None), S.COMPLETED, specialist, institution
    )  # completed, plan theme 1
    i[3] = jump(_refer(institution, p[3], specialist, 1), S.IN_GUIDANCE, specialist, institution)
    i[4] = jump(_refer(institution, p[4], specialist, 3), S.ACCEPTED, specialist, institution)
    i[5] = _refer(institution, p[5], specialist, 1)
    inquiry_services.decline(i[5], specialist, "schedule")  # declined: not a match
    i[6] = _refer(institution, p[6], specialist, 1)
    Inquiry.objects.filter(pk=i[6].pk).update(state=S.EXPIRED)  # expired: not a match
    i[7] = _refer(institution, p[7], specialist, 4)  # still waiting: not a match
    i[8] = jump(_refer(institution, p[8], specialist, 4), S.ACCEPTED, specialist, institution)
    inquiry_services.close(i[8], institution, "cost")  # closed after acceptance: a match
    i[9] = _refer(institution, p[9], specialist, 4)
    inquiry_services.close(i[9], institution, "no_longer_needed")  # closed unanswered: not a match
    # 10: consultation only; 11, 12: took part only.
    # 12 also got a declined referral and then a second one that was accepted.
    first = _refer(institution, p[12], specialist, 2)
    inquiry_services.decline(first, specialist, "schedule")
    i[12] = jump(_refer(institution, p[12], specialist, 2), S.ACCEPTED, specialist, institution)
    # 13 asks a specialist itself after the event: a match through its account.
    direct = inquiry_services.send_inquiry(
        sme, listing_of(specialist), draft(company_name="会社13", theme=3)
    )
    inquiry_services.accept(direct, specialist)

    # Another institution's event with a matched company: never in this report.
    other = make_user("institution", organization="別の商工会議所")
    other_event = services.create_event(other, _details(title="別の相談会"))
    q = services.register_participant(other, other_event, _company(99, themes=(1,)))
    jump(_refer(other, q, specialist, 1), S.ACCEPTED, specialist, other)
    return {"event": event, "p": p, "i": i, "early": early, "direct": direct, "linked": linked}


def test_the_funnel_counts(funnel):
    built = report.event_report(funnel["event"])
    c = built.counts
    assert c.participants == 14
    assert c.consulted == 7
    # Referred or asked after the event: 1–9, 12 and 13 (14 asked only before).
    assert c.inquired == 11
    # Matched: 1, 2, 3, 4, 8 (closed after acceptance), 12 (second referral), 13 (direct).
    assert c.matched == 7
    assert c.completed == 2  # 1 confirmed, 2 completed
    assert c.confirmed == 1
    funnel_rows = built.report.tables[0].rows
    assert [row[1] for row in funnel_rows] == [14, 7, 11, 7, 2, 1]
    assert funnel_rows[3][2] == "50.0%"


def test_declined_expired_waiting_and_unanswered_closes_are_not_matches(funnel):
    outcomes = {o.participant.pk: o for o in report.outcomes([funnel["event"]])}
    p = funnel["p"]
    for n in (5, 6, 7, 9):
        assert outcomes[p[n].pk].inquired and not outcomes[p[n].pk].matched, n
    assert outcomes[p[8].pk].matched
    assert not outcomes[p[10].pk].inquired and outcomes[p[10].pk].consulted


def test_an_inquiry_before_the_event_does_not_count(funnel):
    outcomes = {o.participant.company_name: o for o in report.outcomes([funnel["event"]])}
    linked = outcomes["会社13"]
    assert [t.inquiry for t in linked.inquiries] == [funnel["direct"]]
    assert linked.lead.via == report.VIA_DIRECT
    assert not outcomes["会社14"].inquired


def test_the_furthest_inquiry_leads(funnel):
    outcome = next(
        o for o in report.outcomes([funnel["event"]]) if o.participant == funnel["p"][12]
    )
    assert [t.inquiry.state for t in outcome.inquiries] == [S.ACCEPTED, S.DECLINED]
    assert outcome.matched


def test_the_theme_rule(funnel):
    themes = {o.participant.company_name: o.theme for o in report.outcomes([funnel["event"]])}
    assert themes["会社01"] == 1  # plan theme
    assert themes["会社02"] == 1  # plan theme, though the inquiry had none
    assert themes["会社04"] == 3  # the inquiry's theme (no plan)
    assert themes["会社10"] == 5  # the consultation's theme
    assert themes["会社11"] == 2  # first theme of interest
    assert themes["会社13"] == 3  # the direct inquiry's theme
    assert themes["会社14"] == report.UNDECIDED


def test_counts_per_theme_add_up(funnel):
    built = report.event_report(funnel["event"])
    per_theme = report.by_theme(built.outcomes)
    assert per_theme[1] == report.Counts(
        participants=5, consulted=5, inquired=5, matched=3, completed=2, confirmed=1
    )  # 1, 2, 3 matched; 5 declined, 6 expired
    assert per_theme[2] == report.Counts(
        participants=2, consulted=0, inquired=1, matched=1, completed=0, confirmed=0
    )  # 11 (interest only), 12
    assert per_theme[3] == report.Counts(
        participants=2, consulted=1, inquired=2, matched=2, completed=0, confirmed=0
    )  # 4, 13
    assert per_theme[4] == report.Counts(
        participants=3, consulted=0, inquired=3, matched=1, completed=0, confirmed=0
    )  # 7, 8, 9
    assert per_theme[5] == report.Counts(participants=1, consulted=1)  # 10
    assert per_theme[report.UNDECIDED] == report.Counts(participants=1)  # 14
    summed = [sum(col) for col in zip(*(c.as_tuple() for c in per_theme.values()), strict=True)]
    assert summed == list(built.counts.as_tuple())
    theme_table = built.report.tables[1]
    assert theme_table.total == ("合計", 14, 7, 11, 7, 2, 1)
    assert theme_table.rows[-1][0] == "未定"


def test_the_matches_table_names_the_specialist(funnel, specialist):
    matches = report.event_report(funnel["event"]).report.tables[4]
    assert len(matches.rows) == 7
    first = next(row for row in matches.rows if row[0] == "会社01")
    assert first[1:5] == (
        "100001",
        specialist.record.name,
        "①情報セキュリティ規程の整備",
        "完了確認済み",
    )
    assert first[5] == "支援機関の紹介"
    direct = next(row for row in matches.rows if row[0] == "会社13")
    assert direct[5] == "企業から直接"


def test_the_overall_report_covers_only_the_owner_events(funnel, institution):
    second = services.create_event(institution, _details(title="2回目", held_on=TODAY))
    services.register_participant(institution, second, _company(50, themes=(5,)))
    built = report.overall_report(list(services.events_for(institution)))
    assert built.counts.participants == 15
    assert built.counts.matched == 7
    events_table = next(t for t in built.report.tables if t.key == "events")
    assert [row[0] for row in events_table.rows] == ["大阪 情報セキュリティ相談会", "2回目"]
    assert events_table.total[2:] == (15, 7, 11, 7, 2, 1)
    participants = next(t for t in built.report.tables if t.key == "participants")
    assert participants.headers[0] == "相談会"
    assert "別の相談会" not in {row[0] for row in participants.rows}


def test_the_xlsx_has_one_sheet_per_table_with_the_numbers(funnel):
    built = report.event_report(funnel["event"])
    book = load_workbook(io.BytesIO(exports.to_xlsx(built.report)))
    assert book.sheetnames == ["集計", "テーマ別", "参加企業", "個別相談", "マッチ"]
    summary = book["集計"]
    assert [c.value for c in summary[1]] == ["段階", "企業数", "参加企業に対する割合"]
    assert [summary.cell(row=r, column=2).value for r in range(2, 8)] == [14, 7, 11, 7, 2, 1]
    themes = book["テーマ別"]
    assert [c.value for c in themes[1]][:3] == ["テーマ", "参加企業", "個別相談を受けた企業"]
    assert [c.value for c in themes[themes.max_row]] == ["合計", 14, 7, 11, 7, 2, 1]
    assert book["参加企業"].max_row == 15
    assert book["マッチ"].max_row == 8


def test_an_empty_event_reports_zeros(institution):
    event = services.create_event(institution, _details())
    built = report.event_report(event)
    assert built.counts == report.Counts()
    assert built.report.tables[0].rows[0] == ("参加企業", 0, "—")
    load_workbook(io.BytesIO(exports.to_xlsx(built.report)))


def test_the_overall_report_says_a_single_day_once(institution):
    """Was 「2026-12-05〜2026-12-05 の 1 回」 (issue 15, point 11)."""
    services.create_event(institution, _details(held_on=dt.date(2026, 12, 5)))
    built = report.overall_report(list(services.events_for(institution)))
    assert built.report.period == "2026年12月5日の1回"
    services.create_event(institution, _details(title="2回目", held_on=dt.date(2026, 12, 8)))
    built = report.overall_report(list(services.events_for(institution)))
    assert built.report.period == "2026年12月5日〜12月8日の2回"
