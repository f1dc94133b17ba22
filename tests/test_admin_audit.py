"""Operators' admin edits are audited, and only staff reach the admin."""

from __future__ import annotations

import pytest

from sekispe.audit.models import AuditEvent
from sekispe.registry.models import RegistryRecord
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def test_admin_change_of_a_registry_record_is_audited(operator_client):
    create_specialists(make_input(registration_number="000001"))
    record = RegistryRecord.objects.get()
    url = f"/admin/registry/registryrecord/{record.pk}/change/"
    assert operator_client.get(url).status_code == 200
    response = operator_client.post(
        url,
        {
            "registration_number": "000001",
            "name": "佐藤 健二",
            "name_kana": record.name_kana,
            "registered_on": "2024-04-01",
            "expires_on": "2027-03-31",
            "renewal_count": "1",
            "status": "active",
            "home_prefecture": "13",
            "courses-TOTAL_FORMS": "0",
            "courses-INITIAL_FORMS": "0",
            "courses-MIN_NUM_FORMS": "0",
            "courses-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    record.refresh_from_db()
    assert (record.name, record.renewal_count) == ("佐藤 健二", 1)
    event = AuditEvent.objects.get(action="registry.admin_change")
    assert event.actor.email == "operator@ipa.example.jp"
    assert event.target_id == str(record.pk)
    assert set(event.data["fields"]) == {"name", "renewal_count"}


def test_admin_delete_of_a_listing_is_audited(operator_client):
    create_specialists(make_input(registration_number="000001"))
    from sekispe.listings.models import Listing

    listing = Listing.objects.get()
    response = operator_client.post(
        f"/admin/listings/listing/{listing.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Listing.objects.exists()
    assert AuditEvent.objects.filter(
        action="listings.admin_delete", target_id=str(listing.pk)
    ).exists()


def test_the_audit_log_cannot_be_edited_even_by_an_operator(operator_client):
    create_specialists(make_input(registration_number="000001"))
    event = AuditEvent.objects.first()
    assert operator_client.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert operator_client.get("/admin/audit/auditevent/add/").status_code == 403


def test_a_stuck_reminder_is_resolved_in_the_admin_and_a_sent_one_never_moves(operator_client):
    from sekispe.registry.models import Reminder

    create_specialists(make_input(registration_number="000002"))
    record = RegistryRecord.objects.get()
    stuck = Reminder.objects.create(
        record=record, kind="deadline_30", key="2027-01-30", state="sending", email="a@example.jp"
    )
    sent = Reminder.objects.create(
        record=record, kind="deadline_15", key="2027-01-30", state="sent", email="a@example.jp"
    )
    response = operator_client.post(
        "/admin/registry/reminder/",
        {"action": "return_to_pending", "_selected_action": [stuck.pk, sent.pk]},
    )
    assert response.status_code == 302
    stuck.refresh_from_db()
    sent.refresh_from_db()
    assert (stuck.state, sent.state) == ("pending", "sent")
    event = AuditEvent.objects.get(action="registry.reminder_resolved")
    assert event.data == {"ids": [stuck.pk], "state": "pending"}
    # Deleting a row would let the next run send the reminder again.
    assert operator_client.post(f"/admin/registry/reminder/{stuck.pk}/delete/").status_code == 403
