"""GET /api/v1/registry: the public search service as JSON."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from sekispe.core.api import ErrorOut
from sekispe.registry.api import RegistryEntryOut, RegistrySearchOut
from sekispe.registry.models import RegistryRecord
from tests.factories import create_specialists, make_input
from tests.test_public_registry import course, make_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def registry(db):
    with time_machine.travel(dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC), tick=False):
        yamada = make_record("200001", "山田 太郎", "ヤマダ タロウ", renewal_count=1)
        course(yamada, "common", dt.date(2024, 6, 1), "IPA", "C-2024")
        course(yamada, "practical", dt.date(2025, 2, 10), "IPA", "P-2024-07")
        make_record("200002", "佐藤 花子", "サトウ ハナコ", published_items=["name_kana"])
        make_record("200003", "山田 花子", "ヤマダ ハナコ", status="deregistered")
        make_record("200004", "山田 三郎", "ヤマダ サブロウ", status="revoked")
        create_specialists(make_input(registration_number="100011", name="森 一"))
        RegistryRecord.objects.filter(registration_number="100011").update(published_items=[])
        yield


def test_search_by_name_returns_the_documented_shape(client):
    response = client.get("/api/v1/registry", {"q": "やまだ"})
    assert response.status_code == 200
    body = response.json()
    RegistrySearchOut.model_validate(body)
    assert (body["count"], body["limit"], body["offset"]) == (1, 50, 0)
    [entry] = body["results"]
    assert entry == {
        "registration_number": "200001",
        "name": "山田 太郎",
        "name_kana": "ヤマダ タロウ",
        "birth_year": 1980,
        "home_prefecture": "13",
        "home_prefecture_name": "東京都",
        "registered_on": "2024-04-01",
        "email": "r200001@example.jp",
        "expires_on": "2027-03-31",
        "valid_until": "2027-03-31",
        "application_deadline": "2027-01-30",
        "renewal_count": 1,
        "renewal_under_review": False,
        "practical_courses": [
            {
                "kind": "practical",
                "kind_label": "実践講習（IPA）",
                "completed_on": "2025-02-10",
                "provider": "IPA",
                "course_code": "P-2024-07",
            }
        ],
        "listing_url": None,
    }


def test_unpublished_items_are_null_and_do_not_match(client):
    assert client.get("/api/v1/registry", {"q": "佐藤"}).json()["count"] == 0
    [entry] = client.get("/api/v1/registry", {"q": "サトウ"}).json()["results"]
    assert entry["registration_number"] == "200002"
    assert entry["name_kana"] == "サトウ ハナコ"
    assert entry["name"] is None and entry["email"] is None and entry["home_prefecture"] is None


def test_search_by_number_prefecture_and_paging(client):
    assert client.get("/api/v1/registry", {"q": "２０００02"}).json()["count"] == 1
    # Everyone lives in Tokyo; only 200001 published it.
    body = client.get("/api/v1/registry", {"prefecture": "13"}).json()
    assert [e["registration_number"] for e in body["results"]] == ["200001"]
    body = client.get("/api/v1/registry", {"prefecture": "東京都", "limit": 1, "offset": 1}).json()
    assert (body["count"], body["limit"], body["offset"], body["results"]) == (1, 1, 1, [])


@pytest.mark.parametrize("number", ["200003", "200004"])  # deregistered, revoked
def test_a_deregistered_or_revoked_registrant_is_never_returned(client, number):
    assert client.get("/api/v1/registry", {"q": number}).json()["count"] == 0
    assert client.get(f"/api/v1/registry/{number}").status_code == 404


def test_the_listing_link_for_a_visible_listing(client):
    [entry] = client.get("/api/v1/registry", {"q": "100011"}).json()["results"]
    assert entry["listing_url"] == "/specialists/100011/"


def test_one_registrant(client):
    response = client.get("/api/v1/registry/200001")
    assert response.status_code == 200
    RegistryEntryOut.model_validate(response.json())
    assert response.json()["name"] == "山田 太郎"
    assert client.get("/api/v1/registry/999999").status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "  "}, "q"),
        ({"q": "12345"}, "q"),
        ({"q": "あ" * 101}, "q"),
        ({"prefecture": "48"}, "prefecture"),
        ({"q": "山田", "limit": 0}, "limit"),
        ({"q": "山田", "limit": 101}, "limit"),
        ({"q": "山田", "limit": "many"}, "limit"),
        ({"q": "山田", "offset": -1}, "offset"),
    ],
)
def test_invalid_parameters_are_422_naming_the_parameter(client, params, field):
    response = client.get("/api/v1/registry", params)
    assert response.status_code == 422
    body = response.json()
    ErrorOut.model_validate(body)
    assert body["detail"][0]["loc"] == ["query", field]


def test_the_api_is_read_only(client):
    assert client.post("/api/v1/registry").status_code == 405


def test_openapi_documents_the_registry(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/registry"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["q", "prefecture", "limit", "offset"]
    assert set(operation["responses"]) == {"200", "400", "414", "422"}
    assert "/api/v1/registry/{registration_number}" in schema["paths"]
    entry = schema["components"]["schemas"]["RegistryEntryOut"]
    assert entry["properties"]["name"]["anyOf"][1] == {"type": "null"}
    kind = schema["components"]["schemas"]["CourseOut"]["properties"]["kind"]["description"]
    assert "deemed" in kind and "みなし受講" in kind
