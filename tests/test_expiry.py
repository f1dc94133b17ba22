"""`sekispe expire-registrations`: who expires when, and what it does to the Active List."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command

from sekispe.audit.models import AuditEvent
from sekispe.listings.models import Listing
from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
from sekispe.registry.models import DisasterMeasure, RegistryRecord, RegistryStatus
from sekispe.registry.services import apply_disaster_measure
from tests.factories import create_specialists, make_input, text

pytestmark = pytest.mark.django_db

LAST_DAY = dt.date(2026, 11, 21)  # the lapsing registrant's expires_on


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3), tzinfo=dt.UTC)  # 12:00 in Tokyo


def expire(today: dt.date) -> str:
    out = io.StringIO()
    call_command("expire_registrations", f"--today={today.isoformat()}", stdout=out)
    return out.getvalue()


def record(number: str) -> RegistryRecord:
    return RegistryRecord.objects.get(registration_number=number)


@pytest.fixture
def clock():
    with time_machine.travel(noon(LAST_DAY), tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(clock):
    create_specialists(
        make_input(registration_number="500001", name="期限 切子", expires_on=LAST_DAY),
        make_input(registration_number="500002", name="継続 続子"),
    )


def test_an_expired_registrant_leaves_the_active_list(client, clock, people):
    assert "期限 切子" in text(client.get("/specialists/"))
    assert "0 件" in expire(LAST_DAY)  # still valid on its last day
    assert record("500001").status == RegistryStatus.ACTIVE

    clock.move_to(noon(LAST_DAY + dt.timedelta(days=1)))
    output = expire(LAST_DAY + dt.timedelta(days=1))
    assert "失効 1 件" in output and "500001" in output
    lapsed = record("500001")
    assert lapsed.status == RegistryStatus.EXPIRED
    assert lapsed.history.first().history_change_reason == "有効期限までに更新されなかったため失効"
    visible = set(Listing.objects.visible().values_list("record__registration_number", flat=True))
    assert visible == {"500002"}
    body = text(client.get("/specialists/"))
    assert "期限 切子" not in body
    assert "継続 続子" in body
    assert client.get("/specialists/500001/").status_code == 404


def test_running_twice_changes_nothing(clock, people):
    day = LAST_DAY + dt.timedelta(days=1)
    expire(day)
    history = RegistryRecord.history.count()
    updates = AuditEvent.objects.filter(action="registry.update").count()
    output = expire(day)
    assert "失効 0 件、更新申請の審査待ちのため保留 0 件" in output
    assert RegistryRecord.history.count() == history
    assert AuditEvent.objects.filter(action="registry.update").count() == updates
    runs = AuditEvent.objects.filter(action="registry.expiry_run").order_by("id")
    assert [e.data["expired"] for e in runs] == [["500001"], []]


def test_a_disaster_extension_keeps_the_registration_until_valid_until(clock, people, operator):
    create_specialists(
        make_input(registration_number="500003", name="延長 長子", expires_on=LAST_DAY,
                   home_prefecture="43"),
    )  # fmt: skip
    # Normal deadline 2026-09-22; the new deadline 2026-11-11 keeps it valid to 2027-01-10.
    measure = DisasterMeasure.objects.create(
        title="令和8年9月豪雨",
        deadline_from=dt.date(2026, 9, 1),
        deadline_to=dt.date(2026, 9, 30),
        new_deadline=dt.date(2026, 11, 11),
    )
    measure.prefectures.set(["43"])
    assert apply_disaster_measure(measure, actor=operator).covered == ["500003"]

    expire(LAST_DAY + dt.timedelta(days=1))
    assert record("500001").status == RegistryStatus.EXPIRED
    assert record("500003").status == RegistryStatus.ACTIVE
    expire(dt.date(2027, 1, 10))
    assert record("500003").status == RegistryStatus.ACTIVE

    def visible(day: dt.date) -> set[str]:
        listings = Listing.objects.visible(day)
        return set(listings.values_list("record__registration_number", flat=True))

    # Listings are confirmed yearly; keep this one fresh for the check.
    Listing.objects.filter(record__registration_number="500003").update(updated_at=noon(LAST_DAY))
    assert "500003" in visible(dt.date(2027, 1, 10))
    output = expire(dt.date(2027, 1, 11))
    assert "失効 1 件" in output
    assert record("500003").status == RegistryStatus.EXPIRED
    assert "500003" not in visible(dt.date(2027, 1, 11))


def test_a_pending_renewal_keeps_the_registrant_active_and_is_listed(clock, people):
    RegistrantRequest.objects.create(
        record=record("500001"),
        kind=RequestKind.RENEWAL,
        status=RequestStatus.SUBMITTED,
        fiscal_year=2026,
        submitted_at=noon(dt.date(2026, 9, 1)),
    )
    output = expire(LAST_DAY + dt.timedelta(days=1))
    assert "失効 0 件、更新申請の審査待ちのため保留 1 件" in output
    assert "500001 期限 切子" in output
    assert record("500001").status == RegistryStatus.ACTIVE
    # A rejected application no longer holds the expiry back.
    RegistrantRequest.objects.update(status=RequestStatus.REJECTED)
    assert "失効 1 件" in expire(LAST_DAY + dt.timedelta(days=1))
    assert record("500001").status == RegistryStatus.EXPIRED


def test_other_statuses_are_left_alone(clock):
    create_specialists(
        make_input(registration_number="500004", expires_on=dt.date(2020, 3, 31),
                   status="deregistered"),
    )  # fmt: skip
    assert "失効 0 件" in expire(LAST_DAY)
    assert record("500004").status == RegistryStatus.DEREGISTERED


def test_a_bad_date_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("expire_registrations", "--today=2026/11/22")
