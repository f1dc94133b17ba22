"""Permission rows: the operators' deemed-attendance pages (/ops/deemed/) and
the deemed-attendance report (/ops/reports/deemed-attendance/).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world` (it runs inside
the test database, after the personas and the core objects exist).

Every page is operator-only; the role check comes before the method and the
object, so everybody else gets the same answer for an unknown id. An empty
POST of a decision that needs text comes back with the form's error (400);
approving needs none, so the empty POST approves (the test's transaction
undoes it).
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import OPERATOR_ONLY, Route

OPERATOR_404 = {**OPERATOR_ONLY, "operator": 404}
OPERATOR_405 = {**OPERATOR_ONLY, "operator": 405}

APPLICATION = "/ops/deemed/{deemed_ops_application_id}/"
CASE = "/ops/deemed/cases/{deemed_ops_case_id}/"

_DECISIONS = (
    ("deemed_ops:approve", "approve/"),
    ("deemed_ops:reject", "reject/"),
    ("deemed_ops:request_info", "request-information/"),
    ("deemed_ops:audit_outcome", "audit-outcome/"),
)
_CASE_ACTIONS = (
    ("deemed_ops:revoke", "revoke/"),
    ("deemed_ops:close", "close/"),
)

ROWS: tuple[Route, ...] = (
    # The queue: a GET form; unknown filter values are a 400 with the form's error.
    Route("deemed_ops:queue", "GET", "/ops/deemed/", OPERATOR_ONLY),
    Route("deemed_ops:queue", "GET", "/ops/deemed/?status=all&flag=similar", OPERATOR_ONLY),
    Route("deemed_ops:queue", "GET", "/ops/deemed/?status=bogus&item=9-9", OPERATOR_ONLY),
    Route("deemed_ops:queue", "POST", "/ops/deemed/", OPERATOR_405),
    # One application and its decisions (each its own POST).
    Route("deemed_ops:detail", "GET", APPLICATION, OPERATOR_ONLY),
    Route("deemed_ops:detail", "GET", "/ops/deemed/999999/", OPERATOR_404),
    Route("deemed_ops:detail", "POST", APPLICATION, OPERATOR_405),
    *(Route(name, "POST", APPLICATION + tail, OPERATOR_ONLY) for name, tail in _DECISIONS),
    *(Route(name, "GET", APPLICATION + tail, OPERATOR_405) for name, tail in _DECISIONS),
    *(Route(name, "POST", "/ops/deemed/999999/" + tail, OPERATOR_404) for name, tail in _DECISIONS),
    # Revocation cases.
    Route("deemed_ops:cases", "GET", "/ops/deemed/cases/", OPERATOR_ONLY),
    Route("deemed_ops:cases", "POST", "/ops/deemed/cases/", OPERATOR_405),
    Route("deemed_ops:case", "GET", CASE, OPERATOR_ONLY),
    Route("deemed_ops:case", "GET", "/ops/deemed/cases/999999/", OPERATOR_404),
    Route("deemed_ops:case", "POST", CASE, OPERATOR_405),
    *(Route(name, "POST", CASE + tail, OPERATOR_ONLY) for name, tail in _CASE_ACTIONS),
    *(Route(name, "GET", CASE + tail, OPERATOR_405) for name, tail in _CASE_ACTIONS),
    *(
        Route(name, "POST", "/ops/deemed/cases/999999/" + tail, OPERATOR_404)
        for name, tail in _CASE_ACTIONS
    ),
    # Audit draws: the list is GET-only; a draw is a POST (empty: the form's error, 400).
    Route("deemed_ops:audits", "GET", "/ops/deemed/audits/", OPERATOR_ONLY),
    Route("deemed_ops:audits", "POST", "/ops/deemed/audits/", OPERATOR_405),
    Route("deemed_ops:draw", "POST", "/ops/deemed/audits/draw/", OPERATOR_ONLY),
    Route("deemed_ops:draw", "GET", "/ops/deemed/audits/draw/", OPERATOR_405),
    # The report, its downloads, and no POST.
    Route("reports:deemed", "GET", "/ops/reports/deemed-attendance/", OPERATOR_ONLY),
    Route("reports:deemed", "GET", "/ops/reports/deemed-attendance/?format=csv", OPERATOR_ONLY),
    Route("reports:deemed", "GET", "/ops/reports/deemed-attendance/?format=xlsx", OPERATOR_ONLY),
    Route("reports:deemed", "POST", "/ops/reports/deemed-attendance/", OPERATOR_405),
)


def extend_world(world: dict[str, Any]) -> None:
    """A submitted application and a revocation case, of registrants of their
    own whose period holds today whenever the matrix runs."""
    import datetime as dt

    from django.utils import timezone

    from tests.deemed_support import make_application
    from tests.factories import make_specialist_user

    expires_on = timezone.localdate() + dt.timedelta(days=400)
    pending = make_specialist_user("100095", name="岡田 修", expires_on=expires_on)
    found_false = make_specialist_user("100096", name="村上 咲", expires_on=expires_on)
    operator = world["users"]["operator"]
    world["deemed_ops_application_id"] = make_application(pending, operator=operator).pk
    revoked = make_application(found_false, status="revoked", operator=operator)
    world["deemed_ops_case_id"] = revoked.revocation_case.pk
