"""Permission rows: bulk invitations /ops/invitations/bulk/, registrant mailings
/ops/mailings/ (operators only) and the public unsubscribe link
/mailings/unsubscribe/<token>/ (issue 16, parts 2 and 3).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.permission_common import NOBODY_404, OPERATOR_ONLY, PUBLIC, ROLES, Route

ROWS: tuple[Route, ...] = (
    Route("onboarding:bulk", "GET", "/ops/invitations/bulk/", OPERATOR_ONLY),
    # An empty POST re-renders the filter form (nothing is started).
    Route("onboarding:bulk", "POST", "/ops/invitations/bulk/", OPERATOR_ONLY),
    Route("onboarding:run", "GET", "/ops/invitations/bulk/{bulk_run_id}/", OPERATOR_ONLY),
    # A POST on a run that is not stalled only redirects back to it.
    Route("onboarding:run", "POST", "/ops/invitations/bulk/{bulk_run_id}/", OPERATOR_ONLY),
    Route(
        "onboarding:run",
        "GET",
        "/ops/invitations/bulk/999999/",
        {**OPERATOR_ONLY, "operator": 404},
    ),
    Route("onboarding:mailings", "GET", "/ops/mailings/", OPERATOR_ONLY),
    Route("onboarding:mailings", "POST", "/ops/mailings/", {**OPERATOR_ONLY, "operator": 405}),
    Route("onboarding:mailing_new", "GET", "/ops/mailings/new/", OPERATOR_ONLY),
    # An empty POST re-renders the form with its errors.
    Route("onboarding:mailing_new", "POST", "/ops/mailings/new/", OPERATOR_ONLY),
    Route("onboarding:mailing", "GET", "/ops/mailings/{mailing_id}/", OPERATOR_ONLY),
    # A POST on a fully queued mailing only redirects back to it.
    Route("onboarding:mailing", "POST", "/ops/mailings/{mailing_id}/", OPERATOR_ONLY),
    Route("onboarding:mailing", "GET", "/ops/mailings/999999/", {**OPERATOR_ONLY, "operator": 404}),
    Route("onboarding:unsubscribe", "GET", "/mailings/unsubscribe/{unsubscribe_token}/", PUBLIC),
    Route("onboarding:unsubscribe", "POST", "/mailings/unsubscribe/{unsubscribe_token}/", PUBLIC),
    Route("onboarding:unsubscribe", "GET", "/mailings/unsubscribe/forged:token/", NOBODY_404),
    # The List-Unsubscribe target: a GET goes to the page that asks; a POST
    # without RFC 8058's exact body is refused (tests/test_onboarding_bulk.py
    # posts the body, without a CSRF token, as mailbox providers do).
    Route(
        "onboarding:unsubscribe_one_click",
        "GET",
        "/mailings/unsubscribe/{unsubscribe_token}/one-click/",
        dict.fromkeys(ROLES, "redirect"),
    ),
    Route(
        "onboarding:unsubscribe_one_click",
        "POST",
        "/mailings/unsubscribe/{unsubscribe_token}/one-click/",
        dict.fromkeys(ROLES, 400),
    ),
    Route(
        "onboarding:unsubscribe_one_click",
        "POST",
        "/mailings/unsubscribe/forged:token/one-click/",
        NOBODY_404,
    ),
)


def extend_world(world: dict[str, Any]) -> None:
    """A registrant without an account, a bulk run that selects them, and a mailing."""
    from sekispe.onboarding import services
    from sekispe.onboarding.models import MailingKind, Segment
    from sekispe.registry.models import RegistryRecord, RegistryStatus

    record = RegistryRecord.objects.create(
        registration_number="100090",
        name="小林 直樹",
        name_kana="コバヤシ ナオキ",
        registered_on=dt.date(2025, 4, 1),
        expires_on=dt.date(2028, 3, 31),
        home_prefecture_id="13",
        email="kobayashi@example.jp",
        status=RegistryStatus.ACTIVE,
    )
    world["bulk_run_id"] = services.start_invitation_run(
        services.InvitationFilters(), actor=None
    ).pk
    world["mailing_id"] = services.queue_mailing(
        services.create_mailing(
            kind=MailingKind.NOTICE,
            segment=Segment.ACTIVE,
            subject="登録セキスペの皆さまへ",
            body="制度改正のお知らせです。",
            measure=None,
            actor=None,
        )
    ).pk
    world["unsubscribe_token"] = services.unsubscribe_token(record.pk)
