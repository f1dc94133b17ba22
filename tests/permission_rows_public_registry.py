"""Permission rows: The public search service (/registry/) and its API.

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world` (it runs inside
the test database, after the personas and the core objects exist).
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import Route

ROWS: tuple[Route, ...] = ()


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
