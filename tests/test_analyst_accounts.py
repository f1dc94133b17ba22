"""Policy staff accounts (issue 17, part 1): operators create them, the owner
sets a password through the mailed link, and nobody else may create one."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from sekispe.accounts.models import Role, User
from sekispe.accounts.services import AccountError, create_analyst_account
from sekispe.audit.models import AuditEvent
from tests.factories import text
from tests.outbox_support import delivered

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet-harbour-lantern-73"


def test_an_operator_creates_an_analyst_who_sets_a_password_by_mail(client, operator):
    response = client_post_as(
        client,
        operator,
        "/ops/analysts/new/",
        {
            "organization": "経済産業省 サイバーセキュリティ課",
            "display_name": "政策 花子",
            "email": "Hanako@METI.example.go.jp",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="hanako@meti.example.go.jp")
    assert user.role == Role.ANALYST and not user.has_usable_password()
    assert AuditEvent.objects.filter(action="accounts.analyst_created", target_id=str(user.pk))
    assert "政策 花子" in text(client.get("/ops/analysts/"))
    client.logout()
    (message,) = delivered()
    assert message.to == ["hanako@meti.example.go.jp"]
    assert "個人を特定できる情報は表示されません" in message.body
    url = re.search(r"https?://\S+", message.body).group(0)
    path = url.removeprefix(settings.SITE_URL.rstrip("/"))
    form_page = client.get(path, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    response = client.post(
        "/accounts/login/", {"email": "hanako@meti.example.go.jp", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert "政策担当（集計の閲覧）" in text(client.get("/accounts/"))


def test_only_operators_create_analyst_accounts(institution, analyst):
    for actor in (institution, analyst):
        with pytest.raises(AccountError):
            create_analyst_account(
                "x@example.go.jp", organization="経済産業省", display_name="x", actor=actor
            )
    assert not User.objects.filter(email="x@example.go.jp").exists()


def test_the_same_address_is_refused_with_the_field_named(client, operator, analyst):
    response = client_post_as(
        client,
        operator,
        "/ops/analysts/new/",
        {"organization": "IPA", "display_name": "重複", "email": analyst.email},
    )
    assert response.status_code == 400 or response.status_code == 200
    assert "このメールアドレスはすでに登録されています。" in text(response)


def client_post_as(client, user, path, data):
    client.force_login(user)
    return client.post(path, data)
