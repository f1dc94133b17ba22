"""Permission rows: the specialist's deemed-attendance pages (/me/deemed/) and
the certifier's link (/certify/<token>/).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world` (it runs inside
the test database, after the personas and the core objects exist).
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ALL_405, NOBODY_404, PUBLIC, ROLES, SPECIALIST_ONLY, Route

# The specialist's own pages, where the role is right but the method or the
# object is not: the role check comes first.
SPECIALIST_405 = {**SPECIALIST_ONLY, "specialist": 405, "other_specialist": 405}
SPECIALIST_404 = {**SPECIALIST_ONLY, "specialist": 404, "other_specialist": 404}
# An application or confirmation of `specialist`: another specialist learns nothing.
OWN = {**SPECIALIST_ONLY, "other_specialist": 404}
# A used certification link: gone, for everybody.
ALL_410 = dict.fromkeys(ROLES, 410)

APPLICATION = "/me/deemed/{deemed_me_application_id}/"
CONFIRMATION = "/me/deemed/from/{deemed_me_confirmation_id}/"
VALID = "/certify/{deemed_me_token}/"
USED = "/certify/{deemed_me_used_token}/"

ROWS: tuple[Route, ...] = (
    Route("deemed_me:index", "GET", "/me/deemed/", SPECIALIST_ONLY),
    Route("deemed_me:index", "POST", "/me/deemed/", SPECIALIST_405),
    # Step one (choose the sub-item), step two (the form), an unknown item (400).
    Route("deemed_me:new", "GET", "/me/deemed/new/", SPECIALIST_ONLY),
    Route("deemed_me:new", "GET", "/me/deemed/new/?item=1-2", SPECIALIST_ONLY),
    Route("deemed_me:new", "GET", "/me/deemed/new/?item=bogus", SPECIALIST_ONLY),
    # An empty POST has no sub-item: step one again, with the error (400).
    Route("deemed_me:new", "POST", "/me/deemed/new/", SPECIALIST_ONLY),
    Route("deemed_me:new", "POST", "/me/deemed/new/?item=1-2", SPECIALIST_ONLY),
    Route("deemed_me:from_confirmation", "GET", CONFIRMATION, OWN),
    Route("deemed_me:from_confirmation", "POST", CONFIRMATION, OWN),
    Route("deemed_me:from_confirmation", "GET", "/me/deemed/from/999999/", SPECIALIST_404),
    Route("deemed_me:from_confirmation", "POST", "/me/deemed/from/999999/", SPECIALIST_404),
    Route("deemed_me:detail", "GET", APPLICATION, OWN),
    Route("deemed_me:detail", "GET", "/me/deemed/999999/", SPECIALIST_404),
    Route("deemed_me:detail", "POST", APPLICATION, SPECIALIST_405),
    # The application is withdrawn already: the actions answer with why not (400).
    Route("deemed_me:withdraw", "GET", APPLICATION + "withdraw/", OWN),
    Route("deemed_me:withdraw", "POST", APPLICATION + "withdraw/", OWN),
    Route("deemed_me:withdraw", "GET", "/me/deemed/999999/withdraw/", SPECIALIST_404),
    Route("deemed_me:answer", "POST", APPLICATION + "answer/", OWN),
    Route("deemed_me:answer", "GET", APPLICATION + "answer/", SPECIALIST_405),
    Route("deemed_me:answer", "POST", "/me/deemed/999999/answer/", SPECIALIST_404),
    Route("deemed_me:evidence", "POST", APPLICATION + "evidence/", OWN),
    Route("deemed_me:evidence", "GET", APPLICATION + "evidence/", SPECIALIST_405),
    Route("deemed_me:evidence", "POST", "/me/deemed/999999/evidence/", SPECIALIST_404),
    Route("deemed_me:resend", "POST", APPLICATION + "resend/", OWN),
    Route("deemed_me:resend", "GET", APPLICATION + "resend/", SPECIALIST_405),
    Route("deemed_me:resend", "POST", "/me/deemed/999999/resend/", SPECIALIST_404),
    Route("deemed_me:form_pdf", "GET", APPLICATION + "form.pdf", OWN),
    Route("deemed_me:form_pdf", "GET", "/me/deemed/999999/form.pdf", SPECIALIST_404),
    Route("deemed_me:form_pdf", "POST", APPLICATION + "form.pdf", SPECIALIST_405),
    # The certifier: whoever holds a valid link; nobody without one.
    Route("deemed_certify:form", "GET", VALID, PUBLIC),
    # An empty POST names no answer: the page again (400), the link still unused.
    Route("deemed_certify:form", "POST", VALID, PUBLIC),
    Route("deemed_certify:form", "GET", "/certify/no-such-token/", NOBODY_404),
    Route("deemed_certify:form", "POST", "/certify/no-such-token/", NOBODY_404),
    Route("deemed_certify:form", "GET", USED, ALL_410),
    Route("deemed_certify:form", "POST", USED, ALL_410),
    Route("deemed_certify:done", "POST", USED + "done/", ALL_405),
    # Before the answer the thank-you page sends back to the form (302).
    Route("deemed_certify:done", "GET", VALID + "done/", PUBLIC),
    Route("deemed_certify:done", "GET", USED + "done/", PUBLIC),
    Route("deemed_certify:done", "GET", "/certify/no-such-token/done/", NOBODY_404),
    Route("deemed_certify:form_pdf", "GET", VALID + "form.pdf", PUBLIC),
    Route("deemed_certify:form_pdf", "GET", USED + "form.pdf", PUBLIC),
    Route("deemed_certify:form_pdf", "GET", "/certify/no-such-token/form.pdf", NOBODY_404),
    Route("deemed_certify:form_pdf", "POST", VALID + "form.pdf", ALL_405),
)


def extend_world(world: dict[str, Any]) -> None:
    """`world["users"]` holds the personas; add keys for the templates above."""
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from sekispe.deemed import services
    from sekispe.inquiries.models import InquiryState
    from sekispe.outbox.models import OutgoingMail
    from tests.deemed_pages_support import apply
    from tests.factories import make_specialist_user, make_user
    from tests.inquiry_support import create_inquiry

    users = world["users"]
    specialist = users["specialist"]

    # `specialist`'s own application. The personas' period ends 2027-03-31, so
    # it is made at a fixed time inside the period, then withdrawn: it holds no
    # period, and another area may give the specialist an open one. If one
    # already does, that one serves.
    held = services.holding_application(specialist.record)
    if held is None:
        with time_machine.travel(dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC), tick=False):
            held, _token = apply(specialist)
            services.withdraw(specialist, held)
        # Its mail was queued "back then": make it today's, or readiness reports
        # a stale outbox.
        now = timezone.now()
        OutgoingMail.objects.filter(to=held.certifier_email).update(
            created_at=now, next_attempt_at=now
        )
    world["deemed_me_application_id"] = held.pk

    # An unused confirmed Active List engagement of `specialist`.
    company = make_user("sme", "deemed-rows@company.example.jp", organization="株式会社行")
    inquiry = create_inquiry(company, specialist, state=InquiryState.CONFIRMED)
    world["deemed_me_confirmation_id"] = inquiry.confirmation.pk

    # Certification links: registrants whose period holds today, whenever the
    # matrix runs; one link left valid, one answered.
    expires_on = timezone.localdate() + dt.timedelta(days=400)
    valid_user = make_specialist_user("100091", name="石川 真", expires_on=expires_on)
    used_user = make_specialist_user("100092", name="森 あかり", expires_on=expires_on)
    _application, world["deemed_me_token"] = apply(valid_user, email="valid@certifier.example.jp")
    _application, used = apply(used_user, email="used@certifier.example.jp")
    services.certify(used, name="証明 太郎", title="部長", address_hash="rows")
    world["deemed_me_used_token"] = used
