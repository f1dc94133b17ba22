"""The public "how results are ordered" page and its link from the results."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sekispe.search import exposure, ranking
from tests.factories import create_specialists, make_input, text

pytestmark = pytest.mark.django_db


def test_the_page_explains_the_policy_with_the_numbers_the_code_uses(client):
    response = client.get("/specialists/about/ordering/")
    assert response.status_code == 200
    page = text(response)
    assert "検索結果の並び順について" in page
    for heading in ("選んだ条件に合う専門家だけ", "条件により合う専門家を先に", "表示される機会を公平に",
                    "ページを移動しても並び順は変わりません"):  # fmt: skip
        assert heading in page
    assert f"{ranking.FRESH_DAYS}日以内" in page
    assert f"約{exposure.BUCKET_SECONDS // 60}分間" in page
    assert f"点数{ranking.POINTS_PER_TIER}点ごと" in page
    assert "1番目：1.00" in page and "2番目：0.63" in page
    assert "広告" in page  # no paid placement


def test_the_path_is_not_taken_for_a_registration_number(client):
    assert reverse("search:ordering") == "/specialists/about/ordering/"
    assert client.get("/specialists/about/").status_code == 404  # a "number" nobody has


def test_the_results_link_to_it(client):
    create_specialists(make_input(registration_number="000001"))
    page = text(client.get("/specialists/"))
    assert 'href="/specialists/about/ordering/"' in page
