"""Logging: JSON lines with the request id, user id and role; never a secret."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

import sekispe.urls
from sekispe.core.logging import JsonFormatter, RequestContextFilter, logging_config
from sekispe.lib.env import ConfigError
from tests.factories import PASSWORD

pytestmark = pytest.mark.urls("tests.test_logging")


def _view_that_logs(request: HttpRequest) -> HttpResponse:
    request.user.is_authenticated  # noqa: B018 — looks the user up, as most views do
    logging.getLogger("sekispe.tests").info("inside the view")
    return HttpResponse("ok")


def _view_that_fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [
    path("__tests__/logs/", _view_that_logs),
    path("__tests__/fails/", _view_that_fails),
    *sekispe.urls.urlpatterns,
]


@pytest.fixture
def log_lines():
    """Everything logged anywhere, through the production handler's filter and
    JSON formatter; call it for the lines parsed as JSON (each must parse)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _access(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "sekispe.request"]


def test_request_id_is_generated_and_returned(client):
    response = client.get("/__tests__/logs/")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/__tests__/logs/")["X-Request-ID"] != response["X-Request-ID"]


def test_a_safe_incoming_request_id_is_kept(client):
    response = client.get("/__tests__/logs/", HTTP_X_REQUEST_ID="lb-7f3a.2_Z")
    assert response["X-Request-ID"] == "lb-7f3a.2_Z"


@pytest.mark.parametrize("incoming", ["", "a" * 65, "two words", "x\ny", '{"json": 1}', "ＩＤ"])
def test_a_malformed_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/__tests__/logs/", HTTP_X_REQUEST_ID=incoming)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
def test_a_view_log_line_carries_request_id_user_id_and_role(client, specialist, log_lines):
    client.force_login(specialist)
    client.get("/__tests__/logs/?page=2", HTTP_X_REQUEST_ID="req-1")
    lines = log_lines()
    (line,) = [line for line in lines if line["logger"] == "sekispe.tests"]
    assert line["message"] == "inside the view"
    assert line["level"] == "INFO"
    assert "timestamp" in line
    assert (line["request_id"], line["user_id"], line["role"]) == (
        "req-1",
        specialist.pk,
        "specialist",
    )
    (access,) = _access(lines)
    assert access["method"] == "GET"
    assert access["path"] == "/__tests__/logs/"  # never the query string
    assert access["status"] == 200
    assert isinstance(access["duration_ms"], float)
    assert (access["request_id"], access["user_id"], access["role"]) == (
        "req-1",
        specialist.pk,
        "specialist",
    )
    assert "page=2" not in json.dumps(lines)


@pytest.mark.django_db
def test_an_anonymous_visitor_is_logged_as_such(client, log_lines):
    client.get("/__tests__/logs/")
    (line,) = [line for line in log_lines() if line["logger"] == "sekispe.tests"]
    assert (line["user_id"], line["role"]) == (None, "anonymous")


def test_lines_outside_a_request_have_no_request_fields(log_lines):
    logging.getLogger("sekispe.tests").warning("from the worker", extra={"mail_id": 7})
    (line,) = log_lines()
    assert (line["request_id"], line["user_id"], line["role"]) == (None, None, None)
    assert line["mail_id"] == 7


@pytest.mark.django_db
def test_a_login_never_logs_the_password_or_the_address(specialist, log_lines, caplog):
    client = Client()
    secret_password = "Very-Secret-Pw-8472"
    for password in (secret_password, PASSWORD):  # a failed sign-in, then a successful one
        response = client.post(
            "/accounts/login/?next=/me/&token=tok-in-query-123",
            {"email": specialist.email, "password": password},
        )
        assert response.status_code in {400, 302}
    assert response.status_code == 302  # signed in: the test did reach the real thing
    output = json.dumps(log_lines(), ensure_ascii=False)
    output += "\n".join(r.getMessage() for r in caplog.records)
    assert _access(log_lines())
    for secret in (secret_password, PASSWORD, specialist.email, "tok-in-query-123"):
        assert secret not in output


@pytest.mark.django_db
def test_tokens_in_url_paths_are_masked(client, log_lines):
    response = client.get("/diagnosis/r/share-token-5531/")
    assert response.status_code == 404
    lines = log_lines()
    assert "share-token-5531" not in json.dumps(lines)
    (access,) = _access(lines)
    assert access["path"] == "/diagnosis/r/<token>/"
    # Django's own "Not Found" warning names the path too, masked the same way.
    assert any(line["message"] == "Not Found: /diagnosis/r/<token>/" for line in lines)


def test_a_server_error_is_logged_as_json_with_its_traceback(log_lines):
    client = Client(raise_request_exception=False)
    response = client.get("/__tests__/fails/?session=query-secret", HTTP_X_REQUEST_ID="err-1")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "err-1"
    lines = log_lines()
    (error,) = [line for line in lines if line["logger"] == "django.request"]
    assert error["level"] == "ERROR"
    assert error["request_id"] == "err-1"
    assert error["status_code"] == 500
    assert "RuntimeError: boom" in error["exc_info"]
    assert "request" not in error  # Django's request object: its repr has the query string
    assert _access(lines)[0]["status"] == 500
    assert "query-secret" not in json.dumps(lines)


def test_log_format_is_json_or_text():
    assert logging_config("json", "INFO")["handlers"]["console"]["formatter"] == "json"
    assert logging_config("text", "INFO")["handlers"]["console"]["formatter"] == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        logging_config("yaml", "INFO")


def test_no_log_handler_mails_admins(settings):
    config = logging_config("json", "INFO")
    handlers = json.dumps(config["handlers"])
    assert "AdminEmailHandler" not in handlers
    # Django's default "django" logger (console and mail_admins) is replaced.
    assert config["loggers"]["django"]["handlers"] == []
    assert "AdminEmailHandler" not in json.dumps(settings.LOGGING)
