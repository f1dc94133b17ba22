"""Registration numbers stay unique when operators approve at the same moment
(issue 16, part 4). Real threads, each with its own connection, released by one
barrier: on SQLite BEGIN IMMEDIATE serialises the approvals, on PostgreSQL the
counter row's lock (select_for_update) does."""

from __future__ import annotations

import datetime as dt

import pytest

from sekispe.intake import services
from sekispe.intake.models import ApplicationStatus, RegistrationApplication
from sekispe.outbox.models import OutgoingMail
from sekispe.registry.models import RegistryRecord
from tests.concurrency_support import race
from tests.factories import make_specialist_user, make_user
from tests.intake_support import make_application

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
TODAY = dt.date(2026, 6, 1)


def test_concurrent_approvals_get_distinct_consecutive_numbers():
    operators = [make_user("operator", f"op{n}@ipa.example.jp") for n in range(THREADS)]
    make_specialist_user("100010")
    applications = [make_application(n) for n in range(THREADS)]

    results = race(
        [
            lambda app=app, op=op: services.approve_application(app, actor=op, today=TODAY)
            for app, op in zip(applications, operators, strict=True)
        ]
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    numbers = sorted(r.registration_number for r in results)
    assert numbers == [f"{100011 + n:06d}" for n in range(THREADS)]
    assert RegistryRecord.objects.filter(application__isnull=False).count() == THREADS
    assert not RegistrationApplication.objects.filter(status=ApplicationStatus.SUBMITTED).exists()
    assert OutgoingMail.objects.filter(template="intake_approved").count() == THREADS


def test_two_operators_approving_one_application_register_it_once():
    operators = [make_user("operator", f"op{n}@ipa.example.jp") for n in range(THREADS)]
    application = make_application(1)

    results = race(
        [
            lambda op=op: services.approve_application(
                RegistrationApplication.objects.get(pk=application.pk), actor=op, today=TODAY
            )
            for op in operators
        ]
    )

    records = [r for r in results if isinstance(r, RegistryRecord)]
    refused = [r for r in results if isinstance(r, services.IntakeError)]
    assert len(records) == 1 and len(refused) == THREADS - 1, results
    assert RegistryRecord.objects.count() == 1
    assert OutgoingMail.objects.filter(template="intake_approved").count() == 1
