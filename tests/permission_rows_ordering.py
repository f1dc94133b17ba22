"""Permission rows: the public "how results are ordered" page (issue 6).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ALL_405, PUBLIC, Route

ROWS: tuple[Route, ...] = (
    Route("search:ordering", "GET", "/specialists/about/ordering/", PUBLIC),
    Route("search:ordering", "POST", "/specialists/about/ordering/", ALL_405),
)


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; nothing to add for a static page."""
