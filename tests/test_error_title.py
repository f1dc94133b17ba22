"""A form that comes back with errors (issue 15, point 9): the title starts
with 「エラー：」 and the error summary takes the focus, without JavaScript."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def _title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1)


def test_a_form_with_errors_says_so_in_the_title_and_takes_the_focus(client_for, specialist):
    client = client_for(specialist)
    fine = client.get("/me/deemed/new/?item=1-2")
    assert fine.status_code == 200 and not _title(fine).startswith("エラー：")
    response = client.post("/me/deemed/new/?item=1-2", {})
    assert response.status_code == 400
    assert _title(response).startswith("エラー：")
    assert 'class="error-summary"' in response.content.decode()
    assert re.search(r'<div class="error-summary"[^>]*\bautofocus\b', response.content.decode())
    english = client.post("/me/deemed/new/?item=1-2", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert _title(english).startswith("Error: ")


def test_a_page_without_an_error_summary_keeps_its_title(client):
    response = client.get("/specialists/does-not-exist/")
    assert response.status_code == 404
    assert not _title(response).startswith("エラー：")
