"""Permission rows: the registration application /register/ (public, no
account) and the operators' review /ops/applications/ (issue 16, part 4).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ALL_405, OPERATOR_ONLY, PUBLIC, Route

ROWS: tuple[Route, ...] = (
    Route("intake:apply", "GET", "/register/", PUBLIC),
    # An empty POST re-renders the form with its errors (the matrix's "ok").
    Route("intake:apply", "POST", "/register/", PUBLIC),
    # Without a submission in the session it redirects to the form.
    Route("intake:done", "GET", "/register/done/", PUBLIC),
    Route("intake:done", "POST", "/register/done/", ALL_405),
    Route("ops_applications:list", "GET", "/ops/applications/", OPERATOR_ONLY),
    Route(
        "ops_applications:list",
        "POST",
        "/ops/applications/",
        {**OPERATOR_ONLY, "operator": 405},
    ),
    Route("ops_applications:detail", "GET", "/ops/applications/{application_id}/", OPERATOR_ONLY),
    # An empty POST re-renders the decision form with its error.
    Route("ops_applications:detail", "POST", "/ops/applications/{application_id}/", OPERATOR_ONLY),
    Route(
        "ops_applications:detail",
        "GET",
        "/ops/applications/999999/",
        {**OPERATOR_ONLY, "operator": 404},
    ),
)


def extend_world(world: dict[str, Any]) -> None:
    """One submitted application for the detail rows."""
    from tests.intake_support import make_application

    world["application_id"] = make_application(900).pk
