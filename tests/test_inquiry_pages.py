"""The inquiry pages (/inquiries/) and the inquiry block on a specialist's page:
the form and its prefill, sending and every refusal, the dashboards, the
actions each party sees and takes, and who gets a 404. (The state machine
itself is tested without HTTP in test_inquiry_services.py.)"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from sekispe.diagnosis import services as diagnosis_services
from sekispe.inquiries import rules, services
from sekispe.inquiries.models import (
    CompletionConfirmation,
    Consultation,
    GuidancePlan,
    GuidanceVisit,
    Inquiry,
    InquiryState,
)
from sekispe.inquiries.models import InquiryState as S
from sekispe.listings.models import Availability, Listing
from tests.factories import make_specialist_user, make_user
from tests.inquiry_support import GOALS_1, create_inquiry, jump, listing_of, send

pytestmark = pytest.mark.django_db

NEW = "/inquiries/new/{}/"


def _client(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _form_data(**overrides: Any) -> dict[str, Any]:
    base = {
        "company_name": "株式会社サンプル製作所",
        "contact_name": "中小 花子",
        "contact_email": "hanako@sample.example.jp",
        "prefecture": "13",
        "industry": "E",
        "employees": "21-50",
        "it_dependence": "high",
        "customer_demand": "yes",
        "theme": "1",
        "preferred_form": "visit",
        "message": "情報セキュリティのルールづくりを相談したいです。",
        "wants_free_first_session": "on",
    }
    return {**base, **overrides}


def _actions_on_page(html: str) -> list[str]:
    return re.findall(r'data-action="([a-z_]+)"', html)


def _text(response: Any) -> str:
    return response.content.decode()


# ------------------------------------------------------------------ the form


def test_the_form_is_prefilled_from_the_sme_account(specialist):
    sme = make_user(
        "sme",
        "owner@kaisha.example.jp",
        organization="株式会社テスト精機",
        display_name="山本 一郎",
    )
    response = _client(sme).get(NEW.format("100001"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["company_name"].value() == "株式会社テスト精機"
    assert form["contact_name"].value() == "山本 一郎"
    assert form["contact_email"].value() == "owner@kaisha.example.jp"
    html = _text(response)
    assert "佐藤 健太さんに相談を依頼する" in html
    assert 'value="undecided"' in html and "まだ決まっていない" in html
    assert "初回は無料の相談を希望する" in html


def test_the_latest_diagnosis_fills_the_profile_and_suggests_its_first_theme(sme, specialist):
    answers = dict.fromkeys(diagnosis_services.rules.current().ids, "not_done")
    profile = {"prefecture": "27", "industry": "E", "employees": "6-20", "it_dependence": "high"}
    diagnosis = diagnosis_services.record(answers, profile, user=sme)
    first = diagnosis_services.evaluation_of(diagnosis).result.themes[0]
    listing_of(specialist).themes.add(first)  # prefilled only if the specialist offers it
    response = _client(sme).get(NEW.format("100001"))
    form = response.context["form"]
    assert form["prefecture"].value() == "27"
    assert form["employees"].value() == "6-20"
    assert form["it_dependence"].value() == "high"
    assert form["theme"].value() == str(first)
    assert "最近の自己診断の結果から" in _text(response)


def test_an_institution_fills_in_the_company_itself(institution, specialist):
    response = _client(institution).get(NEW.format("100001"))
    assert response.status_code == 200
    # The institution's own name is not the company's.
    assert response.context["form"]["company_name"].value() in (None, "")
    assert "会社に代わって依頼します" in _text(response)


def test_sending_creates_the_inquiry_and_opens_it(sme, specialist):
    response = _client(sme).post(NEW.format("100001"), _form_data(), follow=True)
    inquiry = Inquiry.objects.get()
    assert response.redirect_chain == [(f"/inquiries/{inquiry.pk}/", 302)]
    assert "佐藤 健太さんに相談の依頼を送りました" in _text(response)
    assert inquiry.sender == sme and inquiry.sme_account == sme
    assert inquiry.listing == listing_of(specialist)
    assert inquiry.state == S.SENT
    assert inquiry.theme == 1
    assert inquiry.wants_free_first_session
    assert inquiry.company_profile == {
        "prefecture": "13",
        "industry": "E",
        "employees": "21-50",
        "it_dependence": "high",
        "customer_demand": "yes",
    }
    assert not inquiry.referred_by_institution


def test_not_sure_yet_sends_no_theme_and_an_empty_profile_field_is_left_out(sme, specialist):
    data = _form_data(theme="undecided", industry="", wants_free_first_session="")
    data.pop("wants_free_first_session")
    assert _client(sme).post(NEW.format("100001"), data).status_code == 302
    inquiry = Inquiry.objects.get()
    assert inquiry.theme is None
    assert "industry" not in inquiry.company_profile
    assert not inquiry.wants_free_first_session


def test_an_empty_form_comes_back_with_its_errors(sme, specialist):
    response = _client(sme).post(NEW.format("100001"), {})
    assert response.status_code == 400
    html = _text(response)
    assert "入力内容を確認してください。" in html
    assert 'href="#id_company_name"' in html
    assert "相談したいテーマを選んでください。" in html
    assert not Inquiry.objects.exists()


def test_an_institution_acting_for_a_company_is_recorded_as_the_referrer(institution, specialist):
    response = _client(institution).post(NEW.format("100001"), _form_data())
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert inquiry.referred_by_institution
    assert inquiry.sender == institution
    page = _text(_client(institution).get(f"/inquiries/{inquiry.pk}/"))
    assert "サンプル商工会議所からの紹介" in page


@pytest.mark.parametrize(
    ("role", "expected"), [("specialist", 403), ("operator", 403), ("anonymous", "login")]
)
def test_only_smes_and_institutions_open_the_form(role, expected, specialist, operator):
    user = {"specialist": specialist, "operator": operator, "anonymous": None}[role]
    for method in ("get", "post"):
        response = getattr(_client(user), method)(NEW.format("100001"))
        if expected == "login":
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/?next=/inquiries/new/100001/")
        else:
            assert response.status_code == expected


def test_a_specialist_who_is_not_listed_is_a_404(sme, specialist):
    make_specialist_user("100009")
    Listing.objects.filter(record__registration_number="100009").update(status="draft")
    client = _client(sme)
    assert client.get(NEW.format("100009")).status_code == 404
    assert client.post(NEW.format("100009"), _form_data()).status_code == 404
    assert client.get(NEW.format("999999")).status_code == 404


# ------------------------------------------------------------------ refusals


@pytest.fixture
def similar(specialist):
    """Two more specialists with the same theme and region, one elsewhere."""
    make_specialist_user("100021", name="高橋 次郎", email="takahashi@example.jp")
    make_specialist_user("100022", name="伊藤 三郎", email="ito@example.jp")
    make_specialist_user(
        "100023", name="渡辺 四郎", email="watanabe@example.jp", themes=(4,), prefectures=("47",)
    )
    return ["高橋 次郎", "伊藤 三郎"]


def _assert_similar_offered(html: str, names: list[str]) -> None:
    assert "同じテーマ・地域で相談できる専門家" in html
    for name in names:
        assert name in html
    assert "渡辺 四郎" not in html
    section = html.split('id="similar-heading"', 1)[1]
    assert "佐藤 健太" not in section.split("</section>", 1)[0]
    assert "/specialists/?theme=1&amp;prefecture=13" in html


def test_a_specialist_not_accepting_cannot_be_asked_and_others_are_offered(
    sme, specialist, similar
):
    Listing.objects.filter(record_id=specialist.record_id).update(
        availability=Availability.NOT_ACCEPTING
    )
    response = _client(sme).get(NEW.format("100001"))
    assert response.status_code == 200
    html = _text(response)
    assert str(services.REFUSAL_MESSAGES["not_accepting"]) in html
    assert response.context["form"] is None
    _assert_similar_offered(html, similar)
    # A form sent anyway (opened before the change) is refused, answers kept.
    response = _client(sme).post(NEW.format("100001"), _form_data(message="至急相談したい。"))
    assert response.status_code == 409
    html = _text(response)
    assert str(services.REFUSAL_MESSAGES["not_accepting"]) in html
    assert "至急相談したい。" in html
    _assert_similar_offered(html, similar)
    assert not Inquiry.objects.exists()


def test_a_specialist_at_capacity_cannot_be_asked_and_others_are_offered(sme, specialist, similar):
    other = make_user("sme", organization="別の会社")
    services.accept(send(other, specialist, company_name="別の会社"), specialist)
    response = _client(sme).get(NEW.format("100001"))
    html = _text(response)
    assert str(services.REFUSAL_MESSAGES["full"]) in html
    _assert_similar_offered(html, similar)
    response = _client(sme).post(NEW.format("100001"), _form_data())
    assert response.status_code == 409
    assert str(services.REFUSAL_MESSAGES["full"]) in _text(response)
    _assert_similar_offered(_text(response), similar)
    assert Inquiry.objects.count() == 1


def test_a_second_send_while_the_first_waits_is_a_conflict(sme, specialist):
    client = _client(sme)
    assert client.post(NEW.format("100001"), _form_data()).status_code == 302
    response = client.post(NEW.format("100001"), _form_data(message="もう一度送ります。"))
    assert response.status_code == 409
    html = _text(response)
    assert "すでに返答待ちになっています" in html
    assert "もう一度送ります。" in html  # the answers are kept
    assert Inquiry.objects.count() == 1


def test_too_many_inquiries_are_refused_with_429(sme, specialist, other_specialist, settings):
    settings.INQUIRIES_PER_SME = (1, 24 * 3600)
    client = _client(sme)
    assert client.post(NEW.format("100001"), _form_data()).status_code == 302
    response = client.post(NEW.format("100002"), _form_data(message="別の専門家にも。"))
    assert response.status_code == 429
    assert "しばらく送信できません" in _text(response)
    assert "別の専門家にも。" in _text(response)
    assert Inquiry.objects.count() == 1


# ---------------------------------------------------- the specialist's page


def test_the_specialist_page_offers_the_inquiry_to_smes_and_institutions(
    sme, institution, specialist, other_specialist, operator
):
    for user in (sme, institution, None):
        html = _text(_client(user).get("/specialists/100001/"))
        assert "この専門家に相談を依頼する" in html
        assert 'href="/inquiries/new/100001/"' in html
    assert "ログインが必要です" in _text(_client(None).get("/specialists/100001/"))
    for user in (other_specialist, operator):
        assert "この専門家に相談を依頼する" not in _text(_client(user).get("/specialists/100001/"))


def test_the_specialist_page_says_why_one_cannot_ask(sme, specialist):
    other = make_user("sme", organization="別の会社")
    services.accept(send(other, specialist, company_name="別の会社"), specialist)
    html = _text(_client(sme).get("/specialists/100001/"))
    assert "この専門家に相談を依頼する" not in html
    assert str(services.REFUSAL_MESSAGES["full"]) in html
    assert "対応中の案件が上限" in html
    assert "同じテーマ・地域で相談できるほかの専門家をさがす" in html
    Listing.objects.filter(record_id=specialist.record_id).update(
        availability=Availability.NOT_ACCEPTING
    )
    html = _text(_client(None).get("/specialists/100001/"))
    assert str(services.REFUSAL_MESSAGES["not_accepting"]) in html


def test_anonymous_visitors_sign_in_and_come_back_to_the_form(sme, specialist):
    from tests.factories import PASSWORD

    client = Client()
    response = client.get(NEW.format("100001"))
    assert response.status_code == 302
    login = response["Location"]
    response = client.post(login, {"email": sme.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == NEW.format("100001")


# ---------------------------------------------------------------- dashboards


def test_the_dashboard_groups_an_smes_inquiries_by_state(sme, specialist, other_specialist):
    waiting = send(sme, specialist, company_name="A社")
    finished = send(sme, other_specialist, company_name="A社")
    services.decline(finished, other_specialist, "schedule")
    html = _text(_client(sme).get("/inquiries/"))
    assert re.search(r"返答待ち.*1件", html)
    assert re.search(r"対応中.*0件", html)
    assert re.search(r"終了したもの.*1件", html)
    waiting_section = html.split('id="group-waiting"', 1)[1].split("</section>", 1)[0]
    assert f"/inquiries/{waiting.pk}/" in waiting_section and "佐藤 健太" in waiting_section
    finished_section = html.split('id="group-finished"', 1)[1].split("</section>", 1)[0]
    assert f"/inquiries/{finished.pk}/" in finished_section and "辞退" in finished_section


def test_the_specialist_dashboard_shows_engagements_against_capacity(sme, specialist):
    Listing.objects.filter(record_id=specialist.record_id).update(capacity=3)
    first = send(sme, specialist, company_name="A社")
    send(sme, specialist, company_name="B社")
    services.accept(first, specialist)
    html = _text(_client(specialist).get("/inquiries/"))
    assert "対応中 1件 ／ 上限 3件" in html
    assert "A社" in html and "B社" in html
    assert "あなたの対応待ち" in html
    assert "/me/listing/availability/" in html


def test_each_party_sees_only_their_own_inquiries(sme, institution, specialist, other_specialist):
    send(sme, specialist, company_name="SME社")
    services.send_inquiry(
        institution,
        listing_of(other_specialist),
        services.InquiryDraft(
            company_name="紹介先の会社",
            contact_name="紹介 太郎",
            contact_email="shokai@example.jp",
            theme=None,
            preferred_form="either",
            message="相談会からの紹介です。",
            wants_free_first_session=False,
            company_profile={"prefecture": "11"},
        ),
    )
    assert "SME社" in _text(_client(sme).get("/inquiries/"))
    assert "紹介先の会社" not in _text(_client(sme).get("/inquiries/"))
    assert "紹介先の会社" in _text(_client(institution).get("/inquiries/"))
    assert "SME社" not in _text(_client(institution).get("/inquiries/"))
    assert "SME社" in _text(_client(specialist).get("/inquiries/"))
    assert "SME社" not in _text(_client(other_specialist).get("/inquiries/"))
    assert "紹介先の会社" in _text(_client(other_specialist).get("/inquiries/"))


def test_operators_do_not_use_the_inquiry_pages(operator, sme, specialist):
    inquiry = send(sme, specialist)
    client = _client(operator)
    assert client.get("/inquiries/").status_code == 403
    assert client.get(f"/inquiries/{inquiry.pk}/").status_code == 403
    assert client.post(f"/inquiries/{inquiry.pk}/close/").status_code == 403


def test_the_menu_links_to_the_inquiries_for_the_parties(sme, institution, specialist, operator):
    for user in (sme, institution, specialist):
        html = _text(_client(user).get("/accounts/"))
        assert html.count('href="/inquiries/"') >= 2  # the header menu and the account page
    assert 'href="/inquiries/"' not in _text(_client(operator).get("/accounts/"))


# --------------------------------------------- the actions shown on the page


def _in_state(state: str, sme: Any, specialist: Any, *, recorded: int = 3) -> Inquiry:
    """An inquiry in `state`. The page is under test here, not the way there
    (tests/test_inquiry_services.py walks every transition), so happy-path
    states are written directly; the three endings still go through their service."""
    if state not in (S.DECLINED, S.CLOSED, S.EXPIRED):
        return create_inquiry(sme, specialist, state, recorded=recorded)
    inquiry = create_inquiry(sme, specialist)
    if state == S.DECLINED:
        services.decline(inquiry, specialist, "schedule")
    elif state == S.CLOSED:
        services.close(inquiry, sme, "cost")
    elif state == S.EXPIRED:
        Inquiry.objects.filter(pk=inquiry.pk).update(
            answer_by=inquiry.created_at - dt.timedelta(days=1)
        )
        services.expire_overdue()
    inquiry.refresh_from_db()
    return inquiry


# (state, visits recorded so far) → the forms each party sees.
SHOWN = [
    (S.SENT, 0, ["accept", "decline", "close"], ["close"]),
    (S.ACCEPTED, 0, ["record_consultation", "close"], ["close"]),
    (S.CONSULTING, 0, ["plan_guidance", "close"], ["close"]),
    (S.GUIDANCE_PLANNED, 0, ["record_visit", "close"], ["close"]),
    # Visits left to record: no completion yet.
    (S.IN_GUIDANCE, 1, ["record_visit", "close"], ["close"]),
    # All three recorded: completion, nothing more to record.
    (S.IN_GUIDANCE, 3, ["complete", "close"], ["close"]),
    (S.COMPLETED, 3, ["close"], ["confirm", "close"]),
    (S.CONFIRMED, 3, [], []),
    (S.DECLINED, 0, [], []),
    (S.EXPIRED, 0, [], []),
    (S.CLOSED, 0, [], []),
]


@pytest.mark.parametrize(("state", "recorded", "for_specialist", "for_client"), SHOWN)
def test_the_page_shows_exactly_the_actions_this_party_may_take(
    state, recorded, for_specialist, for_client, sme, specialist
):
    # `recorded` counts only in in_guidance (0 elsewhere in the table).
    inquiry = _in_state(state, sme, specialist, recorded=recorded or 3)
    assert inquiry.state == state
    for user, expected, party in (
        (specialist, for_specialist, rules.SPECIALIST),
        (sme, for_client, rules.CLIENT),
    ):
        response = _client(user).get(f"/inquiries/{inquiry.pk}/")
        assert response.status_code == 200
        shown = _actions_on_page(_text(response))
        assert shown == expected, (user, shown)
        # Never more than the table allows.
        assert set(shown) <= set(rules.actions_for(state, party))


def test_the_page_shows_the_records_and_the_history(sme, specialist):
    inquiry = _in_state(S.CONFIRMED, sme, specialist)
    html = _text(_client(sme).get(f"/inquiries/{inquiry.pk}/"))
    assert "個別相談の記録" in html and "規程がない。" in html and "基本方針から。" in html
    for goal in GOALS_1:
        assert goal in html
    assert html.count("達成</span>") == 3
    assert "3回実施しました。" in html
    assert "完了確認済み" in html and "会社による完了の確認" in html
    history = html.split('id="history-heading"', 1)[1]
    for label in (
        "返答待ち",
        "受諾",
        "個別相談済み",
        "訪問指導の計画済み",
        # Each recorded visit is named (issue 15, point 16), not "訪問指導中" three times.
        "訪問指導（1回目を記録）",
        "訪問指導（2回目を記録）",
        "訪問指導（3回目を記録）",
        "完了確認済み",
    ):
        assert label in history


def test_the_record_visit_form_offers_only_the_next_visit_not_yet_recorded(sme, specialist):
    # Visits are recorded in order (tests/test_inquiry_dates.py): 2 after 1, 3 after 2.
    inquiry = _in_state(S.IN_GUIDANCE, sme, specialist, recorded=1)
    response = _client(specialist).get(f"/inquiries/{inquiry.pk}/")
    choices = [
        c for c, _label in response.context["forms"]["record_visit"].fields["number"].choices
    ]
    assert choices == ["2"]


def test_the_plan_form_offers_the_chosen_themes_goals(sme, specialist):
    inquiry = _in_state(S.CONSULTING, sme, specialist)
    client = _client(specialist)
    html = _text(client.get(f"/inquiries/{inquiry.pk}/"))
    assert GOALS_1[1] in html  # the inquiry's theme (1) by default
    goals_3 = services.theme_goals(3)
    html = _text(client.get(f"/inquiries/{inquiry.pk}/?theme=3"))
    assert goals_3[1] in html and GOALS_1[1] not in html
    assert 'name="plan_guidance-theme" value="3"' in html
    data = {"plan_guidance-theme": "3"}
    for n in (1, 2, 3):
        data |= {
            f"plan_guidance-goal_{n}": goals_3[n - 1],
            f"plan_guidance-date_{n}": f"2026-12-{n * 7:02d}",
            f"plan_guidance-form_{n}": "online",
        }
    assert client.post(f"/inquiries/{inquiry.pk}/plan_guidance/", data).status_code == 302
    plan = GuidancePlan.objects.get(inquiry=inquiry)
    assert plan.theme == 3
    assert [v.goal for v in plan.visits.all()] == list(goals_3)


def test_a_goal_from_another_theme_is_refused_by_the_form(sme, specialist):
    inquiry = _in_state(S.CONSULTING, sme, specialist)
    data = {"plan_guidance-theme": "1"}
    for n in (1, 2, 3):
        data |= {
            f"plan_guidance-goal_{n}": services.theme_goals(3)[n - 1],
            f"plan_guidance-date_{n}": f"2026-12-{n * 7:02d}",
            f"plan_guidance-form_{n}": "visit",
        }
    response = _client(specialist).post(f"/inquiries/{inquiry.pk}/plan_guidance/", data)
    assert response.status_code == 400
    assert "テーマの達成目標から選んでください" in _text(response)
    assert Inquiry.objects.get(pk=inquiry.pk).state == S.CONSULTING


# ---------------------------------------------------------- every action


def _plan_data() -> dict[str, str]:
    data = {"plan_guidance-theme": "1"}
    for n in (1, 2, 3):
        data |= {
            f"plan_guidance-goal_{n}": GOALS_1[n - 1],
            f"plan_guidance-date_{n}": (
                dt.date(2026, 12, 1) + dt.timedelta(days=14 * (n - 1))
            ).isoformat(),
            f"plan_guidance-form_{n}": "visit",
        }
    return data


# Where a POST below says TODAY, the test sends today's date (the day it runs,
# in local time): the inquiries here were sent today, and nothing is held
# before the inquiry was sent or after today.
TODAY = "<today>"

# action → (state before, who acts, POST data, state after)
ACTION_CASES = {
    "accept": (S.SENT, "specialist", {}, S.ACCEPTED),
    "decline": (
        S.SENT,
        "specialist",
        {"decline-reason": "out_of_scope", "decline-note": "専門外のため。"},
        S.DECLINED,
    ),
    "record_consultation": (
        S.ACCEPTED,
        "specialist",
        {
            "record_consultation-held_on": TODAY,
            "record_consultation-form": "visit",
            "record_consultation-issues": "規程がない。",
            "record_consultation-priorities": "基本方針から。",
        },
        S.CONSULTING,
    ),
    "plan_guidance": (S.CONSULTING, "specialist", _plan_data(), S.GUIDANCE_PLANNED),
    "record_visit": (
        S.GUIDANCE_PLANNED,
        "specialist",
        {
            "record_visit-number": "1",
            "record_visit-held_on": TODAY,
            "record_visit-notes": "リスクを洗い出した。",
            "record_visit-goal_achieved": "yes",
        },
        S.IN_GUIDANCE,
    ),
    "complete": (
        "in_guidance_3",
        "specialist",
        {"complete-report": "3回実施しました。"},
        S.COMPLETED,
    ),
    "confirm": (S.COMPLETED, "client", {"confirm-certify": "on"}, S.CONFIRMED),
    "close": (
        S.CONSULTING,
        "client",
        {"close-reason": "cost", "close-note": "予算がない。"},
        S.CLOSED,
    ),
}


def _post_data(action: str) -> dict[str, str]:
    today = timezone.localdate().isoformat()
    return {k: today if v == TODAY else v for k, v in ACTION_CASES[action][2].items()}


def _setup(state: str, sme: Any, specialist: Any) -> Inquiry:
    if state == "in_guidance_3":
        return _in_state(S.IN_GUIDANCE, sme, specialist, recorded=3)
    return _in_state(state, sme, specialist)


@pytest.mark.parametrize("action", sorted(ACTION_CASES))
def test_each_action_moves_the_state_and_a_second_post_is_a_conflict(action, sme, specialist):
    before, who, _data, after = ACTION_CASES[action]
    data = _post_data(action)
    inquiry = _setup(before, sme, specialist)
    client = _client(specialist if who == "specialist" else sme)
    url = f"/inquiries/{inquiry.pk}/{action}/"
    response = client.post(url, data, follow=True)
    assert response.redirect_chain == [(f"/inquiries/{inquiry.pk}/", 302)]
    assert response.context["messages"]
    inquiry.refresh_from_db()
    assert inquiry.state == after
    # The same form sent again (a second click, another tab) changes nothing.
    transitions = inquiry.transitions.count()
    if action == "record_visit":
        # In guidance a visit may still be recorded, but not the same one twice.
        response = client.post(url, data)
        assert response.status_code in (400, 409)
    else:
        response = client.post(url, data)
        assert response.status_code == 409
        assert "操作できませんでした" in _text(response)
    assert inquiry.transitions.count() == transitions
    inquiry.refresh_from_db()
    assert inquiry.state == after


def test_the_actions_write_what_was_entered(sme, specialist):
    inquiry = _setup(S.SENT, sme, specialist)
    spec, client = _client(specialist), _client(sme)
    for action in ("accept", "record_consultation", "plan_guidance"):
        assert (
            spec.post(f"/inquiries/{inquiry.pk}/{action}/", _post_data(action)).status_code == 302
        )
    consultation = Consultation.objects.get(inquiry=inquiry)
    today = timezone.localdate()
    assert consultation.held_on == today and consultation.issues == "規程がない。"
    for n in (1, 2, 3):
        data = {
            "record_visit-number": str(n),
            "record_visit-held_on": today.isoformat(),
            "record_visit-notes": f"{n}回目の内容",
            "record_visit-goal_achieved": "yes" if n < 3 else "no",
        }
        assert spec.post(f"/inquiries/{inquiry.pk}/record_visit/", data).status_code == 302
    visits = list(GuidanceVisit.objects.filter(plan__inquiry=inquiry).order_by("number"))
    assert [v.goal_achieved for v in visits] == [True, True, False]
    assert visits[2].notes == "3回目の内容"
    assert (
        spec.post(
            f"/inquiries/{inquiry.pk}/complete/", {"complete-report": "終わりました。"}
        ).status_code
        == 302
    )
    assert (
        client.post(f"/inquiries/{inquiry.pk}/confirm/", {"confirm-certify": "on"}).status_code
        == 302
    )
    confirmation = CompletionConfirmation.objects.get(inquiry=inquiry)
    assert confirmation.confirmed_by == sme
    assert confirmation.completion_report == "終わりました。"
    assert [v["goal_achieved"] for v in confirmation.visits] == [True, True, False]


def test_decline_and_close_keep_their_reasons(sme, specialist, other_specialist):
    first = _setup(S.SENT, sme, specialist)
    _client(specialist).post(f"/inquiries/{first.pk}/decline/", _post_data("decline"))
    first.refresh_from_db()
    assert (first.decline_reason, first.state_note) == ("out_of_scope", "専門外のため。")
    html = _text(_client(sme).get(f"/inquiries/{first.pk}/"))
    assert "相談内容が専門外" in html
    assert "ほかの専門家をさがす" in html
    second = send(sme, other_specialist)
    _client(sme).post(f"/inquiries/{second.pk}/close/", _post_data("close"))
    second.refresh_from_db()
    assert (second.close_reason, second.state) == ("cost", S.CLOSED)


@pytest.mark.parametrize(
    ("action", "state", "who", "message"),
    [
        ("decline", S.SENT, "specialist", "辞退の理由を選んでください。"),
        ("record_consultation", S.ACCEPTED, "specialist", "見つかった課題を記入してください。"),
        ("plan_guidance", S.CONSULTING, "specialist", "日付を入力してください。"),
        ("record_visit", S.GUIDANCE_PLANNED, "specialist", "実施内容を記入してください。"),
        ("complete", "in_guidance_3", "specialist", "完了報告を記入してください。"),
        ("confirm", S.COMPLETED, "client", "内容を確認したら、チェックを入れてください。"),
        ("close", S.SENT, "client", "終了の理由を選んでください。"),
    ],
)
def test_an_incomplete_action_form_comes_back_with_its_errors(
    action, state, who, message, sme, specialist
):
    inquiry = _setup(state, sme, specialist)
    before = Inquiry.objects.get(pk=inquiry.pk).state
    response = _client(specialist if who == "specialist" else sme).post(
        f"/inquiries/{inquiry.pk}/{action}/", {}
    )
    assert response.status_code == 400
    html = _text(response)
    assert "入力内容を確認してください。" in html
    assert message in html
    assert Inquiry.objects.get(pk=inquiry.pk).state == before


def test_completing_before_every_visit_is_recorded_is_refused(sme, specialist):
    inquiry = _in_state(S.IN_GUIDANCE, sme, specialist, recorded=1)
    response = _client(specialist).post(
        f"/inquiries/{inquiry.pk}/complete/", {"complete-report": "早すぎる報告。"}
    )
    assert response.status_code == 409
    assert "3回の訪問指導をすべて記録してから" in _text(response)
    assert Inquiry.objects.get(pk=inquiry.pk).state == S.IN_GUIDANCE


def test_the_other_partys_action_is_refused(sme, specialist):
    inquiry = send(sme, specialist)
    response = _client(sme).post(f"/inquiries/{inquiry.pk}/accept/")
    assert response.status_code == 409
    assert "この操作はできません。" in _text(response)
    completed = _in_state(S.COMPLETED, make_user("sme", organization="B社"), specialist)
    response = _client(specialist).post(
        f"/inquiries/{completed.pk}/confirm/", {"confirm-certify": "on"}
    )
    assert response.status_code == 409
    assert Inquiry.objects.get(pk=completed.pk).state == S.COMPLETED


def test_an_institution_confirms_on_behalf_of_the_company(institution, specialist):
    inquiry = services.send_inquiry(
        institution,
        listing_of(specialist),
        services.InquiryDraft(
            company_name="紹介先の会社",
            contact_name="紹介 太郎",
            contact_email="shokai@example.jp",
            theme=1,
            preferred_form="visit",
            message="相談会からの紹介です。",
            wants_free_first_session=True,
            company_profile={"prefecture": "11"},
        ),
    )
    jump(inquiry, S.COMPLETED, specialist, institution)
    response = _client(institution).post(
        f"/inquiries/{inquiry.pk}/confirm/", {"confirm-certify": "on"}
    )
    assert response.status_code == 302
    assert CompletionConfirmation.objects.get(inquiry=inquiry).confirmed_on_behalf


# ------------------------------------------------------------- who gets 404


def test_a_non_party_gets_404_for_the_page_and_every_action(
    sme, institution, specialist, other_specialist
):
    inquiry = send(sme, specialist)
    strangers = [other_specialist, institution, make_user("sme", organization="他社")]
    for user in strangers:
        client = _client(user)
        assert client.get(f"/inquiries/{inquiry.pk}/").status_code == 404
        for action in ACTION_CASES:
            response = client.post(f"/inquiries/{inquiry.pk}/{action}/", _post_data(action))
            assert response.status_code == 404, (user, action)
    assert Inquiry.objects.get(pk=inquiry.pk).state == S.SENT
    assert _client(sme).get("/inquiries/999999/").status_code == 404


def test_unknown_actions_and_get_requests(sme, specialist):
    inquiry = send(sme, specialist)
    client = _client(specialist)
    assert client.post(f"/inquiries/{inquiry.pk}/expire/").status_code == 404
    assert client.post(f"/inquiries/{inquiry.pk}/delete/").status_code == 404
    assert client.get(f"/inquiries/{inquiry.pk}/accept/").status_code == 405
    assert Inquiry.objects.get(pk=inquiry.pk).state == InquiryState.SENT


def test_the_plan_form_keeps_its_theme_when_shown_again(sme, specialist):
    inquiry = _in_state(S.CONSULTING, sme, specialist)
    client = _client(specialist)
    response = client.post(f"/inquiries/{inquiry.pk}/plan_guidance/?theme=2", {})
    assert response.status_code == 400
    html = _text(response)
    # Without a posted theme the page's theme is kept, so the form can be sent as shown.
    assert 'name="plan_guidance-theme" value="2"' in html
    assert services.theme_goals(2)[1] in html
    assert '<option value="2" selected>' in html


def test_the_specialists_themes_are_marked_in_the_form(sme, specialist):
    html = _text(_client(sme).get(NEW.format("100001")))
    assert "①情報セキュリティ規程の整備（この専門家の支援実績あり）" in html
    assert "②情報資産の洗い出しとリスク分析（この専門家" not in html
