"""Specialists get an account only through an operator's invitation bound to their record."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from sekispe.accounts.models import Invitation, Role, User
from sekispe.accounts.services import AccountError, invite_specialist
from sekispe.listings.models import Listing, ListingStatus
from sekispe.registry.models import RegistryRecord
from tests.factories import create_specialists, make_input, text
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

PASSWORD = "tidal-orchard-compass-58"
INVALID = "この招待リンクは無効か、有効期限が切れています。"


@pytest.fixture
def record(db):
    """A registry record with no listing and no account yet."""
    return RegistryRecord.objects.create(
        registration_number="300001",
        name="高橋 誠",
        name_kana="タカハシ マコト",
        registered_on=dt.date(2025, 4, 1),
        expires_on=dt.date(2028, 3, 31),
        home_prefecture_id="13",
    )


@pytest.fixture
def invite(operator, django_capture_on_commit_callbacks):
    """`invite(record, email)`: sends the invitation (mail included) and returns its path."""

    def send(record, email="takahashi@example.jp"):
        with django_capture_on_commit_callbacks(execute=True):
            token = invite_specialist(record, email, actor=operator)
        return f"/accounts/invitation/{token}/"

    return send


def accept(client, path, **extra):
    return client.post(path, {"password1": PASSWORD, "password2": PASSWORD, **extra})


def test_invitation_mail_carries_the_link(record, invite):
    path = invite(record)
    (message,) = delivered()
    assert message.to == ["takahashi@example.jp"]
    assert "高橋 誠 様" in message.body
    assert re.search(r"/accounts/invitation/[\w-]+/", message.body).group(0) == path
    # Only the hash is stored.
    assert path.split("/")[-2] not in Invitation.objects.get().token_hash


def test_invitation_page_shows_the_record_not_a_number_field(client, record, invite):
    path = invite(record)
    response = client.get(path)
    body = text(response)
    assert response.status_code == 200
    assert "高橋 誠" in body and "登録番号</dt><dd>300001</dd>" in body
    assert 'value="takahashi@example.jp"' in body and 'autocomplete="username"' in body
    assert body.count('autocomplete="new-password"') == 2
    assert 'name="record"' not in body and 'name="registration_number"' not in body


def test_accepting_creates_a_bound_specialist_with_a_draft_listing(client, record, invite):
    path = invite(record)
    response = accept(client, path)
    assert response.status_code == 302
    assert response["Location"] == "/me/listing/"
    user = User.objects.get(email="takahashi@example.jp")
    assert (user.role, user.record, user.is_active) == (Role.SPECIALIST, record, True)
    assert user.email_verified_at is not None
    assert user.check_password(PASSWORD)
    assert int(client.session["_auth_user_id"]) == user.pk
    listing = Listing.objects.get(record=record)
    assert listing.status == ListingStatus.DRAFT
    assert Invitation.objects.get().used_at is not None


def test_accepting_keeps_an_existing_listing(client, invite):
    create_specialists(make_input(registration_number="300002", name="田中 美咲"))
    record = RegistryRecord.objects.get(registration_number="300002")
    accept(client, invite(record, "tanaka@example.jp"))
    assert User.objects.get(email="tanaka@example.jp").record == record
    assert Listing.objects.get(record=record).status == ListingStatus.PUBLISHED


def test_link_works_only_once(client, record, invite):
    path = invite(record)
    assert accept(client, path).status_code == 302
    other = Client()
    response = other.get(path)
    assert response.status_code == 404 and INVALID in text(response)
    response = accept(other, path)
    assert response.status_code == 404
    assert User.objects.filter(role=Role.SPECIALIST).count() == 1


def test_link_expires_after_fourteen_days(record, invite):
    start = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        path = invite(record)
        clock.move_to(start + dt.timedelta(days=14) - dt.timedelta(minutes=1))
        assert Client().get(path).status_code == 200
        clock.move_to(start + dt.timedelta(days=14, minutes=1))
        response = Client().get(path)
        assert response.status_code == 404 and INVALID in text(response)
        assert accept(Client(), path).status_code == 404
    assert not User.objects.filter(record=record).exists()


def test_newer_invitation_revokes_the_older(record, invite):
    first = invite(record, "old@example.jp")
    second = invite(record, "new@example.jp")
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200
    assert accept(Client(), first).status_code == 404
    assert accept(Client(), second).status_code == 302
    assert User.objects.get(record=record).email == "new@example.jp"


@pytest.mark.parametrize("persona", ["specialist", "sme", "institution"])
def test_only_operators_invite(request, record, persona):
    actor = request.getfixturevalue(persona)
    with pytest.raises(AccountError):
        invite_specialist(record, "takahashi@example.jp", actor=actor)
    assert not Invitation.objects.exists()
    assert delivered() == []


def test_forged_record_fields_are_ignored(client, record, invite, other_specialist):
    target = RegistryRecord.objects.create(
        registration_number="300009",
        name="別人 太郎",
        name_kana="ベツジン タロウ",
        registered_on=dt.date(2025, 4, 1),
        expires_on=dt.date(2028, 3, 31),
        home_prefecture_id="13",
    )
    path = invite(record)
    response = accept(client, path, record=target.pk, registration_number="300009")
    assert response.status_code == 302
    user = User.objects.get(email="takahashi@example.jp")
    assert user.record == record
    assert not User.objects.filter(record=target).exists()
    assert not Listing.objects.filter(record=target).exists()


def test_weak_password_keeps_the_link_usable(client, record, invite):
    path = invite(record)
    response = client.post(path, {"password1": "12345678", "password2": "12345678"})
    assert response.status_code == 400
    assert 'id="id_password2_error"' in text(response)
    assert not User.objects.filter(record=record).exists()
    assert accept(client, path).status_code == 302


def test_address_already_in_use_is_a_form_error(client, record, invite, sme):
    path = invite(record, sme.email)
    response = accept(client, path)
    assert response.status_code == 400
    assert "このメールアドレスはすでに別のアカウントで使われています" in text(response)
    # Nothing was used up or created.
    assert Invitation.objects.get().used_at is None
    assert not User.objects.filter(record=record).exists()


def test_signed_in_visitors_are_asked_to_log_out_first(client_for, record, invite, sme):
    path = invite(record)
    client = client_for(sme)
    response = client.get(path)
    body = text(response)
    assert response.status_code == 200
    assert "いったんログアウトしてから" in body
    assert 'name="password1"' not in body
    assert f'<input type="hidden" name="next" value="{path}">' in body
    accept(client, path)
    assert not User.objects.filter(record=record).exists()
    # Logging out from that page comes back to the link.
    response = client.post("/accounts/logout/", {"next": path})
    assert response["Location"] == path
    assert 'name="password1"' in text(client.get(path))


def test_unknown_token_is_404(client):
    response = client.get("/accounts/invitation/not-a-real-token/")
    assert response.status_code == 404
    assert INVALID in text(response)
