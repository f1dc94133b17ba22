"""Permission rows: running sekispe as a service (issue 12): the outbox pages,
readiness, and anything else operators use to watch the service.

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import Route

ROWS: tuple[Route, ...] = ()


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; rows above add what they need."""
