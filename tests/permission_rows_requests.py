"""Permission rows: The specialist's registry page and requests (/me/registry/), and the operators' review (/ops/requests/).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world` (it runs inside
the test database, after the personas and the core objects exist).
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import OPERATOR_ONLY, SPECIALIST_ONLY, Route

# The specialist's own pages, where the specialist's role is right but the
# method or the object is not: the role check comes first.
SPECIALIST_405 = {**SPECIALIST_ONLY, "specialist": 405, "other_specialist": 405}
SPECIALIST_404 = {**SPECIALIST_ONLY, "specialist": 404, "other_specialist": 404}
# A request id of `specialist`: another specialist learns nothing about it.
OWN_REQUEST = {**SPECIALIST_ONLY, "other_specialist": 404}
OPERATOR_404 = {**OPERATOR_ONLY, "operator": 404}
OPERATOR_405 = {**OPERATOR_ONLY, "operator": 405}

FILED_BY_SPECIALIST = (
    "details-change",
    "card-reissue",
    "contact-change",
    "publication",
    "deregistration",
    "badge-loan",
    "logo-use",
)

ROWS: tuple[Route, ...] = (
    Route("registrant:home", "GET", "/me/registry/", SPECIALIST_ONLY),
    Route("registrant:home", "POST", "/me/registry/", SPECIALIST_405),
    # An empty POST re-renders the page with why the renewal cannot be applied for (400).
    Route("registrant:renewal", "POST", "/me/registry/renewal/", SPECIALIST_ONLY),
    Route("registrant:renewal", "GET", "/me/registry/renewal/", SPECIALIST_405),
    *(
        Route(
            "registrant:new_request", "GET", f"/me/registry/requests/new/{slug}/", SPECIALIST_ONLY
        )
        for slug in FILED_BY_SPECIALIST
    ),
    *(
        Route(
            "registrant:new_request", "POST", f"/me/registry/requests/new/{slug}/", SPECIALIST_ONLY
        )
        for slug in FILED_BY_SPECIALIST
    ),
    # Filed by operators, or through its own button, or unknown: no form here.
    Route("registrant:new_request", "GET", "/me/registry/requests/new/death/", SPECIALIST_404),
    Route("registrant:new_request", "POST", "/me/registry/requests/new/death/", SPECIALIST_404),
    Route("registrant:new_request", "GET", "/me/registry/requests/new/renewal/", SPECIALIST_404),
    Route("registrant:new_request", "GET", "/me/registry/requests/new/bogus/", SPECIALIST_404),
    Route("registrant:request", "GET", "/me/registry/requests/{request_id}/", OWN_REQUEST),
    Route("registrant:request", "GET", "/me/registry/requests/999999/", SPECIALIST_404),
    Route("registrant:request", "POST", "/me/registry/requests/{request_id}/", SPECIALIST_405),
    # Operators' review.
    Route("ops_requests:list", "GET", "/ops/requests/", OPERATOR_ONLY),
    Route("ops_requests:list", "GET", "/ops/requests/?kind=bogus&fiscal_year=x", OPERATOR_ONLY),
    Route("ops_requests:list", "POST", "/ops/requests/", OPERATOR_405),
    Route("ops_requests:detail", "GET", "/ops/requests/{request_id}/", OPERATOR_ONLY),
    # An empty POST has no decision: the page comes back with the error (400).
    Route("ops_requests:detail", "POST", "/ops/requests/{request_id}/", OPERATOR_ONLY),
    Route("ops_requests:detail", "GET", "/ops/requests/999999/", OPERATOR_404),
    Route("ops_requests:death", "GET", "/ops/requests/death/{death_record_id}/", OPERATOR_ONLY),
    Route("ops_requests:death", "POST", "/ops/requests/death/{death_record_id}/", OPERATOR_ONLY),
    Route("ops_requests:death", "GET", "/ops/requests/death/999999/", OPERATOR_404),
)


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
    from sekispe.registrant_requests.models import RequestKind
    from sekispe.registrant_requests.services import submit_request

    specialist = world["users"]["specialist"]
    request = submit_request(
        specialist.record,
        RequestKind.BADGE_LOAN,
        {"note": "講演会で使用します。"},
        actor=specialist,
    )
    world["request_id"] = request.pk
    world["death_record_id"] = world["users"]["other_specialist"].record.pk
