"""Permission rows: ordering (issue 6).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import Route

ROWS: tuple[Route, ...] = ()


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
