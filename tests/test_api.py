"""The JSON API: shape, filters as query parameters, 422s, OpenAPI, reference."""

from __future__ import annotations

import pytest

from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def specialists():
    create_specialists(
        make_input(
            registration_number="000001",
            prefectures=("27", "26"),
            themes=(1, 3),
            industries=("E",),
            periods=("spot",),
            fees={"visit": 30000, "online": 10000},
            qualifications=("itc",),
            first_free=True,
        ),
        make_input(registration_number="000002", prefectures=("13",), themes=(5,)),
        make_input(registration_number="000003", status="deregistered"),
    )


def test_search_answers_count_page_and_results(client, specialists):
    response = client.get("/api/v1/specialists", {"prefecture": ["27", "13"], "theme": [1, 5]})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["page"] == 1
    first = next(r for r in body["results"] if r["registration_number"] == "000001")
    assert first["prefectures"] == ["26", "27"]
    assert first["themes"] == [1, 3]
    assert first["fees"] == {"visit": 30000, "online": 10000}
    assert first["first_free"] is True
    assert first["qualifications"] == ["itc"]
    assert first["accepting"] is True
    assert first["verified"] == {
        "registration_number": "000001",
        "registered_on": "2024-04-01",
        "expires_on": "2027-03-31",
        "renewal_count": 0,
        "courses_up_to_date": True,
    }
    # Contact details are in no API response (see test_contact_reveal.py).
    assert "email" not in first and "phone" not in first
    assert first["stale"] is False


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"region": "kinki"}, 1),
        ({"industry": "E"}, 1),
        ({"form": "visit", "max_fee": 30000}, 1),
        ({"form": "visit", "max_fee": 29999}, 0),
        ({"max_fee": 10000}, 2),
        ({"first_free": "true"}, 1),
        ({"period": "spot"}, 1),
        ({"affiliation": "sole"}, 2),
        ({"qualification": "itc"}, 1),
        ({"q": "けんた"}, 2),
        ({"include_not_accepting": "true"}, 2),
        ({"page": 2, "page_size": 1}, 2),
    ],
)
def test_each_filter_is_a_query_parameter(client, specialists, params, count):
    response = client.get("/api/v1/specialists", params)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == count


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"theme": "x"}, "theme"),
        ({"theme": 9}, "theme"),
        ({"prefecture": "99"}, "prefecture"),
        ({"region": "mars"}, "region"),
        ({"industry": "Z"}, "industry"),
        ({"form": "fax"}, "form"),
        ({"max_fee": "cheap"}, "max_fee"),
        ({"max_fee": -5}, "max_fee"),
        ({"first_free": "maybe"}, "first_free"),
        ({"period": "forever"}, "period"),
        ({"affiliation": "x"}, "affiliation"),
        ({"page": 0}, "page"),
        ({"page_size": 101}, "page_size"),
        ({"include_not_accepting": "perhaps"}, "include_not_accepting"),
    ],
)
def test_invalid_parameters_get_422_naming_the_field(client, specialists, params, field):
    response = client.get("/api/v1/specialists", params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail and field in detail[0]["loc"]
    assert detail[0]["msg"]


def test_detail_returns_the_profile_and_hides_invisible_registrants(client, specialists):
    response = client.get("/api/v1/specialists/000001")
    assert response.status_code == 200
    body = response.json()
    assert body["profile"] == "中小企業の情報セキュリティ規程の整備を支援しています。"
    # E-mail and phone are shown only on the web page, one logged request at a time.
    assert "email" not in body and "phone" not in body
    assert body["verified"]["registration_number"] == "000001"
    assert client.get("/api/v1/specialists/000003").status_code == 404  # deregistered
    assert client.get("/api/v1/specialists/123456").status_code == 404


def test_detail_matches_the_search_result(client, specialists):
    result = client.get("/api/v1/specialists", {"q": "000001"}).json()
    listed = next(
        r
        for r in client.get("/api/v1/specialists", {"page_size": 100}).json()["results"]
        if r["registration_number"] == "000001"
    )
    detail = client.get("/api/v1/specialists/000001").json()
    assert {k: detail[k] for k in listed} == listed
    assert result["count"] == 0  # registration numbers are not free-text searchable


def test_reference_lists_every_code_with_japanese_labels(client):
    body = client.get("/api/v1/reference").json()
    assert len(body["prefectures"]) == 47
    assert body["prefectures"][0] == {
        "code": "01",
        "name": "北海道",
        "name_en": "Hokkaido",
        "block": "hokkaido",
    }
    assert [r["name"] for r in body["regions"]] == [
        "北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州・沖縄",
    ]  # fmt: skip
    assert [i["code"] for i in body["industries"]] == list("ABCDEFGHIJKLMNOPQRST")
    assert len(body["syllabus_majors"]) == 4
    assert len(body["syllabus_items"]) == 30
    themes = body["themes"]
    assert [t["code"] for t in themes] == [1, 2, 3, 4, 5]
    assert all(len(t["goals"]) == 3 for t in themes)
    assert themes[3]["syllabus_items"] == ["1-6", "3-2", "3-4", "3-7", "4-1", "4-2", "4-3", "4-4"]
    assert [f["code"] for f in body["forms"]] == ["visit", "online", "training", "product"]
    assert [p["code"] for p in body["periods"]] == ["spot", "1-3m", "3-6m", "6-12m", "12m+"]
    assert [a["code"] for a in body["affiliations"]] == ["sole", "company"]


def test_openapi_document_is_served(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/specialists" in doc["paths"]
    assert "/api/v1/specialists/{registration_number}" in doc["paths"]
    assert "/api/v1/reference" in doc["paths"]
    params = {p["name"] for p in doc["paths"]["/api/v1/specialists"]["get"]["parameters"]}
    assert {"prefecture", "region", "theme", "max_fee", "q", "page_size"} <= params


@pytest.mark.parametrize(
    "path", ["/api/v1/specialists", "/api/v1/reference", "/api/v1/specialists/000001"]
)
def test_the_api_is_read_only(client, specialists, path):
    for method in (client.post, client.put, client.delete):
        assert method(path).status_code == 405


def test_search_responses_hold_to_the_documented_schema(client, specialists):
    from sekispe.search.api import SearchOut, SpecialistDetailOut

    body = client.get("/api/v1/specialists", {"include_not_accepting": "true"}).json()
    assert body["results"]
    parsed = SearchOut.model_validate(body)
    assert parsed.model_dump(mode="json")["results"][0].keys() == body["results"][0].keys()
    SpecialistDetailOut.model_validate(client.get("/api/v1/specialists/000001").json())
