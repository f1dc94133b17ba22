"""The Django admin keeps raw record maintenance, but neither revokes a
registration nor makes or changes a deemed-attendance credit: those go through
registry.services (revoke_registration, grant/withdraw_deemed_credit)."""

from __future__ import annotations

import datetime as dt

import pytest

from sekispe.registry.models import CourseCompletion, RegistryRecord
from sekispe.registry.services import grant_deemed_credit
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def record() -> RegistryRecord:
    create_specialists(make_input(registration_number="000001", courses=()))
    return RegistryRecord.objects.get()


def _post(client, record, *, status="active", courses=()):
    data = {
        "registration_number": record.registration_number,
        "name": record.name,
        "name_kana": record.name_kana,
        "registered_on": "2024-04-01",
        "expires_on": "2027-03-31",
        "renewal_count": "0",
        "status": status,
        "home_prefecture": "13",
        "courses-TOTAL_FORMS": str(len(courses)),
        "courses-INITIAL_FORMS": str(sum(1 for c in courses if c.get("id"))),
        "courses-MIN_NUM_FORMS": "0",
        "courses-MAX_NUM_FORMS": "1000",
    }
    for n, course in enumerate(courses):
        for name, value in {"record": record.pk, **course}.items():
            data[f"courses-{n}-{name}"] = value
    return client.post(f"/admin/registry/registryrecord/{record.pk}/change/", data)


def test_the_admin_cannot_revoke_a_registration(operator_client, record):
    response = _post(operator_client, record, status="revoked")
    assert response.status_code == 200
    assert "登録取消は、取消の手続（みなし受講の取消案件）からのみ行えます。" in (
        response.content.decode()
    )
    assert RegistryRecord.objects.get().status == "active"
    assert _post(operator_client, record, status="expired").status_code == 302
    assert RegistryRecord.objects.get().status == "expired"


def test_a_revoked_record_stays_editable_in_the_admin(operator_client, record):
    RegistryRecord.objects.filter(pk=record.pk).update(status="revoked")
    record.refresh_from_db()
    assert _post(operator_client, record, status="revoked").status_code == 302


def test_the_admin_neither_adds_nor_changes_a_deemed_credit(operator_client, record):
    new = {"kind": "deemed", "fiscal_year": "2026", "completed_on": "2026-06-01"}
    response = _post(operator_client, record, courses=[new])
    assert response.status_code == 200
    assert "みなし受講の記録は、みなし受講の申請の承認と取消でのみ変わります。" in (
        response.content.decode()
    )
    assert not CourseCompletion.objects.exists()

    credit = grant_deemed_credit(
        record, approved_on=dt.date(2026, 6, 1), reference="DEEMED-1", actor=None
    )
    changed = {
        "id": credit.pk,
        "kind": "practical",
        "fiscal_year": "2026",
        "course_code": "DEEMED-1",
        "provider": "みなし受講",
        "completed_on": "2026-06-01",
    }
    response = _post(operator_client, record, courses=[changed])
    assert response.status_code == 200
    assert CourseCompletion.objects.get().kind == "deemed"
    # A practical course is still maintained as before.
    practical = {"kind": "practical", "fiscal_year": "2025", "completed_on": "2025-06-01"}
    unchanged = {**changed, "kind": "deemed"}
    assert _post(operator_client, record, courses=[unchanged, practical]).status_code == 302
    assert sorted(CourseCompletion.objects.values_list("kind", flat=True)) == [
        "deemed",
        "practical",
    ]


def test_the_admin_neither_redates_nor_deletes_a_deemed_credit(operator_client, record):
    credit = grant_deemed_credit(
        record, approved_on=dt.date(2026, 6, 1), reference="DEEMED-1", actor=None
    )
    row = {
        "id": credit.pk,
        "kind": "deemed",
        "fiscal_year": "2026",
        "course_code": "DEEMED-1",
        "provider": "みなし受講",
        "completed_on": "2026-06-01",
    }
    redated = {**row, "completed_on": "2026-05-01"}
    assert _post(operator_client, record, courses=[redated]).status_code == 200
    deleted = {**row, "DELETE": "on"}
    response = _post(operator_client, record, courses=[deleted])
    assert response.status_code == 200
    assert "みなし受講の記録は、みなし受講の申請の承認と取消でのみ変わります。" in (
        response.content.decode()
    )
    assert CourseCompletion.objects.get().completed_on == dt.date(2026, 6, 1)
