"""The bulk write path: upsert, idempotency, audit and guards."""

from __future__ import annotations

import dataclasses

import pytest

from sekispe.audit.models import AuditEvent
from sekispe.listings.models import Listing, ServiceOffer
from sekispe.listings.services import write_listings
from sekispe.registry.models import RegistryRecord
from tests.factories import make_input

pytestmark = pytest.mark.django_db


def test_second_write_of_the_same_data_changes_nothing():
    items = [make_input(registration_number="000001"), make_input(registration_number="000002")]
    first = write_listings(items, actor_label="tests")
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    stamps = list(Listing.objects.order_by("id").values_list("updated_at", flat=True))
    second = write_listings(items, actor_label="tests")
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert list(Listing.objects.order_by("id").values_list("updated_at", flat=True)) == stamps


def test_changed_rows_are_updated_and_audited():
    item = make_input(registration_number="000001", fees={"visit": 30000})
    write_listings([item], actor_label="tests")
    record_stamp = RegistryRecord.objects.get().updated_at
    changed = dataclasses.replace(item, name="佐藤 健二", fees={"online": 5000}, themes=(2, 4))
    counts = write_listings([changed], actor_label="tests", source={"file": "x.csv"})
    assert (counts.updated, counts.changed_numbers) == (1, ["000001"])
    record = RegistryRecord.objects.get()
    assert record.name == "佐藤 健二"
    assert record.updated_at > record_stamp
    listing = Listing.objects.get()
    assert sorted(listing.themes.values_list("code", flat=True)) == [2, 4]
    assert list(ServiceOffer.objects.values_list("form", "fee_yen")) == [("online", 5000)]
    event = AuditEvent.objects.filter(action="listings.bulk_write").first()
    assert event.actor_label == "tests"
    assert event.data["file"] == "x.csv"
    assert event.data["changed"] == ["000001"]
    assert event.data["updated"] == 1


def test_duplicate_numbers_in_one_write_are_refused_before_anything_is_written():
    with pytest.raises(ValueError, match="000001"):
        write_listings(
            [make_input(registration_number="000001"), make_input(registration_number="000001")],
            actor_label="tests",
        )
    assert RegistryRecord.objects.count() == 0
