"""Permission rows: the SME self-diagnosis (/diagnosis/) and its API.

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ALL_405, NOBODY_404, PUBLIC, ROLES, Route

SME_ONLY = {**dict.fromkeys(ROLES, 403), "anonymous": "login", "sme": "ok"}
# The API evaluates and stores nothing, so it takes no cookie and needs no CSRF
# token; a request without a JSON body is a 400 for everyone.
EVERYONE_400 = dict.fromkeys(ROLES, 400)

ROWS: tuple[Route, ...] = (
    # Anyone may answer; an empty form comes back with its errors (400).
    Route("diagnosis:start", "GET", "/diagnosis/", PUBLIC),
    Route("diagnosis:start", "POST", "/diagnosis/", PUBLIC),
    # A result is public to whoever holds its unguessable link.
    Route("diagnosis:result", "GET", "/diagnosis/r/{diagnosis_token}/", PUBLIC),
    Route("diagnosis:result", "GET", "/diagnosis/r/{sme_diagnosis_token}/", PUBLIC),
    Route("diagnosis:result", "GET", "/diagnosis/r/no-such-token/", NOBODY_404),
    Route("diagnosis:result", "POST", "/diagnosis/r/{diagnosis_token}/", ALL_405),
    Route("diagnosis:pdf", "GET", "/diagnosis/r/{diagnosis_token}/pdf/", PUBLIC),
    Route("diagnosis:pdf", "GET", "/diagnosis/r/no-such-token/pdf/", NOBODY_404),
    Route("diagnosis:pdf", "POST", "/diagnosis/r/{diagnosis_token}/pdf/", ALL_405),
    # The history and claiming results are for SME accounts only.
    Route("diagnosis:history", "GET", "/diagnosis/history/", SME_ONLY),
    Route("diagnosis:history", "POST", "/diagnosis/history/", {**SME_ONLY, "sme": 405}),
    Route("diagnosis:claim", "POST", "/diagnosis/history/claim/", {**SME_ONLY, "sme": "redirect"}),
    Route("diagnosis:claim", "GET", "/diagnosis/history/claim/", {**SME_ONLY, "sme": 405}),
    Route("api-v1:diagnoses", "POST", "/api/v1/diagnoses", EVERYONE_400),
    Route("api-v1:diagnoses", "GET", "/api/v1/diagnoses", ALL_405),
    Route("api-v1:diagnosis_questions", "GET", "/api/v1/diagnoses/questions", PUBLIC),
    Route("api-v1:diagnosis_questions", "POST", "/api/v1/diagnoses/questions", ALL_405),
)


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
    from sekispe.diagnosis import rules, services

    answers = dict.fromkeys(rules.current().ids, "partly")
    world["diagnosis_token"] = services.record(answers).share_token
    world["sme_diagnosis_token"] = services.record(answers, user=world["users"]["sme"]).share_token
