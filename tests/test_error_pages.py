"""Error pages: 400, 403, 404 and 500 in the site's layout, in Japanese and English,
with DEBUG=False; the 500 page renders with no request and no database."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.template import loader
from django.test import Client
from django.urls import path
from django.utils import translation

import sekispe.urls
from tests.factories import text


def _raises(exc: Exception):
    def view(request: HttpRequest) -> HttpResponse:
        raise exc

    return view


def _database_down(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:  # patched to fail in the test
        cursor.execute("SELECT 1")
    return HttpResponse("unreachable")


urlpatterns = [
    path("__tests__/400/", _raises(SuspiciousOperation("bad"))),
    path("__tests__/403/", _raises(PermissionDenied)),
    path("__tests__/404/", _raises(Http404)),
    path("__tests__/500/", _raises(RuntimeError("boom"))),
    path("__tests__/db-down/", _database_down),
    *sekispe.urls.urlpatterns,
]

pytestmark = [pytest.mark.urls("tests.test_error_pages")]

SEARCH = '<a href="/specialists/">'
TOP = '<a href="/">'
REGISTRY = '<a href="/registry/">'
LOGIN = '<a href="/accounts/login/">'
LAYOUT = ('<header class="site-header">', '<footer class="site-footer">', "sekispe.css")

# status: (Japanese heading, English heading, links every version has)
PAGES = {
    400: ("ページを表示できませんでした", "This page could not be shown", (SEARCH, TOP)),
    403: (
        "このページを見る権限がありません",
        "You do not have permission to view this page",
        (LOGIN, SEARCH, TOP),
    ),
    404: ("ページが見つかりません", "Page not found", (SEARCH, REGISTRY, TOP)),
    500: ("システムで問題が起きました", "Something went wrong on our side", (SEARCH, TOP)),
}


@pytest.fixture(autouse=True)
def _production_like(settings):
    settings.DEBUG = False


def _get(url: str, language: str) -> tuple[int, str]:
    client = Client(raise_request_exception=False)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    return response.status_code, text(response)


@pytest.mark.django_db
@pytest.mark.parametrize("status", sorted(PAGES))
@pytest.mark.parametrize("language", ["ja", "en"])
def test_error_page_in_the_site_layout_with_a_way_back(status, language):
    japanese, english, links = PAGES[status]
    code, body = _get(f"/__tests__/{status}/", language)
    assert code == status
    assert f'<html lang="{language}">' in body
    for part in LAYOUT:
        assert part in body
    heading = japanese if language == "ja" else english
    assert f"<h1>{heading}</h1>" in body
    assert f"<title>{heading} | " in body
    for link in links:
        assert link in body
    if language == "en":
        assert japanese not in body
        assert "登録セキスペ アクティブリスト" not in body  # the layout's own strings too


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_real_unknown_address_and_a_real_forbidden_page(client_for, sme, language):
    code, body = _get("/no-such-page/", language)
    assert (code, f'<html lang="{language}">' in body) == (404, True)
    assert PAGES[404][0 if language == "ja" else 1] in body
    # role_required raises PermissionDenied, so Django's handler shows 403.html.
    response = client_for(sme).get("/ops/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403
    assert PAGES[403][0 if language == "ja" else 1] in text(response)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_csrf_failure_explains_itself(language):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/",
        {"email": "a@example.jp", "password": "x"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 403
    body = text(response)
    assert f'<html lang="{language}">' in body
    heading = (
        "送信を受け付けられませんでした" if language == "ja" else "Your form could not be accepted"
    )
    assert f"<h1>{heading}</h1>" in body
    assert SEARCH in body and TOP in body
    # No language form: it would fail the same check, having no token to send.
    assert "language-switcher" not in body


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_500_page_works_with_the_database_down(language):
    """No `db` mark: pytest-django refuses any query, so rendering must need none."""
    broken = OperationalError("could not connect to server")
    with (
        mock.patch.object(connection, "cursor", side_effect=broken),
        mock.patch.object(connection, "ensure_connection", side_effect=broken),
    ):
        code, body = _get("/__tests__/db-down/", language)
    assert code == 500
    assert f"<h1>{PAGES[500][0 if language == 'ja' else 1]}</h1>" in body
    assert SEARCH in body and TOP in body
    # No account menu and no language form: both need the session or a CSRF token.
    assert "account-nav" not in body and "language-switcher" not in body


def test_the_500_template_renders_with_an_empty_context():
    # As django.views.defaults.server_error renders it: no request, no context.
    with translation.override("en"):
        body = loader.get_template("500.html").render()
    assert '<html lang="en">' in body
    assert PAGES[500][1] in body


@pytest.mark.parametrize("template", ["500.html", "400.html", "403_csrf.html"])
def test_the_pages_rendered_without_a_request_keep_the_phase_banner(template, settings):
    # Same banner as every other page: these render with no context processor.
    settings.SEKISPE_SERVICE_PHASE = "beta"
    with translation.override("ja"):
        body = loader.get_template(template).render()
    assert '<strong class="phase-tag">β版</strong>' in body
    settings.SEKISPE_SERVICE_PHASE = ""
    with translation.override("ja"):
        assert "phase-banner" not in loader.get_template(template).render()
