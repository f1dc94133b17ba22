"""A page that comes back with errors says so in its title (GOV.UK and the
Digital Agency design system: 「エラー：」 before the page title), so a screen
reader announces it first and a tab or history entry shows it. Done once here
rather than in every form view: a 4xx HTML page whose body carries an error
summary gets the prefix."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

_TITLE = re.compile(rb"<title>")
_SUMMARY = b'class="error-summary"'


class ErrorTitleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            400 <= response.status_code < 500
            and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
            and _SUMMARY in response.content
        ):
            prefix = ("<title>" + _("エラー：")).encode()
            response.content = _TITLE.sub(prefix, response.content, count=1)
        return response
