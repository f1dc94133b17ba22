"""Permission rows: inquiries (/inquiries/, issue 6).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.

Decisions:
- Sending is for SME and institution accounts; the dashboard and an inquiry's
  pages are for the parties (SMEs, institutions, specialists).
- Operators do not use these pages: 403 on every route, whatever the id (they
  follow inquiries through the audit log, not through a party's page).
- An inquiry is seen only by its parties: the `sme` persona sent the world's
  inquiries to the `specialist` persona, so `institution` and
  `other_specialist` get 404 for the page and for every action.
- An action the other party takes, or one the state no longer allows, is a
  409 (refused), not an "ok"; the allowed party's empty POST is a 400 form
  error ("ok"), except accepting, which has no fields and succeeds (302).
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ROLES, Route

ANON_LOGIN_OPERATOR_403 = {"anonymous": "login", "operator": 403, "analyst": 403}
PARTIES_OK = {
    **ANON_LOGIN_OPERATOR_403,
    "sme": "ok",
    "institution": "ok",
    "specialist": "ok",
    "other_specialist": "ok",
}
SENDERS_OK = {
    **ANON_LOGIN_OPERATOR_403,
    "sme": "ok",
    "institution": "ok",
    "specialist": 403,
    "other_specialist": 403,
}
SENDERS_404 = {**SENDERS_OK, "sme": 404, "institution": 404}
# The world's inquiries: sme → specialist. Everyone else who may use the pages: 404.
PARTY = {
    **ANON_LOGIN_OPERATOR_403,
    "institution": 404,
    "other_specialist": 404,
}
SIGNED_IN_405 = {**dict.fromkeys(ROLES, 405), **ANON_LOGIN_OPERATOR_403}
PARTIES_404 = {**dict.fromkeys(ROLES, 404), **ANON_LOGIN_OPERATOR_403}


def _act(action: str, key: str, *, sme: Any, specialist: Any) -> Route:
    return Route(
        "inquiries:act",
        "POST",
        f"/inquiries/{{{key}}}/{action}/",
        {**PARTY, "sme": sme, "specialist": specialist},
    )


ROWS: tuple[Route, ...] = (
    # The dashboard.
    Route("inquiries:dashboard", "GET", "/inquiries/", PARTIES_OK),
    Route("inquiries:dashboard", "POST", "/inquiries/", SIGNED_IN_405),
    # The inquiry form: an empty POST is a 400 with the form's errors.
    Route("inquiries:new", "GET", "/inquiries/new/{published}/", SENDERS_OK),
    Route("inquiries:new", "POST", "/inquiries/new/{published}/", SENDERS_OK),
    # Only a listed specialist can be asked; a draft or unknown number is a 404.
    Route("inquiries:new", "GET", "/inquiries/new/{draft}/", SENDERS_404),
    Route("inquiries:new", "GET", "/inquiries/new/999999/", SENDERS_404),
    # An inquiry's page: its parties only.
    Route(
        "inquiries:detail",
        "GET",
        "/inquiries/{inquiry_id}/",
        {**PARTY, "sme": "ok", "specialist": "ok"},
    ),
    Route("inquiries:detail", "GET", "/inquiries/999999/", PARTIES_404),
    Route("inquiries:detail", "POST", "/inquiries/{inquiry_id}/", SIGNED_IN_405),
    # Each action, on an inquiry in a state that allows it.
    _act("accept", "inquiry_id", sme=409, specialist="ok"),
    _act("decline", "inquiry_id", sme=409, specialist="ok"),
    _act("record_consultation", "inquiry_accepted_id", sme=409, specialist="ok"),
    _act("plan_guidance", "inquiry_consulting_id", sme=409, specialist="ok"),
    _act("record_visit", "inquiry_planned_id", sme=409, specialist="ok"),
    _act("complete", "inquiry_in_guidance_id", sme=409, specialist="ok"),
    _act("confirm", "inquiry_completed_id", sme="ok", specialist=409),
    _act("close", "inquiry_id", sme="ok", specialist="ok"),
    # A state that no longer allows the action: refused for both parties.
    _act("record_consultation", "inquiry_id", sme=409, specialist=409),
    _act("close", "inquiry_confirmed_id", sme=409, specialist=409),
    # No such action (the daily job's "expire" is not a page action).
    Route("inquiries:act", "POST", "/inquiries/{inquiry_id}/expire/", PARTIES_404),
    Route("inquiries:act", "POST", "/inquiries/{inquiry_id}/nonsense/", PARTIES_404),
    Route("inquiries:act", "GET", "/inquiries/{inquiry_id}/accept/", SIGNED_IN_405),
)


def extend_world(world: dict[str, Any]) -> None:
    """Inquiries from the `sme` persona to the `specialist` persona (listing
    100001), one per state the action rows need."""
    from django.test import override_settings

    from sekispe.inquiries.models import InquiryState as S
    from sekispe.listings.models import Listing
    from tests.inquiry_support import advance, send

    sme, specialist = world["users"]["sme"], world["users"]["specialist"]
    # Room for every open engagement below, so sending is still possible.
    Listing.objects.filter(record_id=specialist.record_id).update(capacity=20)
    states = {
        "inquiry_id": S.SENT,
        "inquiry_accepted_id": S.ACCEPTED,
        "inquiry_consulting_id": S.CONSULTING,
        "inquiry_planned_id": S.GUIDANCE_PLANNED,
        "inquiry_in_guidance_id": S.IN_GUIDANCE,
        "inquiry_completed_id": S.COMPLETED,
        "inquiry_confirmed_id": S.CONFIRMED,
    }
    with override_settings(INQUIRIES_PER_SME=(100, 24 * 3600)):
        for n, (key, state) in enumerate(states.items()):
            inquiry = send(sme, specialist, company_name=f"株式会社サンプル{n}")
            world[key] = advance(inquiry, state, specialist, sme).pk
