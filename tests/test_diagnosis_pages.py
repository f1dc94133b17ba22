"""The self-diagnosis pages and services: storing, sharing, history and claiming."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from sekispe.accounts.models import Role
from sekispe.diagnosis import rules, services
from sekispe.diagnosis.models import Diagnosis
from sekispe.search.services import SearchQuery

pytestmark = pytest.mark.django_db

IDS = rules.current().ids


def answers(default: str = "not_done", **overrides: str) -> dict[str, str]:
    return {**dict.fromkeys(IDS, default), **overrides}


def post(client: Client, data: dict[str, str]):
    return client.post("/diagnosis/", data)


def test_the_form_asks_every_question_with_its_reason_and_four_answers(client):
    page = client.get("/diagnosis/").content.decode()
    questionnaire = rules.current()
    for q in questionnaire.questions:
        assert q.text in page
        assert q.why in page
        assert f'id="id_{q.id}"' in page  # the fieldset the error summary links to
    for label in ("できている", "一部できている", "できていない", "分からない"):
        assert page.count(f">{label}</label>") == len(questionnaire.questions)
    for part in ("基本的な対策", "従業員としての対策", "組織としての対策", "会社について（任意）"):
        assert part in page


def test_an_anonymous_visitor_gets_a_result_at_an_unguessable_link(client):
    response = post(client, answers(prefecture="13", industry="E"))
    assert response.status_code == 302
    diagnosis = Diagnosis.objects.get()
    assert response["Location"] == f"/diagnosis/r/{diagnosis.share_token}/"
    assert len(diagnosis.share_token) >= 32
    assert diagnosis.user is None
    assert diagnosis.version == 1 and diagnosis.step == 1 and diagnosis.total_score == 0
    assert diagnosis.profile == {"prefecture": "13", "industry": "E"}
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert page["Referrer-Policy"] == "same-origin"
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "Step 1「取組の開始」の段階です" in html
    assert "<svg" in html and "seg-not_done" in html
    assert "ログインして保存" in html  # this browser made it


def test_missing_answers_are_named_and_given_answers_kept(client):
    response = post(client, {"b1": "done", "b2": "unknown", "prefecture": "27"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_b3"' in html and 'href="#id_o7"' in html
    assert 'href="#id_b1"' not in html
    assert '<input type="radio" name="b1" value="done" id="id_b1_0" required checked>' in html
    assert 'value="unknown" id="id_b2_3" required checked>' in html
    assert '<option value="27" selected>' in html
    assert not Diagnosis.objects.exists()


def test_a_made_up_answer_or_profile_value_is_refused(client):
    assert post(client, answers(b1="maybe")).status_code == 400
    assert post(client, answers(prefecture="99")).status_code == 400
    assert not Diagnosis.objects.exists()


def test_the_result_page_shows_step_guide_next_step_themes_and_the_search_link(client):
    basics = dict.fromkeys(("b1", "b2", "b3", "b4", "b5", "o1"), "done")
    response = post(
        client, {**answers(**basics), "e4": "unknown", "prefecture": "13", "industry": "E"}
    )
    html = client.get(response["Location"]).content.decode()
    assert "Step 2「組織的な取組」の段階です" in html
    assert "SECURITY ACTION の★一つ星を宣言できる段階です。" in html
    assert "Step 3「本格的な取組」に進むには" in html
    # The guide for Step 2: measures, tasks, the specialist's part, talent measures.
    assert "情報セキュリティ基本方針を作り" in html
    assert "情報セキュリティマネジメント試験" in html
    assert "「分からない」と答えた項目が1件あります" in html
    diagnosis = Diagnosis.objects.get()
    result = services.evaluation_of(diagnosis).result
    url = services.search_url(result, diagnosis.profile)
    assert f'href="{url.replace("&", "&amp;")}"' in html
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "theme": [str(t) for t in result.themes],
        "prefecture": ["13"],
        "industry": ["E"],
    }


def test_the_search_link_opens_the_active_list_with_those_filters(client):
    evaluation = services.evaluate(answers(), {"prefecture": "13", "industry": "E"})
    response = client.get(evaluation.search_url)
    assert response.status_code == 200
    html = response.content.decode()
    # The page renders its filter form apart (search/rendering.py), whose
    # context holds placeholders: take the query the search page parsed.
    [query] = {
        id(c["query"]): c["query"]
        for c in response.context
        if "query" in c and isinstance(c["query"], SearchQuery)
    }.values()
    assert query.themes == evaluation.result.themes
    assert query.prefectures == ("13",)
    assert query.industries == ("E",)
    assert "東京都" in html


def test_all_done_is_the_top_step_with_nothing_left(client):
    response = post(client, answers("done"))
    html = client.get(response["Location"]).content.decode()
    assert "Step 4「継続的な改善、より強固な対策」の段階です" in html
    assert "すべての対策ができています" in html
    assert "★★二つ星" in html


def test_an_unknown_token_is_a_404(client):
    assert client.get("/diagnosis/r/nope/").status_code == 404


def test_a_signed_in_sme_keeps_its_results_and_retakes_from_its_last_answers(client, sme):
    client.force_login(sme)
    post(client, answers(b1="done"))
    first = Diagnosis.objects.get()
    assert first.user == sme
    form = client.get("/diagnosis/").content.decode()
    assert "前回の回答を入れてあります" in form
    assert 'value="done" id="id_b1_0" required checked>' in form
    assert 'value="not_done" id="id_b2_2" required checked>' in form
    post(client, answers("done"))
    history = client.get("/diagnosis/history/").content.decode()
    assert history.count("/diagnosis/r/") == 2
    assert "<polyline" in history  # the progress chart, with two points


def test_other_roles_results_are_stored_without_an_owner(client, institution):
    client.force_login(institution)
    post(client, answers())
    assert Diagnosis.objects.get().user is None


def test_an_anonymous_result_is_claimed_after_signing_in(client, sme):
    post(client, answers())
    post(client, answers("partly"))
    client.force_login(sme)  # keeps the session, as a real login does
    history = client.get("/diagnosis/history/").content.decode()
    assert "ログイン前に受けた診断結果が2件あります" in history
    response = client.post("/diagnosis/history/claim/")
    assert response.status_code == 302
    assert Diagnosis.objects.filter(user=sme).count() == 2
    # Claimed once; a second press finds nothing more.
    client.post("/diagnosis/history/claim/")
    assert Diagnosis.objects.filter(user=sme).count() == 2


def test_a_result_cannot_be_claimed_by_someone_who_only_has_its_link(client, sme):
    stranger = Client()
    post(stranger, answers())
    token = Diagnosis.objects.get().share_token
    client.force_login(sme)
    page = client.get(f"/diagnosis/r/{token}/").content.decode()
    assert "この結果を自分の履歴に保存する" not in page
    client.post("/diagnosis/history/claim/")
    assert Diagnosis.objects.get().user is None


def test_claiming_is_only_for_sme_accounts(client, specialist):
    post(client, answers())
    client.force_login(specialist)
    assert client.post("/diagnosis/history/claim/").status_code == 403
    with pytest.raises(PermissionError):
        services.claim(specialist, client.session)
    assert Diagnosis.objects.get().user is None


def test_results_made_at_one_address_are_rate_limited_without_losing_the_answers(client, settings):
    settings.DIAGNOSES_PER_IP = (2, 3600)
    assert post(client, answers()).status_code == 302
    assert post(client, answers()).status_code == 302
    response = post(client, answers("done"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "回答はそのまま残っています" in html
    assert html.count("checked") >= len(IDS)
    assert Diagnosis.objects.count() == 2


def test_an_old_result_renders_with_its_own_version_after_the_questions_change(
    client, settings, tmp_path
):
    response = post(client, answers(b1="done"))
    v1 = json.loads((rules.QUESTIONNAIRE_DIR / "v1.json").read_text(encoding="utf-8"))
    v2 = json.loads(json.dumps(v1))
    v2["version"] = 2
    v2["questions"][0]["text"] = "新しい言い回しの設問です。"
    (tmp_path / "v1.json").write_text(json.dumps(v1, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "v2.json").write_text(json.dumps(v2, ensure_ascii=False), encoding="utf-8")
    settings.DIAGNOSIS_QUESTIONNAIRE_DIR = tmp_path
    rules._load.cache_clear()
    try:
        assert "新しい言い回しの設問です。" in client.get("/diagnosis/").content.decode()
        old = client.get(response["Location"]).content.decode()
        assert "設問バージョン 1" in old
        assert v1["questions"][0]["text"] in old
        assert "新しい言い回しの設問です。" not in old
        post(client, answers())
        assert Diagnosis.objects.order_by("-id").first().version == 2
    finally:
        rules._load.cache_clear()


def test_the_english_page_uses_the_english_wording(client):
    client.cookies["django_language"] = "en"
    html = client.get("/diagnosis/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert rules.current().question("b1").text_en in html


def test_only_sme_accounts_are_owners(db):
    user = get_user_model().objects.create_user(
        email="op@example.jp", password="x" * 12, role=Role.OPERATOR
    )
    assert services.record(answers(), user=user).user is None
