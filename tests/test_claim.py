"""Claiming an account by registration number (issue 16, part 1).

The link goes only to the registry's e-mail, the answer never depends on the
number, the link is an invitation (single-use, 24 hours) that binds the
account to the record, and someone with a wrong registry e-mail can ask for a
correction that lands in the operators' queue.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client, override_settings

from sekispe.accounts.models import ContactChangeRequest, ContactChangeState, Invitation, Role, User
from sekispe.audit.models import AuditEvent
from sekispe.outbox.models import OutgoingMail
from sekispe.registry.models import RegistryRecord, RegistryStatus
from tests.factories import make_specialist_user, text
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

PASSWORD = "tidal-orchard-compass-58"
LINK = re.compile(r"/accounts/invitation/[\w-]+/")


def _record(number: str, *, email: str = "", status: str = RegistryStatus.ACTIVE):
    return RegistryRecord.objects.create(
        registration_number=number,
        name="高橋 誠",
        name_kana="タカハシ マコト",
        registered_on=dt.date(2025, 4, 1),
        expires_on=dt.date(2028, 3, 31),
        home_prefecture_id="13",
        email=email,
        status=status,
    )


@pytest.fixture
def record(db):
    return _record("300001", email="takahashi@example.jp")


def claim(client: Client, number: str, **extra: str):
    return client.post("/accounts/claim/", {"registration_number": number, **extra})


def _normalised(response) -> str:
    # The CSRF token is the only thing allowed to differ between two answers.
    body = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)


def _claim_link(client: Client, number: str) -> str:
    claim(client, number)
    (message,) = delivered()
    return LINK.search(message.body).group(0)


# ---------------------------------------------------------------- the page


def test_claim_page_asks_only_for_the_number_and_explains_contact_change(client):
    response = client.get("/accounts/claim/")
    body = text(response)
    assert response.status_code == 200
    assert 'name="registration_number"' in body
    assert 'type="email"' not in body and 'name="email"' not in body
    # Always shown, whatever the visitor types: how to fix a wrong registry e-mail.
    assert 'href="/accounts/claim/contact-change/"' in body


def test_sign_in_page_links_to_the_claim_page(client):
    assert 'href="/accounts/claim/"' in text(client.get("/accounts/login/"))


def test_a_malformed_number_is_named_and_nothing_is_queued(client, record):
    response = claim(client, "12ab")
    assert response.status_code == 400
    assert "登録番号は6桁の数字で入力してください。" in text(response)
    assert not OutgoingMail.objects.exists()


# ----------------------------------------------------------- enumeration


def test_same_answer_for_unknown_inactive_claimed_no_email_and_valid(db):
    _record("300001", email="valid@example.jp")
    _record("300002", email="gone@example.jp", status=RegistryStatus.EXPIRED)
    _record("300003", email="")
    make_specialist_user("300004")
    RegistryRecord.objects.filter(registration_number="300004").update(email="owner@example.jp")
    answers = []
    for number in ("300001", "399999", "300002", "300003", "300004"):
        client = Client()
        response = claim(client, number)
        followed = client.get(response["Location"])
        answers.append(
            (
                response.status_code,
                response["Location"],
                followed.status_code,
                _normalised(followed),
            )
        )
    assert answers[0][:3] == (302, "/accounts/claim/sent/", 200)
    assert all(answer == answers[0] for answer in answers), "the answer depends on the number"
    # Only the valid, unclaimed, reachable record got a link.
    assert list(OutgoingMail.objects.values_list("to", flat=True)) == ["valid@example.jp"]


def test_full_width_digits_are_read_as_the_number(client, record):
    claim(client, "３００００１")
    assert [m.to for m in delivered()] == [["takahashi@example.jp"]]


# ------------------------------------------------- the registry address only


def test_the_mail_goes_to_the_registry_address_and_forged_fields_are_ignored(client, record):
    other = _record("300009", email="other@example.jp")
    response = claim(
        client,
        "300001",
        email="attacker@example.com",
        new_email="attacker@example.com",
        record=str(other.pk),
        record_id=str(other.pk),
    )
    assert response.status_code == 302
    (message,) = delivered()
    assert message.to == ["takahashi@example.jp"]
    assert "attacker" not in message.body
    (invitation,) = Invitation.objects.all()
    assert invitation.record == record and invitation.email == "takahashi@example.jp"
    # Only the hash of the token is stored.
    token = LINK.search(message.body).group(0).split("/")[-2]
    assert (
        invitation.token_hash == Invitation.hash_token(token) and token not in invitation.token_hash
    )


def test_the_link_binds_the_account_to_that_record(client, record):
    path = _claim_link(client, "300001")
    page = Client().get(path)
    assert page.status_code == 200 and "300001" in text(page)
    response = Client().post(
        path, {"password1": PASSWORD, "password2": PASSWORD, "record": "999", "email": "x@y.jp"}
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert (user.email, user.role, user.record) == ("takahashi@example.jp", Role.SPECIALIST, record)
    assert AuditEvent.objects.filter(
        action="accounts.claim_sent", target_id=str(record.pk)
    ).exists()


def test_the_link_works_once(client, record):
    path = _claim_link(client, "300001")
    first = Client().post(path, {"password1": PASSWORD, "password2": PASSWORD})
    assert first.status_code == 302
    assert Client().get(path).status_code == 404
    again = Client().post(path, {"password1": PASSWORD, "password2": PASSWORD})
    assert again.status_code == 404
    assert User.objects.count() == 1


def test_the_link_lasts_24_hours():
    _record("300001", email="takahashi@example.jp")
    start = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        path = _claim_link(Client(), "300001")
        clock.move_to(start + dt.timedelta(hours=24) - dt.timedelta(minutes=1))
        assert Client().get(path).status_code == 200
        clock.move_to(start + dt.timedelta(hours=24, minutes=1))
        assert Client().get(path).status_code == 404
        late = Client().post(path, {"password1": PASSWORD, "password2": PASSWORD})
        assert late.status_code == 404
    assert not User.objects.exists()


def test_a_claim_does_not_cancel_an_operators_invitation(client, record, operator):
    from sekispe.accounts.services import invite_specialist

    token = invite_specialist(record, "takahashi@example.jp", actor=operator)
    claim(client, "300001")
    assert Client().get(f"/accounts/invitation/{token}/").status_code == 200


# ----------------------------------------------------------- rate limits


@override_settings(CLAIMS_PER_IP=(3, 3600), CLAIMS_PER_NUMBER=(100, 3600))
def test_claims_are_limited_per_address(record):
    numbers = ["399991", "399992", "399993"]
    client = Client(REMOTE_ADDR="203.0.113.7")
    for number in numbers:
        assert claim(client, number).status_code == 302
    refused = claim(client, "300001")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert not OutgoingMail.objects.exists()
    # Another address is not held back.
    assert claim(Client(REMOTE_ADDR="198.51.100.2"), "300001").status_code == 302
    assert OutgoingMail.objects.count() == 1


@override_settings(CLAIMS_PER_IP=(100, 3600), CLAIMS_PER_NUMBER=(2, 3600))
def test_claims_are_limited_per_number_without_telling(record):
    answers = [claim(Client(REMOTE_ADDR=f"203.0.113.{i}"), "300001") for i in range(1, 5)]
    # The same answer past the limit; the registrant's mailbox is not flooded.
    assert {(r.status_code, r["Location"]) for r in answers} == {(302, "/accounts/claim/sent/")}
    assert OutgoingMail.objects.filter(to="takahashi@example.jp").count() == 2
    # Another number has its own budget.
    _record("300002", email="second@example.jp")
    claim(Client(REMOTE_ADDR="203.0.113.9"), "300002")
    assert OutgoingMail.objects.filter(to="second@example.jp").count() == 1


@override_settings(CLAIMS_PER_IP=(100, 3600), CLAIMS_PER_NUMBER=(1, 3600))
def test_the_number_budget_comes_back_after_its_window(record):
    start = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        claim(Client(), "300001")
        claim(Client(), "300001")
        assert OutgoingMail.objects.count() == 1
        clock.move_to(start + dt.timedelta(hours=1, minutes=1))
        claim(Client(), "300001")
        assert OutgoingMail.objects.count() == 2


# -------------------------------------------------- contact-change request

CHANGE = {
    "registration_number": "300001",
    "name": "高橋 誠",
    "name_kana": "タカハシ マコト",
    "new_email": "Takahashi.New@Example.jp",
    "phone": "03-0000-0000",
    "reason": "登録時のメールアドレスを退職で使えなくなりました。",
}


def test_contact_change_form_names_every_missing_field(client):
    response = client.post("/accounts/claim/contact-change/", {})
    body = text(response)
    assert response.status_code == 400
    for label in ("登録番号", "氏名", "氏名（カナ）", "新しいメールアドレス", "変更の理由"):
        assert label in body
    assert not ContactChangeRequest.objects.exists()


def test_contact_change_answer_does_not_depend_on_the_number(record):
    answers = []
    for number in ("300001", "399999"):
        client = Client()
        response = client.post(
            "/accounts/claim/contact-change/", {**CHANGE, "registration_number": number}
        )
        followed = client.get(response["Location"])
        answers.append((response.status_code, response["Location"], _normalised(followed)))
    assert answers[0] == answers[1]
    assert answers[0][1] == "/accounts/claim/contact-change/sent/"
    assert "このあとの流れ" in answers[0][2]
    assert ContactChangeRequest.objects.count() == 2
    # Nothing changes in the registry until an operator acts.
    record.refresh_from_db()
    assert record.email == "takahashi@example.jp"


@override_settings(CONTACT_CHANGES_PER_IP=(1, 3600))
def test_contact_change_requests_are_limited_per_address(db):
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert client.post("/accounts/claim/contact-change/", CHANGE).status_code == 302
    assert client.post("/accounts/claim/contact-change/", CHANGE).status_code == 429
    assert ContactChangeRequest.objects.count() == 1


def test_contact_change_lands_in_the_ops_queue_and_applies_through_the_registry(
    client_for, operator
):
    record = _record("300001", email="")
    Client().post("/accounts/claim/contact-change/", CHANGE)
    item = ContactChangeRequest.objects.get()
    assert item.state == ContactChangeState.OPEN and item.new_email == "takahashi.new@example.jp"
    ops = client_for(operator)
    queue = text(ops.get("/ops/contact-changes/"))
    assert f"/ops/contact-changes/{item.pk}/" in queue and "高橋 誠" in queue
    detail = ops.get(f"/ops/contact-changes/{item.pk}/")
    assert detail.status_code == 200 and f"/ops/registry/{record.pk}/" in text(detail)

    response = ops.post(
        f"/ops/contact-changes/{item.pk}/", {"decision": "apply", "note": "電話で本人確認"}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    item.refresh_from_db()
    assert record.email == "takahashi.new@example.jp"
    assert (item.state, item.handled_by, item.operator_note) == (
        ContactChangeState.APPLIED,
        operator,
        "電話で本人確認",
    )
    # The record edit is the audited one, with history.
    assert record.history.filter(history_change_reason__contains=f"#{item.pk}").exists()
    assert AuditEvent.objects.filter(action="accounts.contact_change_applied").exists()
    # The new address gets a claim link straight away.
    (message,) = delivered()
    assert message.to == ["takahashi.new@example.jp"] and LINK.search(message.body)
    # Deciding twice is refused.
    again = ops.post(f"/ops/contact-changes/{item.pk}/", {"decision": "dismiss", "note": "x"})
    assert again.status_code == 200 or again.status_code == 400
    item.refresh_from_db()
    assert item.state == ContactChangeState.APPLIED


def test_an_operator_can_dismiss_a_request_for_an_unknown_number(client_for, operator):
    Client().post("/accounts/claim/contact-change/", {**CHANGE, "registration_number": "399999"})
    item = ContactChangeRequest.objects.get()
    ops = client_for(operator)
    refused = ops.post(f"/ops/contact-changes/{item.pk}/", {"decision": "apply", "note": "確認"})
    assert refused.status_code == 400 and "登録簿にありません" in text(refused)
    ops.post(f"/ops/contact-changes/{item.pk}/", {"decision": "dismiss", "note": "該当なし"})
    item.refresh_from_db()
    assert item.state == ContactChangeState.DISMISSED
    assert f"/ops/contact-changes/{item.pk}/" not in text(ops.get("/ops/contact-changes/"))
    assert f"/ops/contact-changes/{item.pk}/" in text(ops.get("/ops/contact-changes/?state=closed"))


def test_the_ops_menu_leads_to_the_contact_change_queue(client_for, operator):
    body = text(client_for(operator).get("/ops/"))
    assert 'href="/ops/contact-changes/"' in body


def test_sme_sign_up_page_sends_registrants_to_the_claim_page(client):
    assert 'href="/accounts/claim/"' in text(client.get("/accounts/signup/"))
