"""Permission rows: Statutory and operational reports (/ops/reports/).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world` (it runs inside
the test database, after the personas and the core objects exist).

Every report page is GET-only, exports included (`?format=csv|xlsx`): an
operator's POST is 405, everybody else is refused before the method matters.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import OPERATOR_ONLY, Route

GET_ONLY = {**OPERATOR_ONLY, "operator": 405}

_PAGES = (
    ("reports:index", "/ops/reports/"),
    ("reports:registration", "/ops/reports/registration/"),
    ("reports:courses", "/ops/reports/courses/"),
    ("reports:missing", "/ops/reports/missing-courses/"),
    ("reports:deregistrations", "/ops/reports/deregistrations/"),
    ("reports:requests", "/ops/reports/requests/"),
)

ROWS: tuple[Route, ...] = (
    *(Route(name, "GET", path, OPERATOR_ONLY) for name, path in _PAGES),
    *(Route(name, "POST", path, GET_ONLY) for name, path in _PAGES),
    # The downloads are the same views: the same people, the same refusal of POST.
    Route("reports:missing", "GET", "/ops/reports/missing-courses/?format=csv", OPERATOR_ONLY),
    Route("reports:registration", "GET", "/ops/reports/registration/?format=xlsx", OPERATOR_ONLY),
)


def extend_world(world: dict[str, Any]) -> None:
    """The report pages take no ids."""
