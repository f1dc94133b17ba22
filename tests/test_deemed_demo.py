"""seed-demo puts deemed-attendance applications in every state, with a
recorded, verifiable audit draw, so a newcomer sees the queue populated."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from sekispe.deemed.models import (
    AuditDraw,
    AuditState,
    DeemedApplication,
    DeemedStatus,
    RevocationCase,
)
from sekispe.deemed.services import verify_draw
from sekispe.registry.models import CourseCompletion, CourseKind

pytestmark = pytest.mark.django_db


def test_seed_demo_has_applications_in_every_state():
    out = StringIO()
    call_command("seed_demo", specialists=400, seed=1, accounts=True, no_progress=True, stdout=out)
    statuses = set(DeemedApplication.objects.values_list("status", flat=True))
    assert statuses == set(DeemedStatus.values)
    audits = set(DeemedApplication.objects.values_list("audit_state", flat=True))
    assert {AuditState.UNDER_AUDIT, AuditState.CONFIRMED, AuditState.FALSE} <= audits
    assert DeemedApplication.objects.exclude(similar_to=None).exists()
    [draw] = AuditDraw.objects.all()
    assert verify_draw(draw)
    assert RevocationCase.objects.count() == 1
    # Every approved application holds its registry credit; the revoked one does not.
    approved = DeemedApplication.objects.filter(status=DeemedStatus.APPROVED)
    assert all(a.credit_id for a in approved)
    assert CourseCompletion.objects.filter(kind=CourseKind.DEEMED).count() == approved.count()
    assert "みなし受講の申請 16 件" in out.getvalue()
    # A second run adds nothing.
    call_command("seed_demo", specialists=400, seed=1, accounts=True, no_progress=True,
                 allow_real_data=True, stdout=StringIO())  # fmt: skip
    assert DeemedApplication.objects.count() == 16
