"""Mail in tests: queued in the outbox by the code under test, delivered here
as the worker would, then read from Django's locmem `mail.outbox`."""

from __future__ import annotations

from django.core import mail

from sekispe.outbox.services import deliver_all


def delivered() -> list[mail.EmailMessage]:
    """Run the worker's delivery until nothing is due; every message sent so far."""
    deliver_all()
    return mail.outbox
