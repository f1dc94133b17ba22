from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response

from sekispe.core.logging import bind_request, loggable_path, unbind_request

# Scripts and styles are served from our own origin only (htmx is vendored).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _style_attribute_hash(declarations: str) -> str:
    digest = base64.b64encode(hashlib.sha256(declarations.encode()).digest()).decode()
    return f"'sha256-{digest}'"


# The admin runs under the same policy: Django 5.2's admin ships no inline
# script (its templates load files and pass data in data- attributes) and no
# inline <style> the admins here render (change_list's one is for ModelAdmins
# with both action bars off; none has). The one exception, checked in headless
# Chromium by tests/test_security_service.py: django-simple-history's history
# page has `style="border-top: 0"` on its paginator. Allowed by its hash, as a
# style *attribute* only, on /admin/ only; a new inline bit shows up in that
# test as a CSP violation, and its hash goes here.
ADMIN_STYLE_ATTRIBUTES = ("border-top: 0",)
ADMIN_CONTENT_SECURITY_POLICY = "; ".join(
    [
        CONTENT_SECURITY_POLICY,
        "style-src-attr 'unsafe-hashes' "
        + " ".join(_style_attribute_hash(d) for d in ADMIN_STYLE_ATTRIBUTES),
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = (
            ADMIN_CONTENT_SECURITY_POLICY
            if request.path.startswith("/admin/")
            else CONTENT_SECURITY_POLICY
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


# Accepted from a proxy or client as is: short, and nothing that could forge
# a log line or a header.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger("sekispe.request")


class RequestIdMiddleware:
    """First in MIDDLEWARE: every log line of the request carries its id
    (see sekispe.core.logging), the response returns it as X-Request-ID, and
    one access line per request goes to the `sekispe.request` logger."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        binding = bind_request(request, request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            path = loggable_path(request)
            # Never the query string, headers or body: they may hold tokens,
            # passwords and addresses.
            access_log.info(
                "%s %s %s %sms",
                request.method,
                path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
            if response.status_code >= 400:
                # Django logs 4xx responses ("Not Found: <path>") only after the
                # last middleware has returned, without the request id and with
                # the raw path; logged here, Django's own call skips it.
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    path,
                    response=response,
                    request=request,
                )
            return response
        finally:
            unbind_request(binding)
