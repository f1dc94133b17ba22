"""Permission rows: The public search service (/registry/) and its API.

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world` (it runs inside
the test database, after the personas and the core objects exist).
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ALL_405, NOBODY_404, PUBLIC, Route

# Public and read-only: anyone may search; nothing is written.
ROWS: tuple[Route, ...] = (
    Route("registry:search", "GET", "/registry/", PUBLIC),
    Route("registry:search", "GET", "/registry/?q={published}", PUBLIC),
    Route("registry:search", "POST", "/registry/", ALL_405),
    Route("registry:record", "GET", "/registry/{published}/", PUBLIC),
    Route("registry:record", "GET", "/registry/{deregistered}/", NOBODY_404),
    Route("registry:record", "POST", "/registry/{published}/", ALL_405),
    Route("api-v1:search_registry", "GET", "/api/v1/registry?q={published}", PUBLIC),
    Route("api-v1:search_registry", "POST", "/api/v1/registry", ALL_405),
    Route("api-v1:registry_record", "GET", "/api/v1/registry/{published}", PUBLIC),
    Route("api-v1:registry_record", "GET", "/api/v1/registry/{deregistered}", NOBODY_404),
)


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
    from tests.factories import create_specialists, make_input

    create_specialists(make_input(registration_number="100099", status="deregistered"))
    world["deregistered"] = "100099"
