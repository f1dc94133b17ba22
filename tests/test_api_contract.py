"""Issue 13, finding 13: the OpenAPI document says exactly what the server does.

Each test reads /api/v1/openapi.json and holds a request's status, content type
and body to what the document declares for it. `make fuzz` (scripts/fuzz) runs
Schemathesis against the same document under gunicorn for the cases a test
cannot list.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema_rs
import pytest

from sekispe.diagnosis import rules
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
DETAIL_PATHS = (
    "/api/v1/specialists/{registration_number}",
    "/api/v1/registry/{registration_number}",
)


@cache
def _document() -> dict:
    from django.test import Client

    return Client().get("/api/v1/openapi.json").json()


@pytest.fixture
def doc(db) -> dict:
    return _document()


def _operation(doc: dict, path: str, method: str = "get") -> dict:
    return doc["paths"][path][method]


def _parameter(doc: dict, path: str, name: str) -> dict:
    return next(p for p in _operation(doc, path)["parameters"] if p["name"] == name)


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def assert_declared(doc: dict, path: str, method: str, response) -> None:
    """The response's status is declared for the operation, with its content
    type, and a JSON body validates against the declared schema."""
    responses = _operation(doc, path, method)["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered {status}, not declared"
    content = responses[status].get("content", {})
    media_type = response["Content-Type"].split(";")[0].strip()
    assert media_type in content, f"{status} {media_type} not declared: {list(content)}"
    if media_type == "application/json":
        schema = {**content[media_type]["schema"], "components": doc["components"]}
        jsonschema_rs.validator_for(schema).validate(json.loads(response.content))


@pytest.fixture
def specialists(db):
    create_specialists(make_input(registration_number="000001", themes=(1, 3)))


def test_finding_13_detail_endpoints_declare_404(client, doc, specialists):
    for path in DETAIL_PATHS:
        assert "404" in _operation(doc, path)["responses"], path
        response = client.get(path.replace("{registration_number}", "999999"))
        assert response.status_code == 404
        assert_declared(doc, path, "get", response)


def test_finding_13_every_operation_declares_400_and_414(doc):
    # 400: Django refuses a request it cannot parse (over DATA_UPLOAD_MAX_NUMBER_FIELDS
    # parameters, a bad Host); 414: gunicorn refuses a request line longer than
    # limit_request_line (4094 bytes by default; deploy/gunicorn.conf.py keeps it).
    assert "limit_request_line" not in (ROOT / "deploy/gunicorn.conf.py").read_text()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "414"):
                assert status in operation["responses"], f"{method} {path} lacks {status}"


def test_finding_13_400_is_what_django_sends(client, doc):
    too_many = "&".join(f"p{i}=1" for i in range(1001))  # DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = client.get(f"/api/v1/specialists?{too_many}")
    assert response.status_code == 400
    assert_declared(doc, "/api/v1/specialists", "get", response)


def test_finding_13_registry_requires_q_or_prefecture(client, doc):
    path = "/api/v1/registry"
    operation = _operation(doc, path)
    assert "At least one of `q` and `prefecture` is required" in operation["description"]
    assert "q" in operation["responses"]["422"]["description"]
    assert "prefecture" in operation["responses"]["422"]["description"]
    response = client.get(path)
    assert response.status_code == 422
    assert_declared(doc, path, "get", response)
    assert response.json()["detail"][0]["loc"] == ["query", "q"]
    # A prefecture alone is enough, and it is a declared code or name.
    prefecture = _parameter(doc, path, "prefecture")["schema"]
    codes = next(s["enum"] for s in prefecture["anyOf"] if "enum" in s)
    assert {"13", "東京都", "東京", "1", "01"} <= set(codes)
    response = client.get(path, {"prefecture": "13"})
    assert response.status_code == 200
    assert_declared(doc, path, "get", response)


def test_finding_13_theme_0_is_outside_the_declared_codes(client, doc, specialists):
    path = "/api/v1/specialists"
    theme = _parameter(doc, path, "theme")["schema"]
    assert theme["type"] == "array"
    assert theme["items"]["enum"] == [1, 2, 3, 4, 5]
    for value in ("0", "6"):
        response = client.get(path, {"theme": value})
        assert response.status_code == 422
        assert_declared(doc, path, "get", response)
    assert client.get(path, {"theme": "5"}).status_code == 200


def test_finding_13_empty_answers_violate_min_properties(client, doc):
    path = "/api/v1/diagnoses"
    body = _resolve(
        doc, _operation(doc, path, "post")["requestBody"]["content"]["application/json"]["schema"]
    )
    answers = body["properties"]["answers"]
    ids = list(rules.current().ids)
    assert answers["minProperties"] == len(ids)
    assert answers["required"] == ids
    assert answers["additionalProperties"] is False
    assert answers["properties"][ids[0]]["enum"] == list(rules.ANSWERS)
    response = client.post(path, json.dumps({"answers": {}}), content_type="application/json")
    assert response.status_code == 422
    assert_declared(doc, path, "post", response)


@pytest.mark.parametrize("name", ["include_not_accepting", "first_free"])
def test_finding_13_an_empty_boolean_is_rejected(client, doc, name):
    path = "/api/v1/specialists"
    assert _parameter(doc, path, name)["schema"] == {"type": "boolean"}
    response = client.get(f"{path}?{name}=")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", name]
    assert_declared(doc, path, "get", response)
    for spelling in ("true", "false"):
        assert client.get(path, {name: spelling}).status_code == 200


@pytest.mark.parametrize(
    "query",
    ["theme=null", "theme=", "page=", "max_fee=", "region=", "prefecture=", "page_size=%201"],
)
def test_finding_13_theme_null_and_other_non_values_are_rejected(client, doc, query):
    path = "/api/v1/specialists"
    response = client.get(f"{path}?{query}")
    assert response.status_code == 422, query
    assert response.json()["detail"][0]["loc"] == ["query", query.split("=")[0]]
    assert_declared(doc, path, "get", response)


def test_finding_13_every_search_parameter_is_constrained(doc):
    """No parameter is a bare string or integer the server then narrows."""
    path = "/api/v1/specialists"
    for parameter in _operation(doc, path)["parameters"]:
        schema = parameter["schema"]
        schema = schema.get("items", schema)
        if parameter["name"] == "order":
            continue  # any string: an invalid or expired token is ignored
        assert {"enum", "minimum", "maxLength", "pattern"} & set(schema) or schema == {
            "type": "boolean"
        }, parameter


def test_finding_13_malformed_json_is_declared(client, doc):
    path = "/api/v1/diagnoses"
    for body in ("{", "[]", '"answers"'):
        response = client.post(path, body, content_type="application/json")
        assert 400 <= response.status_code < 500, body
        assert_declared(doc, path, "post", response)


@pytest.mark.parametrize(
    ("path", "name"),
    [("/api/v1/specialists", "q"), ("/api/v1/specialists", "order"), ("/api/v1/registry", "q")],
)
def test_finding_13_free_text_declares_no_control_characters(client, doc, path, name):
    """The parsers refuse control characters (finding 9); the schema says so."""
    import re

    pattern = _parameter(doc, path, name)["schema"]["pattern"]
    assert re.search(pattern, "山田 tarō")
    assert not re.search(pattern, "ab\x00cd") and not re.search(pattern, "a\x85")
    response = client.get(path, {name: "ab\x00cd"})
    assert response.status_code == 422
    assert_declared(doc, path, "get", response)
