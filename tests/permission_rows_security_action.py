"""Permission rows: SECURITY ACTION declarations (/diagnosis/security-action/).

Rows use the constants of tests/permission_common.py.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ROLES, Route

SME_ONLY = {**dict.fromkeys(ROLES, 403), "anonymous": "login", "sme": "ok"}

ROWS: tuple[Route, ...] = (
    Route("diagnosis:security_action", "GET", "/diagnosis/security-action/", SME_ONLY),
    Route(
        "diagnosis:security_action",
        "GET",
        "/diagnosis/security-action/?level=2",
        SME_ONLY,
    ),
    # An empty form comes back with its errors (400 counts as "ok").
    Route("diagnosis:security_action", "POST", "/diagnosis/security-action/", SME_ONLY),
)


def extend_world(world: dict[str, Any]) -> None:
    """Nothing to add: the page is the signed-in account's own."""
