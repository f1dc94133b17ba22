"""POST /api/v1/diagnoses and GET /api/v1/diagnoses/questions."""

from __future__ import annotations

import json

import pytest

from sekispe.diagnosis import rules
from sekispe.diagnosis.models import Diagnosis

pytestmark = pytest.mark.django_db

IDS = rules.current().ids


def call(client, body: object):
    return client.post("/api/v1/diagnoses", json.dumps(body), content_type="application/json")


def locs(response) -> list[list[str]]:
    return [d["loc"] for d in response.json()["detail"]]


def test_questions_are_the_current_version(client):
    body = client.get("/api/v1/diagnoses/questions").json()
    assert body["version"] == rules.current().version
    assert body["answers"] == ["done", "partly", "not_done", "unknown"]
    assert [p["code"] for p in body["parts"]] == ["basic", "employee", "organisation"]
    assert [q["id"] for q in body["questions"]] == list(IDS)
    first = body["questions"][0]
    assert first["number"] == 1 and first["step"] == 1 and first["themes"] == [2, 5]
    assert first["why"]


def test_a_full_set_of_answers_is_evaluated_and_nothing_is_stored(client):
    answers = {**dict.fromkeys(IDS, "done"), "o2": "partly", "o3": "unknown"}
    response = call(client, {"answers": answers, "profile": {"prefecture": "27"}})
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 1
    assert body["step"] == 2
    assert body["next_step_requirements"] == ["o2", "o3"]
    assert body["themes"][0] in (1, 5)
    assert set(body["themes"]) == {1, 5}
    assert body["unknown"] == ["o3"]
    assert body["security_action"] == 1
    assert body["scores"]["total"] == 94  # 47 of 50 points
    assert [p["score"] for p in body["scores"]["parts"]] == [100, 100, 78]
    assert body["scores"]["parts"][2]["unknown"] == 1
    assert body["search_url"].startswith("http://testserver/specialists/?")
    assert "prefecture=27" in body["search_url"]
    assert not Diagnosis.objects.exists()


def test_an_unknown_question_id_is_named(client):
    response = call(client, {"answers": {**dict.fromkeys(IDS, "done"), "x9": "done"}})
    assert response.status_code == 422
    assert locs(response) == [["body", "answers", "x9"]]
    assert "x9" in response.json()["detail"][0]["msg"]


def test_every_missing_answer_is_named(client):
    answers = dict.fromkeys(IDS, "done")
    del answers["e3"], answers["o7"]
    response = call(client, {"answers": answers})
    assert response.status_code == 422
    assert locs(response) == [["body", "answers", "e3"], ["body", "answers", "o7"]]


def test_a_bad_answer_value_is_named(client):
    response = call(client, {"answers": {**dict.fromkeys(IDS, "done"), "b2": "yes"}})
    assert response.status_code == 422
    assert locs(response) == [["body", "answers", "b2"]]


def test_a_bad_profile_value_or_field_is_named(client):
    answers = dict.fromkeys(IDS, "done")
    response = call(client, {"answers": answers, "profile": {"prefecture": "48", "size": "x"}})
    assert response.status_code == 422
    assert sorted(locs(response)) == [
        ["body", "profile", "prefecture"],
        ["body", "profile", "size"],
    ]


def test_all_problems_are_named_together(client):
    response = call(client, {"answers": {"b1": "nope", "zz": "done"}})
    assert response.status_code == 422
    named = {loc[2] for loc in locs(response)}
    assert named == set(IDS) | {"zz"}


def test_answers_are_required(client):
    response = call(client, {"profile": {}})
    assert response.status_code == 422
    assert ["body", "payload", "answers"] in locs(response)


def test_the_api_is_in_the_openapi_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/diagnoses" in schema["paths"]
    assert "/api/v1/diagnoses/questions" in schema["paths"]


@pytest.mark.parametrize("value", [[], ["13"], {"a": 1}, 13])
def test_a_profile_value_that_is_not_text_is_a_named_problem_not_a_crash(value):
    from sekispe.diagnosis.services import profile_problems

    assert profile_problems({"prefecture": value}) == [
        (("profile", "prefecture"), f"prefecture: 「{value}」は選べる値ではありません。")
    ]
