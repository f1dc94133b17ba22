"""Permission rows: the start page, the legal and help pages (public) and the
operators' notice pages (/ops/notices/, issue 15 point 3).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ALL_405, OPERATOR_ONLY, PUBLIC, Route

_PUBLIC_PAGES = (
    ("pages:home", "/"),
    ("pages:privacy", "/privacy/"),
    ("pages:terms", "/terms/"),
    ("pages:accessibility", "/accessibility/"),
    ("pages:contact", "/contact/"),
)

ROWS: tuple[Route, ...] = (
    *(Route(name, "GET", path, PUBLIC) for name, path in _PUBLIC_PAGES),
    # Read-only pages: nothing to post.
    *(Route(name, "POST", path, ALL_405) for name, path in _PUBLIC_PAGES),
    Route("pages_ops:notices", "GET", "/ops/notices/", OPERATOR_ONLY),
    # The list is read-only: an operator's POST is 405, everybody else is
    # refused before the method matters.
    Route("pages_ops:notices", "POST", "/ops/notices/", {**OPERATOR_ONLY, "operator": 405}),
    Route("pages_ops:notice_new", "GET", "/ops/notices/new/", OPERATOR_ONLY),
    # An empty POST re-renders the form with its errors (the matrix's "ok").
    Route("pages_ops:notice_new", "POST", "/ops/notices/new/", OPERATOR_ONLY),
    Route("pages_ops:notice_edit", "GET", "/ops/notices/{notice_id}/", OPERATOR_ONLY),
    Route("pages_ops:notice_edit", "POST", "/ops/notices/{notice_id}/", OPERATOR_ONLY),
    Route(
        "pages_ops:notice_edit",
        "GET",
        "/ops/notices/999999/",
        {**OPERATOR_ONLY, "operator": 404},
    ),
)


def extend_world(world: dict[str, Any]) -> None:
    """One notice for the edit rows."""
    from django.utils import timezone

    from sekispe.pages.services import create_notice

    notice = create_notice(
        {"title": "お知らせ", "body": "本文", "published_at": timezone.now(), "until": None},
        actor=world["users"]["operator"],
    )
    world["notice_id"] = notice.pk
