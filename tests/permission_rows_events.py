"""Permission rows: consultation events (issue 6), /events/.

Institution accounts only, and only for their own events: the `institution`
persona owns `{event_id}` (with `{participant_id}`); `{other_event_id}` and
`{other_participant_id}` belong to a different institution account, so the
persona gets 404 there, exactly as for an id that does not exist. The sign-up
link is public to whoever holds it; a wrong token is a 404 for everyone.

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.permission_common import NOBODY_404, PUBLIC, ROLES, Route

INSTITUTION_ONLY = {**dict.fromkeys(ROLES, 403), "anonymous": "login", "institution": "ok"}
# Another institution's object: the persona learns nothing, not even that it exists.
NOT_THEIRS = {**INSTITUTION_ONLY, "institution": 404}
# A method the view does not take: only the role that passes the role check sees the 405.
WRONG_METHOD = {**INSTITUTION_ONLY, "institution": 405}

EVENT = "/events/{event_id}/"
OTHER_EVENT = "/events/{other_event_id}/"
PARTICIPANT = "/events/{event_id}/participants/{participant_id}/"
OTHER_PARTICIPANT = "/events/{other_event_id}/participants/{other_participant_id}/"
# The persona's own event id with the other institution's participant id.
MIXED_PARTICIPANT = "/events/{event_id}/participants/{other_participant_id}/"

ROWS: tuple[Route, ...] = (
    # The institution's own lists and forms (no ids).
    Route("events:index", "GET", "/events/", INSTITUTION_ONLY),
    Route("events:index", "POST", "/events/", WRONG_METHOD),
    Route("events:new", "GET", "/events/new/", INSTITUTION_ONLY),
    Route("events:new", "POST", "/events/new/", INSTITUTION_ONLY),
    Route("events:referrals", "GET", "/events/referrals/", INSTITUTION_ONLY),
    Route("events:referrals", "POST", "/events/referrals/", WRONG_METHOD),
    Route("events:overall_report", "GET", "/events/report/", INSTITUTION_ONLY),
    Route("events:overall_report_xlsx", "GET", "/events/report.xlsx", INSTITUTION_ONLY),
    Route("events:overall_report_xlsx", "POST", "/events/report.xlsx", WRONG_METHOD),
    # One event: its own, another institution's, and one that does not exist.
    Route("events:detail", "GET", EVENT, INSTITUTION_ONLY),
    Route("events:detail", "GET", OTHER_EVENT, NOT_THEIRS),
    Route("events:detail", "GET", "/events/999999/", NOT_THEIRS),
    Route("events:detail", "POST", EVENT, WRONG_METHOD),
    Route("events:edit", "GET", EVENT + "edit/", INSTITUTION_ONLY),
    Route("events:edit", "POST", EVENT + "edit/", INSTITUTION_ONLY),
    Route("events:edit", "GET", OTHER_EVENT + "edit/", NOT_THEIRS),
    Route("events:edit", "POST", OTHER_EVENT + "edit/", NOT_THEIRS),
    Route("events:register", "POST", EVENT + "participants/", INSTITUTION_ONLY),
    Route("events:register", "POST", OTHER_EVENT + "participants/", NOT_THEIRS),
    Route("events:register", "GET", EVENT + "participants/", WRONG_METHOD),
    Route("events:report", "GET", EVENT + "report/", INSTITUTION_ONLY),
    Route("events:report", "GET", OTHER_EVENT + "report/", NOT_THEIRS),
    Route("events:report_xlsx", "GET", "/events/{event_id}/report.xlsx", INSTITUTION_ONLY),
    Route("events:report_xlsx", "GET", "/events/{other_event_id}/report.xlsx", NOT_THEIRS),
    # One participant, with its consultations and referrals.
    Route("events:participant", "GET", PARTICIPANT, INSTITUTION_ONLY),
    Route("events:participant", "GET", OTHER_PARTICIPANT, NOT_THEIRS),
    Route("events:participant", "GET", MIXED_PARTICIPANT, NOT_THEIRS),
    Route("events:participant", "POST", PARTICIPANT, WRONG_METHOD),
    Route("events:consult", "POST", PARTICIPANT + "consultations/", INSTITUTION_ONLY),
    Route("events:consult", "POST", OTHER_PARTICIPANT + "consultations/", NOT_THEIRS),
    Route("events:consult", "POST", MIXED_PARTICIPANT + "consultations/", NOT_THEIRS),
    Route("events:consult", "GET", PARTICIPANT + "consultations/", WRONG_METHOD),
    Route("events:refer", "POST", PARTICIPANT + "referrals/", INSTITUTION_ONLY),
    Route("events:refer", "POST", OTHER_PARTICIPANT + "referrals/", NOT_THEIRS),
    Route("events:refer", "POST", MIXED_PARTICIPANT + "referrals/", NOT_THEIRS),
    Route("events:refer", "GET", PARTICIPANT + "referrals/", WRONG_METHOD),
    # The public sign-up link: anyone holding it; an empty form is a 400.
    Route("events:join", "GET", "/events/join/{event_token}/", PUBLIC),
    Route("events:join", "POST", "/events/join/{event_token}/", PUBLIC),
    Route("events:join", "GET", "/events/join/{other_event_token}/", PUBLIC),
    Route("events:join", "GET", "/events/join/no-such-token/", NOBODY_404),
    Route("events:join", "POST", "/events/join/no-such-token/", NOBODY_404),
)


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
    from django.utils import timezone

    from sekispe.events import services
    from tests.factories import make_user

    def event_of(owner: Any, n: int) -> tuple[Any, Any]:
        event = services.create_event(
            owner,
            services.EventDetails(
                title=f"相談会{n}",
                held_on=timezone.localdate() + dt.timedelta(days=14),
                capacity=10,
                themes=(1, 5),
                place="会議室",
            ),
        )
        participant = services.register_participant(
            owner,
            event,
            services.ParticipantDetails(
                company_name=f"参加企業{n}",
                contact_name="担当者",
                email=f"company{n}@example.jp",
                prefecture="13",
                themes=(1,),
            ),
        )
        return event, participant

    event, participant = event_of(world["users"]["institution"], 1)
    other = make_user("institution", "other-staff@cci.example.jp", organization="別の商工会議所")
    other_event, other_participant = event_of(other, 2)
    world.update(
        event_id=event.pk,
        participant_id=participant.pk,
        event_token=event.signup_token,
        other_event_id=other_event.pk,
        other_participant_id=other_participant.pk,
        other_event_token=other_event.signup_token,
    )
