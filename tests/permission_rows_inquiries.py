"""Permission rows: inquiries (issue 6).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import NOBODY_404, Route

# Interim, while the pages are built: every route answers 404 to everyone.
ROWS: tuple[Route, ...] = (
    Route("inquiries:dashboard", "GET", "/inquiries/", NOBODY_404),
    Route("inquiries:new", "GET", "/inquiries/new/100001/", NOBODY_404),
    Route("inquiries:detail", "GET", "/inquiries/1/", NOBODY_404),
    Route("inquiries:act", "POST", "/inquiries/1/accept/", NOBODY_404),
)


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
