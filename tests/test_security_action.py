"""SECURITY ACTION declarations: the service rules, the SME page, and what the
diagnosis result page suggests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sekispe.audit.models import AuditEvent
from sekispe.diagnosis import rules, security_action, services
from sekispe.diagnosis.models import SecurityActionDeclaration
from tests.factories import make_user, text

pytestmark = pytest.mark.django_db

URL = "/diagnosis/security-action/"
TODAY = dt.date(2026, 11, 22)


def answers_at(step: int) -> dict[str, str]:
    """Answers putting a company at `step` (Steps below it all done)."""
    questionnaire = rules.current()
    return {q.id: "done" if q.step < step else "partly" for q in questionnaire.questions}


def declare(user, level: int, on: dt.date = TODAY, prefecture: str = "13", **extra):
    return security_action.record(
        user,
        level=level,
        declared_on=on,
        declaration_id=extra.pop("declaration_id", "123456789"),
        prefecture=prefecture,
        today=TODAY,
    )


# --- services -----------------------------------------------------------------------------


def test_each_declaration_is_a_new_row_and_a_step_up_is_seen(sme):
    first = declare(sme, 1, TODAY - dt.timedelta(days=200))
    assert first.previous_level == 0 and not first.step_up
    second = declare(sme, 2, TODAY - dt.timedelta(days=10))
    assert second.step_up and second.previous_level == 1
    assert [d.level for d in security_action.history(sme)] == [2, 1]
    assert security_action.current_level(sme) == 2
    assert AuditEvent.objects.filter(action="diagnosis.security_action_declared").count() == 2


def test_a_lower_declaration_is_recorded_and_flagged(sme):
    declare(sme, 2, TODAY - dt.timedelta(days=100))
    lower = declare(sme, 1)
    assert lower.lower and not lower.step_up
    assert security_action.current_level(sme) == 1
    assert security_action.highest_level(sme) == 2
    assert SecurityActionDeclaration.objects.filter(user=sme).count() == 2


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("123456789", "123456789"),
        ("１２３４５６７８９", "123456789"),
        ("12-3456－789", "12-3456-789"),
    ],
)
def test_ids_are_normalised(sme, raw, stored):
    assert declare(sme, 1, declaration_id=raw).declaration.declaration_id == stored


@pytest.mark.parametrize("raw", ["", "abc123456", "1234", "1" * 21, "12--34567", "<script>"])
def test_bad_ids_are_refused_in_japanese(sme, raw):
    with pytest.raises(security_action.DeclarationError) as caught:
        declare(sme, 1, declaration_id=raw)
    assert caught.value.field == "declaration_id"
    assert "自己宣言ID" in caught.value.message


def test_dates_in_the_future_or_before_the_scheme_are_refused(sme):
    with pytest.raises(security_action.DeclarationError, match="未来"):
        declare(sme, 1, on=TODAY + dt.timedelta(days=1))
    with pytest.raises(security_action.DeclarationError, match="2017"):
        declare(sme, 1, on=dt.date(2016, 12, 31))
    with pytest.raises(security_action.DeclarationError):
        declare(sme, 3)
    with pytest.raises(security_action.DeclarationError):
        declare(sme, 1, prefecture="99")
    assert not SecurityActionDeclaration.objects.exists()


def test_only_sme_accounts_declare(specialist, operator):
    for user in (specialist, operator):
        with pytest.raises(PermissionError):
            declare(user, 1)


def test_the_prefecture_comes_from_the_last_declaration_then_the_diagnosis(sme):
    assert security_action.default_prefecture(sme) == ""
    services.record(answers_at(2), {"prefecture": "27"}, user=sme)
    assert security_action.default_prefecture(sme) == "27"
    declare(sme, 1, prefecture="40")
    assert security_action.default_prefecture(sme) == "40"


def test_suggestion_skips_levels_already_declared(sme):
    assert security_action.suggestion(2, sme).suggest == 2
    declare(sme, 1)
    assert security_action.suggestion(1, sme).suggest == 0
    assert security_action.suggestion(2, sme).suggest == 2
    declare(sme, 2)
    assert security_action.suggestion(2, sme).suggest == 0
    assert security_action.suggestion(0, sme).suggest == 0


# --- pages --------------------------------------------------------------------------------


def test_the_form_is_prefilled_and_records_a_declaration(client_for, sme):
    services.record(answers_at(2), {"prefecture": "27"}, user=sme)
    client = client_for(sme)
    page = client.get(URL + "?level=2")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial == {"prefecture": "27", "level": 2}
    body = text(page)
    assert "まだ宣言の記録はありません" in body
    assert 'href="/privacy/"' in page.content.decode() or "プライバシーポリシー" in body
    today = timezone.localdate()
    data = {"level": "1", "declared_on": today.isoformat(), "declaration_id": "987654321",
            "prefecture": "27"}  # fmt: skip
    response = client.post(URL, data)
    assert response.status_code == 302
    response = client.post(URL, {**data, "level": "2"}, follow=True)
    assert "ステップアップ" in text(response)
    rows = list(SecurityActionDeclaration.objects.filter(user=sme).values_list("level", flat=True))
    assert sorted(rows) == [1, 2]
    body = text(client.get(URL))
    assert "987654321" in body and "大阪府" in body and "現在の宣言：★★二つ星" in body


def test_errors_are_shown_with_the_form(client_for, sme):
    client = client_for(sme)
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = client.post(
        URL, {"level": "1", "declared_on": future, "declaration_id": "12", "prefecture": "13"}
    )
    assert response.status_code == 400
    body = text(response)
    assert "未来の日付" in body
    assert "入力内容を確認してください" in body
    response = client.post(URL, {})
    assert response.status_code == 400
    assert "宣言した段階を選んでください" in text(response)
    assert not SecurityActionDeclaration.objects.exists()


def test_other_roles_are_refused_and_anonymous_sent_to_login(client, client_for, specialist):
    assert client.get(URL).status_code == 302
    assert "/login/" in client.get(URL)["Location"]
    assert client_for(specialist).get(URL).status_code == 403


def test_the_result_page_suggests_the_reached_level_to_its_sme(client_for, sme):
    diagnosis = services.record(answers_at(4), user=sme)
    client = client_for(sme)
    result_url = f"/diagnosis/r/{diagnosis.share_token}/"
    page = client.get(result_url).content.decode()
    assert f"{URL}?level=2" in page
    security_action.record(
        sme, level=1, declared_on=timezone.localdate(), declaration_id="11111111", prefecture="13"
    )
    page = client.get(result_url).content.decode()
    assert "ステップアップできる段階です" in page and f"{URL}?level=2" in page
    security_action.record(
        sme, level=2, declared_on=timezone.localdate(), declaration_id="22222222", prefecture="13"
    )
    page = client.get(result_url).content.decode()
    assert "?level=" not in page and "★★二つ星を宣言済みです" in page


def test_one_star_declared_at_step_2_is_congratulated(client_for, sme):
    diagnosis = services.record(answers_at(2), user=sme)
    declare(sme, 1)
    page = text(client_for(sme).get(f"/diagnosis/r/{diagnosis.share_token}/"))
    assert "★一つ星を宣言済みです" in page and "Step 3 に進むと" in page


def test_anonymous_visitors_learn_what_it_is(client):
    diagnosis = services.record(answers_at(2))
    body = text(client.get(f"/diagnosis/r/{diagnosis.share_token}/"))
    assert "SECURITY ACTION は、中小企業が" in body
    assert "中小企業のアカウントでログインすると、宣言した段階" in body
    lower = services.record(answers_at(1))
    assert "SECURITY ACTION は、中小企業が" not in text(
        client.get(f"/diagnosis/r/{lower.share_token}/")
    )


def test_another_companys_result_suggests_nothing(client_for, sme):
    other = make_user("sme", "other@example.co.jp", organization="株式会社ほか")
    diagnosis = services.record(answers_at(4), user=other)
    assert (
        "?level="
        not in client_for(sme).get(f"/diagnosis/r/{diagnosis.share_token}/").content.decode()
    )
