"""The policy pages: who sees them, what they show, and that no person or company appears."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sekispe.diagnosis.models import Diagnosis, SecurityActionDeclaration
from sekispe.events.models import ConsultationEvent, EventParticipant, IndividualConsultation
from sekispe.insights.models import Fact, Refresh
from sekispe.insights.refresh import refresh_insights
from sekispe.insights.views import PAGE_NAMES
from sekispe.search.models import SearchDemand
from tests.factories import make_specialist_user, make_user, text
from tests.inquiry_support import send

# Every piece of personal data the fixtures hold; none may reach a page or a CSV.
SECRETS = (
    "秘密 花子",
    "ヒミツ ハナコ",
    "leak-specialist@example.jp",
    "株式会社ヒミツ製作所",
    "密告 太郎",
    "leak-company@example.jp",
    "漏洩のない相談内容です",
    "leak-sme@example.jp",
    "相談会ヒミツ",
    "参加 秘子",
    "leak-participant@example.jp",
    "SA-LEAK-0001",
    "見つかった秘密の課題",
    "090-1234-5678",
)


@pytest.fixture
def data(db):
    specialist = make_specialist_user(
        name="秘密 花子",
        name_kana="ヒミツ ハナコ",
        email="leak-specialist@example.jp",
        phone="090-1234-5678",
        company_name="株式会社ヒミツ製作所",
        prefectures=("13", "14"),
        themes=(1, 2),
    )
    sme = make_user("sme", email="leak-sme@example.jp", organization="株式会社ヒミツ製作所")
    send(
        sme,
        specialist,
        company_name="株式会社ヒミツ製作所",
        contact_name="密告 太郎",
        contact_email="leak-company@example.jp",
        message="漏洩のない相談内容です",
    )
    institution = make_user("institution")
    event = ConsultationEvent.objects.create(
        owner=institution,
        title="相談会ヒミツ",
        held_on=timezone.localdate(),
        capacity=10,
        themes=[1],
    )
    participant = EventParticipant.objects.create(
        event=event,
        company_name="株式会社ヒミツ製作所",
        contact_name="参加 秘子",
        email="leak-participant@example.jp",
        prefecture="13",
        themes=["1"],
        registered_via="link",
    )
    IndividualConsultation.objects.create(
        participant=participant, theme=1, notes="見つかった秘密の課題", recorded_by=institution
    )
    Diagnosis.objects.create(
        version=1,
        answers={},
        profile={"prefecture": "13", "industry": "E", "employees": "1-5"},
        step=2,
        total_score=40,
        share_token="leak-token",
        user=sme,
    )
    SecurityActionDeclaration.objects.create(
        user=sme,
        level=1,
        declared_on=timezone.localdate(),
        declaration_id="SA-LEAK-0001",
        prefecture_id="13",
    )
    SearchDemand.objects.create(
        day=timezone.localdate(), prefecture="13", theme=1, form="visit", results=1, searches=7
    )
    return refresh_insights()


def _csv(response) -> list[list[str]]:
    body = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("role", ["analyst", "operator"])
def test_every_page_and_csv_shows_aggregates_and_no_personal_data(data, client_for, request, role):
    client = client_for(request.getfixturevalue(role))
    for name in PAGE_NAMES:
        page = client.get(reverse(f"insights:{name}"))
        assert page.status_code == 200, name
        body = text(page)
        for secret in SECRETS:
            assert secret not in body, (name, secret)
        export = client.get(reverse(f"insights:{name}_csv"))
        assert export.status_code == 200
        assert export["Content-Type"].startswith("text/csv")
        content = export.content.decode("utf-8-sig")
        for secret in SECRETS:
            assert secret not in content, (name, secret)


def test_the_facts_themselves_hold_only_codes_and_numbers(data):
    for measure, prefecture, theme, key in Fact.objects.values_list(
        "measure", "prefecture", "theme", "key"
    ):
        for value in (prefecture, theme, key):
            assert not any(secret in value for secret in SECRETS), (measure, value)


def test_the_pages_show_the_counts(data, client_for, analyst):
    client = client_for(analyst)
    supply = text(client.get(reverse("insights:supply")))
    assert "東京都" in supply and "神奈川県" in supply
    rows = _csv(client.get(reverse("insights:supply_csv")))
    tokyo = next(r for r in rows if r and r[0] == "東京都")
    assert tokyo[1:4] == ["1", "1", "0"]  # listed and accepting: a waiting inquiry takes no slot
    assert "支援地域の都道府県別" in rows[0][0]
    demand = _csv(client.get(reverse("insights:demand_csv")))
    national = next(r for r in demand if r and r[0] == "全国")
    assert national[1:3] == ["7", "7"]  # 7 searches, all found fewer than 3
    security = _csv(client.get(reverse("insights:security_action_csv")))
    tokyo = next(r for r in security if r and r[0].startswith("東京都"))
    assert tokyo[1:] == ["1", "0", "1"]
    funnel = text(client.get(reverse("insights:funnel")))
    assert "相談の依頼" in funnel


def test_the_overview_shows_the_last_refresh_and_links_every_area(data, client_for, analyst):
    page = client_for(analyst).get(reverse("insights:overview"))
    body = text(page)
    assert "最終集計" in body
    for name in PAGE_NAMES:
        assert reverse(f"insights:{name}") in body
    assert "<svg" not in body or 'role="img"' in body


def test_before_any_refresh_the_pages_say_so(db, client_for, analyst):
    client = client_for(analyst)
    for name in PAGE_NAMES:
        page = client.get(reverse(f"insights:{name}"))
        assert page.status_code == 200
        assert "集計がまだありません" in text(page)


def test_a_page_reads_a_fixed_number_of_queries_whatever_the_data(data, client_for, analyst):
    client = client_for(analyst)
    counts = {}
    for name in PAGE_NAMES:
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse(f"insights:{name}"))
        counts[name] = len(queries)
    SearchDemand.objects.create(
        day=timezone.localdate() - dt.timedelta(days=40),
        prefecture="01",
        theme=2,
        form="",
        results=3,
        searches=3,
    )
    refresh_insights()
    for name in PAGE_NAMES:
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse(f"insights:{name}"))
        assert len(queries) == counts[name], name
        assert not any("registry_" in q["sql"] or "inquiries_" in q["sql"] for q in queries)


def test_the_registrants_page_draws_the_trend_against_the_target(data, client_for, operator):
    body = text(client_for(operator).get(reverse("insights:registrants")))
    assert 'class="line-chart"' in body
    assert "目標 50,000人" in body


def test_a_refresh_replaces_every_cell_and_records_itself(data):
    before = Fact.objects.count()
    run = refresh_insights(timezone.localdate())
    assert Fact.objects.count() == before == run.cells
    assert Refresh.objects.count() == 2
    assert run.finished_at >= run.started_at


def test_every_map_measure_is_written_for_every_prefecture(data):
    from sekispe.insights.measures import MAP_MEASURES
    from sekispe.insights.tally import PREFECTURE_CODES

    for measure in MAP_MEASURES:
        codes = set(
            Fact.objects.filter(measure=measure.slug, theme="", key="").values_list(
                "prefecture", flat=True
            )
        )
        assert set(PREFECTURE_CODES) <= codes, measure.slug


def test_the_account_page_links_analysts_and_operators_to_the_insights(
    db, client_for, analyst, operator, sme
):
    url = reverse("insights:overview")
    assert url in text(client_for(analyst).get(reverse("accounts:home")))
    assert url in text(client_for(operator).get(reverse("accounts:home")))
    assert url not in text(client_for(sme).get(reverse("accounts:home")))


def test_the_command_refreshes(db, capsys):
    from django.core.management import call_command

    call_command("refresh_insights", "--today", "2026-11-22", "--no-progress")
    assert Refresh.objects.get().as_of == dt.date(2026, 11, 22)
    assert "2026-11-22" in capsys.readouterr().out
