"""Whatever a client puts in the query string, the answer is a result or a clear
refusal naming the parameter, never a server error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import create_specialists, make_input

NAMES = ["prefecture", "region", "theme", "industry", "form", "max_fee", "first_free", "period",
         "affiliation", "qualification", "q", "include_not_accepting", "page", "page_size", "other"]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(
        [
            "13",
            "27",
            "kinki",
            "1",
            "5",
            "E",
            "visit",
            "spot",
            "sole",
            "itc",
            "true",
            "0",
            "-1",
            "100",
            "101",
            "",
            " ",
            "１３",
            "ランサム",
            "9" * 30,
            "1e3",
            "null",
        ]
    ),
    st.text(max_size=12),
)
PARAMS = st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=6)


@pytest.fixture
def listed(db):
    create_specialists(make_input(registration_number="000001", prefectures=("13",)))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=PARAMS)
def test_api_answers_200_or_422_naming_the_parameter(client, listed, params):
    response = client.get("/api/v1/specialists", [(k, v.replace("\x00", "")) for k, v in params])
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        (error,) = response.json()["detail"]
        assert error["loc"][0] == "query" and error["loc"][1] in NAMES
        assert error["msg"]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=PARAMS)
def test_search_page_answers_200_or_400(client, listed, params):
    response = client.get("/specialists/", [(k, v.replace("\x00", "")) for k, v in params])
    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "params",
    [{"max_fee": "9" * 30}, {"page": "9" * 30}, {"page_size": "9" * 30}, {"theme": "9" * 30}],
)
def test_huge_numbers_are_refused_or_answered_not_crashed(client, listed, params):
    assert client.get("/api/v1/specialists", params).status_code in (200, 422)
    assert client.get("/specialists/", params).status_code in (200, 400)
