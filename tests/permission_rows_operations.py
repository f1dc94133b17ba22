"""Permission rows: running sekispe as a service (issue 12): the outbox pages
and readiness.

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tests.permission_common import OPERATOR_ONLY, ROLES, Route

# Readiness is JSON for monitors: no login page, a plain 403 for everyone but operators
# (or a bearer token, tested in tests/test_readiness.py).
READINESS = {**dict.fromkeys(ROLES, 403), "operator": "ok"}
OPERATOR_405 = {**OPERATOR_ONLY, "operator": 405}
OPERATOR_404 = {**OPERATOR_ONLY, "operator": 404}

ROWS: tuple[Route, ...] = (
    Route("healthz_ready", "GET", "/healthz/ready", READINESS),
    Route("backoffice:outbox", "GET", "/ops/outbox/", OPERATOR_ONLY),
    Route("backoffice:outbox", "GET", "/ops/outbox/?state=sent", OPERATOR_ONLY),
    Route(
        "backoffice:outbox_retry", "POST", "/ops/outbox/{cancelled_mail_id}/retry/", OPERATOR_ONLY
    ),
    Route("backoffice:outbox_retry", "GET", "/ops/outbox/{cancelled_mail_id}/retry/", OPERATOR_405),
    Route("backoffice:outbox_retry", "POST", "/ops/outbox/999999/retry/", OPERATOR_404),
    Route(
        "backoffice:outbox_cancel", "POST", "/ops/outbox/{queued_mail_id}/cancel/", OPERATOR_ONLY
    ),
    Route("backoffice:outbox_cancel", "POST", "/ops/outbox/999999/cancel/", OPERATOR_404),
)


def extend_world(world: dict[str, Any]) -> None:
    """A cancelled and a queued mail; every daily job succeeded just now, so an
    operator's readiness check answers 200 (a stale job would rightly make it 503)."""
    from sekispe.outbox.models import MailState
    from sekispe.outbox.services import queue_message
    from sekispe.worker.models import JobOutcome, JobRun
    from sekispe.worker.schedule import JOBS

    # Cancelled rather than failed: a failed mail rightly makes readiness 503.
    cancelled = queue_message("cancelled@example.jp", "件名", "本文", template="test")
    cancelled.state = MailState.CANCELLED
    cancelled.save(update_fields=["state"])
    world["cancelled_mail_id"] = cancelled.pk
    world["queued_mail_id"] = queue_message("q@example.jp", "件名", "本文", template="test").pk
    now = timezone.now()
    JobRun.objects.bulk_create(
        [JobRun(name=job.name, last_success_at=now, last_outcome=JobOutcome.OK) for job in JOBS]
    )
