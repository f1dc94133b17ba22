"""Issue 13, findings 1, 2, 6, 11 and 12: every password check is throttled in one
place, per-address limits behind a proxy, password-reset and sign-up abuse, and
concurrent sign-ins. Each test is named after the finding it pins down."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import get_hasher
from django.db import connection
from django.test import Client, RequestFactory, override_settings

from sekispe.accounts.models import User
from sekispe.core import ratelimit
from tests.factories import PASSWORD, make_user, text
from tests.outbox_support import delivered
from tests.test_settings import MINIMAL_PROD_ENV, run_prod

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PASSWORD_CHANGE = "/accounts/password-change/"
RESET = "/accounts/password-reset/"
RESET_DONE = "/accounts/password-reset/done/"
SIGNUP = "/accounts/signup/"
NEW_PASSWORD = "quiet-harbour-lantern-73"
THROTTLED = re.compile(r"ログインの試行回数が上限に達しました。\d+分後にもう一度お試しください。")


def post_login(client, email, password=PASSWORD):
    return client.post(LOGIN, {"email": email, "password": password})


def post_admin_login(client, email, password=PASSWORD):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"})


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def account_limit() -> int:
    return settings.LOGIN_FAILURES_PER_ACCOUNT[0]


# ------------------------------------------------- 1. every password check


def test_finding_01_admin_login_is_throttled(client, operator):
    for _ in range(40):
        post_admin_login(client, operator.email, "guess")
    response = post_admin_login(client, operator.email)
    assert not is_signed_in(client), "the 41st attempt, with the right password, got in"
    assert response.status_code == 200  # the admin form shows its error again


def test_finding_01_admin_and_app_failures_share_one_budget(operator):
    admin, app = Client(), Client()
    for _ in range(account_limit() - 2):
        post_admin_login(admin, operator.email, "guess")
    for _ in range(2):
        assert post_login(app, operator.email, "guess").status_code == 400
    # Spent across the two pages: neither checks the right password now.
    response = post_login(app, operator.email)
    assert response.status_code == 429
    assert THROTTLED.search(text(response))
    assert int(response["Retry-After"]) > 0
    post_admin_login(admin, operator.email)
    assert not is_signed_in(admin) and not is_signed_in(app)


def test_finding_01_app_failures_block_the_admin_login(operator):
    app, admin = Client(), Client()
    for _ in range(account_limit()):
        post_login(app, operator.email, "guess")
    post_admin_login(admin, operator.email)
    assert not is_signed_in(admin)


def test_finding_01_authenticate_itself_is_throttled(sme):
    """Any caller of `authenticate` (a future API included) gets the same budget."""
    factory = RequestFactory()
    for _ in range(account_limit()):
        request = factory.post("/api/token/", REMOTE_ADDR="198.51.100.20")
        assert authenticate(request, username=sme.email, password="guess") is None
    request = factory.post("/api/token/", REMOTE_ADDR="198.51.100.20")
    assert authenticate(request, username=sme.email, password=PASSWORD) is None
    assert post_login(Client(), sme.email).status_code == 429


def test_finding_01_password_change_is_throttled(client, sme):
    client.force_login(sme)
    for _ in range(account_limit()):
        response = client.post(
            PASSWORD_CHANGE,
            {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        assert response.status_code == 200
    response = client.post(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200, "the right old password was checked past the limit"
    assert THROTTLED.search(text(response))
    sme.refresh_from_db()
    assert sme.check_password(PASSWORD)
    # The same budget as signing in.
    assert post_login(Client(), sme.email).status_code == 429


def test_finding_01_password_change_success_still_works(client, sme):
    client.force_login(sme)
    response = client.post(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == "/accounts/password-change/done/"


# ------------------------------------------------------ 2. behind a proxy


def test_finding_02_client_ip_names_the_setting_the_settings_read():
    doc = ratelimit.client_ip.__doc__
    assert "SEKISPE_TRUSTED_PROXY_HOPS" not in doc
    assert "TRUSTED_PROXY_HOPS" in doc
    assert isinstance(settings.TRUSTED_PROXY_HOPS, int)


def test_finding_02_deployment_docs_explain_proxies_and_rate_limits():
    doc = (ROOT / "docs" / "deployment.md").read_text()
    assert "## Proxies and rate limits" in doc
    section = doc.split("## Proxies and rate limits", 1)[1].split("\n## ", 1)[0]
    for needle in ("TRUSTED_PROXY_HOPS", "LOGIN_FAILURES_PER_ACCOUNT", "LOGIN_FAILURES_PER_IP"):
        assert needle in section


def test_finding_02_production_refuses_a_proxy_header_without_proxy_hops():
    env = {k: v for k, v in MINIMAL_PROD_ENV.items() if k != "TRUSTED_PROXY_HOPS"}
    result = run_prod("check", **env)
    assert result.returncode != 0, "production started with the proxy hops unset"
    assert "TRUSTED_PROXY_HOPS" in result.stderr
    for bad in ("", "-1"):
        result = run_prod("check", **env, TRUSTED_PROXY_HOPS=bad)
        assert result.returncode != 0 and "TRUSTED_PROXY_HOPS" in result.stderr
    for good in ("0", "1"):  # 0 says explicitly: no proxy in front
        result = run_prod("check", **env, TRUSTED_PROXY_HOPS=good)
        assert result.returncode == 0, result.stderr


@override_settings(LOGIN_FAILURES_PER_IP=(20, 900))
def test_finding_02_failures_from_an_address_never_block_a_correct_password(sme, operator):
    """Everyone behind one unconfigured proxy shares its address."""
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        assert post_login(proxy, sme.email, "guess").status_code == 400
    for i in range(25):
        assert post_login(proxy, f"nobody{i}@example.jp", "guess").status_code == 400
    # An account not under attack, from the same address, with the right password.
    colleague = Client(REMOTE_ADDR="10.0.0.1")
    response = post_login(colleague, operator.email)
    assert response.status_code == 302, "one address's failures locked out another account"
    # The account that was guessed at, but not to its own limit, still signs in.
    assert post_login(Client(REMOTE_ADDR="10.0.0.1"), sme.email).status_code == 302


@override_settings(LOGIN_FAILURES_PER_IP=(3, 900))
def test_finding_02_a_busy_address_gets_one_try_per_account(sme, institution):
    """Past its budget an address still slows guessing: one check per account a window."""
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    for i in range(3):
        post_login(attacker, f"nobody{i}@example.jp", "guess")
    assert post_login(attacker, sme.email, "guess").status_code == 400  # checked
    response = post_login(attacker, sme.email, "guess")
    assert response.status_code == 429  # not checked
    assert int(response["Retry-After"]) > 0
    # Another account, and the same account from elsewhere, are still checked.
    assert post_login(attacker, institution.email, "guess").status_code == 400
    assert post_login(Client(REMOTE_ADDR="192.0.2.50"), sme.email).status_code == 302


@override_settings(TRUSTED_PROXY_HOPS=1, LOGIN_FAILURES_PER_IP=(3, 900))
def test_finding_02_behind_a_configured_proxy_addresses_count_apart(sme):
    attacker = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")
    for i in range(5):
        post_login(attacker, f"nobody{i}@example.jp", "guess")
    post_login(attacker, sme.email, "guess")
    assert post_login(attacker, sme.email, "guess").status_code == 429
    visitor = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert post_login(visitor, sme.email, "guess").status_code == 400  # its own budget


# ----------------------------------------------------- 6. password reset


def test_finding_06_password_reset_is_limited_per_target_account(client, sme):
    responses = [client.post(RESET, {"email": sme.email}) for _ in range(30)]
    assert {(r.status_code, r["Location"]) for r in responses} == {(302, RESET_DONE)}
    sent = delivered()
    limit = settings.PASSWORD_RESETS_PER_EMAIL[0]
    assert 1 <= len(sent) <= limit < 30
    # Other addresses are not the target: a request from elsewhere is refused too.
    Client(REMOTE_ADDR="192.0.2.80").post(RESET, {"email": sme.email})
    assert len(delivered()) == len(sent)


def test_finding_06_password_reset_is_limited_per_client_address(client):
    for i in range(30):
        make_user("sme", f"user{i}@example.co.jp")
    responses = [client.post(RESET, {"email": f"user{i}@example.co.jp"}) for i in range(30)]
    assert {(r.status_code, r["Location"]) for r in responses} == {(302, RESET_DONE)}
    limit = settings.PASSWORD_RESETS_PER_IP[0]
    assert 1 <= len(delivered()) <= limit < 30
    # Another address still gets its mail.
    Client(REMOTE_ADDR="192.0.2.81").post(RESET, {"email": "user29@example.co.jp"})
    assert delivered()[-1].to == ["user29@example.co.jp"]


# ----------------------------------------------------- 11. sign-up timing


def _signup(client, email):
    return client.post(
        SIGNUP,
        {
            "organization": "有限会社みなと印刷",
            "display_name": "港 一郎",
            "email": email,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )


def test_finding_11_signup_hashes_one_password_whether_the_address_exists(client, sme, monkeypatch):
    hasher_class = type(get_hasher())
    original = hasher_class.encode
    calls: list[str] = []

    def counting_encode(self, password, salt, *args, **kwargs):
        calls.append(password)
        return original(self, password, salt, *args, **kwargs)

    monkeypatch.setattr(hasher_class, "encode", counting_encode)
    assert _signup(client, "minato@print.example.jp")["Location"] == "/accounts/signup/sent/"
    new_address = len(calls)
    calls.clear()
    assert _signup(client, sme.email)["Location"] == "/accounts/signup/sent/"
    known_address = len(calls)
    assert new_address == 1
    assert known_address == new_address, "a known address answered without hashing"


# ------------------------------------------------- 12. concurrent sign-ins


def _race(user_email: str, attempts: int, monkeypatch) -> int:
    checks = 0
    lock = threading.Lock()
    original = User.check_password

    def counting_check(self, raw_password):
        nonlocal checks
        with lock:
            checks += 1
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", counting_check)
    barrier = threading.Barrier(attempts)
    errors: list[BaseException] = []

    def attempt():
        try:
            client = Client()
            barrier.wait()
            response = post_login(client, user_email, "guess")
            assert response.status_code in (400, 429), response.status_code
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return checks


@pytest.mark.django_db(transaction=True)
def test_finding_12_concurrent_wrong_passwords_get_at_most_the_limit_of_checks(monkeypatch):
    user = make_user("sme", "race@example.co.jp")
    checks = _race(user.email, 30, monkeypatch)
    assert checks <= account_limit(), f"{checks} password checks against a limit of 5"
    assert checks >= 1
