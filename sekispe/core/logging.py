"""Log lines that say which request they belong to, and never carry secrets.

RequestIdMiddleware (sekispe.core.middleware) binds the current request here;
RequestContextFilter, on the console handler, adds `request_id`, `user_id` and
`role` to every record logged while it is bound, whatever logger wrote it.

What must never reach a log line: passwords, tokens, e-mail bodies and
addresses. The project logs no request bodies or query strings; the filter
masks tokens carried in URL paths (invitation, reset and share links) in the
records Django writes, and the JSON formatter drops the request object Django
attaches to them (its repr holds the query string).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Settings import this module: nothing here may need configured settings.
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from sekispe.lib.env import ConfigError

if TYPE_CHECKING:
    from django.http import HttpRequest

# URL keyword arguments whose values are secrets (see the accounts, events and
# diagnosis URLconfs). Anyone holding the path holds the link.
SECRET_URL_KWARGS = frozenset({"token", "uidb64"})


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    request: HttpRequest


_current: ContextVar[RequestContext | None] = ContextVar("sekispe_request", default=None)


def bind_request(request: HttpRequest, request_id: str) -> object:
    """Bind for the rest of this request; pass the result to `unbind_request`."""
    return _current.set(RequestContext(request_id, request))


def unbind_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx else None


def loggable_path(request: HttpRequest) -> str:
    """The path, without the query string and with secret URL arguments masked."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name, value in match.kwargs.items():
            if name in SECRET_URL_KWARGS and value:
                path = path.replace(f"/{value}/", f"/<{name}>/")
    return path


def _user_if_known(request: HttpRequest) -> Any:
    """The user, only if the request has already looked it up: a log call must
    not query the session itself (it would cost a query on every request, and
    fail while the database is down, just when the error is being logged)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        wrapped = user._wrapped
        return None if wrapped is empty else wrapped
    return user


class RequestContextFilter(logging.Filter):
    """Adds request_id, user_id and role (None outside a request or before the
    user is known; role "anonymous" for a visitor who is not signed in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _current.get()
        request_id = user_id = role = None
        if ctx is not None:
            request_id = ctx.request_id
            user = _user_if_known(ctx.request)
            if user is not None:
                if user.is_authenticated:
                    user_id, role = user.pk, getattr(user, "role", None)
                else:
                    role = "anonymous"
            self._mask_path(record, ctx.request)
        record.request_id = request_id
        record.user_id = user_id
        record.role = role
        return True

    @staticmethod
    def _mask_path(record: logging.LogRecord, request: HttpRequest) -> None:
        # Django writes the raw path as an argument ("Not Found: %s",
        # "Forbidden (CSRF token missing.): %s"); a share link's 404 would log its token.
        if isinstance(record.args, tuple) and request.path in record.args:
            safe = loggable_path(request)
            record.args = tuple(safe if arg == request.path else arg for arg in record.args)


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, the request
    fields and any `extra` a caller passed, except Django's request objects."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("json_ensure_ascii", False)
        # django.request and django.server attach the request itself: its repr
        # holds the full URL with the query string, and nothing useful besides.
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(**kwargs)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user_id)s %(role)s] %(message)s"


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for `log_format` "json" (production) or "text" (reading by eye).

    No handler e-mails ADMINS: mail is never sent inside a request in this
    project (the worker sends it), so Django's default mail_admins handler on
    the "django" logger is replaced; errors surface in these logs and in the
    readiness endpoint. Django's own records (the 500 tracebacks of
    django.request included) propagate to the root handler like any other.
    """
    if log_format not in {"json", "text"}:
        raise ConfigError(f"LOG_FORMAT={log_format!r} must be json or text")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "sekispe.core.logging.RequestContextFilter"}},
        "formatters": {
            "json": {"()": "sekispe.core.logging.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Replaces Django's defaults (console when DEBUG, mail_admins otherwise).
            "django": {"handlers": [], "level": level, "propagate": True},
            # runserver's own line per request repeats sekispe.request's; keep its errors.
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
