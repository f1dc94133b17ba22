"""Issue 13, finding 5: a failing mail server used to turn a committed change
into a 500 (mail was sent on commit, inside the request). Mail now goes through
the outbox, so the request neither waits for SMTP nor fails with it."""

from __future__ import annotations

import pytest

from sekispe.inquiries.models import InquiryState
from sekispe.outbox.models import MailState, OutgoingMail
from tests.inquiry_support import create_inquiry
from tests.outbox_backends import DownBackend

pytestmark = pytest.mark.django_db


def test_finding_05_mail_failure_after_commit_is_no_500(client_for, settings, sme, specialist):
    settings.EMAIL_BACKEND = "tests.outbox_backends.DownBackend"
    DownBackend.attempts = 0
    inquiry = create_inquiry(sme, specialist)
    response = client_for(specialist).post(f"/inquiries/{inquiry.pk}/accept/")
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.state == InquiryState.ACCEPTED  # the change committed…
    assert DownBackend.attempts == 0  # …without the request touching the mail server
    # …and its mail (to the company's addresses) is not lost.
    mails = OutgoingMail.objects.filter(template="inquiry_update")
    assert mails.exists()
    assert set(mails.values_list("state", flat=True)) == {MailState.QUEUED}
