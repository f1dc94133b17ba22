"""The permission matrix: every route, for every role and for anonymous visitors.

`test_every_route_is_in_the_matrix` fails when a URL is added without a row
here, so a new page cannot ship without a decision about who may use it.

Expected cells:
- "ok": the role may use it (any status below 400, or 400 for an empty form);
- "login": anonymous, sent to the login page;
- "redirect": any redirect (the view ends the session);
- 403: signed in with the wrong role;
- 404: the object is not theirs or does not exist;
- 405: the method is not allowed.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from sekispe.accounts.services import invite_specialist
from sekispe.listings.models import Listing, ListingStatus
from sekispe.registry.models import RegistryRecord
from tests import (
    permission_rows_claim,
    permission_rows_deemed_me,
    permission_rows_deemed_ops,
    permission_rows_diagnosis,
    permission_rows_events,
    permission_rows_inquiries,
    permission_rows_insights,
    permission_rows_intake,
    permission_rows_onboarding,
    permission_rows_opendata,
    permission_rows_operations,
    permission_rows_ordering,
    permission_rows_pages,
    permission_rows_public_registry,
    permission_rows_registry_ops,
    permission_rows_reports,
    permission_rows_requests,
    permission_rows_security_action,
)
from tests.factories import create_specialists, make_input
from tests.permission_common import (
    ADMIN,
    ALL_405,
    NOBODY_404,
    OPERATOR_ONLY,
    PUBLIC,
    ROLES,
    SIGNED_IN,
    SPECIALIST_ONLY,
    Route,
)

pytestmark = pytest.mark.django_db

MATRIX: tuple[Route, ...] = (
    # Public pages and the public API.
    Route("search:index", "GET", "/specialists/", PUBLIC),
    Route("search:detail", "GET", "/specialists/{published}/", PUBLIC),
    Route("search:detail", "GET", "/specialists/{draft}/", NOBODY_404),
    Route("search:contact", "POST", "/specialists/{published}/contact/", PUBLIC),
    Route("search:contact", "POST", "/specialists/{draft}/contact/", NOBODY_404),
    Route("search:contact", "GET", "/specialists/{published}/contact/", ALL_405),
    Route("healthz", "GET", "/healthz", PUBLIC),
    Route("set_language", "POST", "/i18n/setlang/", PUBLIC),
    Route("api-v1:api-root", "GET", "/api/v1/", NOBODY_404),
    Route("api-v1:search_specialists", "GET", "/api/v1/specialists", PUBLIC),
    Route("api-v1:specialist_detail", "GET", "/api/v1/specialists/{published}", PUBLIC),
    Route("api-v1:specialist_detail", "GET", "/api/v1/specialists/{draft}", NOBODY_404),
    Route("api-v1:reference", "GET", "/api/v1/reference", PUBLIC),
    Route("api-v1:openapi-json", "GET", "/api/v1/openapi.json", PUBLIC),
    Route("api-v1:openapi-view", "GET", "/api/v1/docs", PUBLIC),
    # Accounts.
    Route("accounts:login", "GET", "/accounts/login/", PUBLIC),
    Route("accounts:logout", "POST", "/accounts/logout/", PUBLIC),
    Route("accounts:logout", "GET", "/accounts/logout/", ALL_405),
    Route("accounts:home", "GET", "/accounts/", SIGNED_IN),
    Route("accounts:logout_everywhere", "GET", "/accounts/logout-everywhere/", SIGNED_IN),
    # Signing out everywhere ends this session too, so the user lands on the login page.
    Route(
        "accounts:logout_everywhere",
        "POST",
        "/accounts/logout-everywhere/",
        {**dict.fromkeys(ROLES, "redirect"), "anonymous": "login"},
    ),
    Route("accounts:signup", "GET", "/accounts/signup/", PUBLIC),
    Route("accounts:signup_sent", "GET", "/accounts/signup/sent/", PUBLIC),
    Route("accounts:verify_email", "GET", "/accounts/verify/MQ/bogus-token/", PUBLIC),
    Route("accounts:accept_invitation", "GET", "/accounts/invitation/{token}/", PUBLIC),
    # Signed-in users are asked to sign out first and learn nothing about the token.
    Route(
        "accounts:accept_invitation",
        "GET",
        "/accounts/invitation/bogus/",
        {**dict.fromkeys(ROLES, "ok"), "anonymous": 404},
    ),
    Route("accounts:password_reset", "GET", "/accounts/password-reset/", PUBLIC),
    Route("accounts:password_reset_done", "GET", "/accounts/password-reset/done/", PUBLIC),
    Route("accounts:password_reset_confirm", "GET", "/accounts/reset/MQ/bogus/", PUBLIC),
    Route("accounts:password_reset_complete", "GET", "/accounts/reset/done/", PUBLIC),
    Route("accounts:password_change", "GET", "/accounts/password-change/", SIGNED_IN),
    Route("accounts:password_change_done", "GET", "/accounts/password-change/done/", SIGNED_IN),
    # The registrant's front page (issue 16, part 5): their own record only.
    Route("me:home", "GET", "/me/", SPECIALIST_ONLY),
    Route(
        "me:home", "POST", "/me/", {**SPECIALIST_ONLY, "specialist": 405, "other_specialist": 405}
    ),
    # The specialist's own listing: no ids, so nobody can reach another's.
    Route("me:listing", "GET", "/me/listing/", SPECIALIST_ONLY),
    Route("me:listing", "POST", "/me/listing/", SPECIALIST_ONLY),
    Route("me:availability", "GET", "/me/listing/availability/", SPECIALIST_ONLY),
    Route("me:availability", "POST", "/me/listing/availability/", SPECIALIST_ONLY),
    Route("me:preview", "GET", "/me/listing/preview/", SPECIALIST_ONLY),
    Route("me:submit", "POST", "/me/listing/submit/", SPECIALIST_ONLY),
    Route("me:confirm", "POST", "/me/listing/confirm/", SPECIALIST_ONLY),
    Route("me:withdraw", "GET", "/me/listing/withdraw/", SPECIALIST_ONLY),
    Route("me:reopen", "POST", "/me/listing/reopen/", SPECIALIST_ONLY),
    Route("me:export", "GET", "/me/data.json", SPECIALIST_ONLY),
    # The operators' back office.
    Route("backoffice:dashboard", "GET", "/ops/", OPERATOR_ONLY),
    Route("backoffice:reviews", "GET", "/ops/reviews/", OPERATOR_ONLY),
    Route("backoffice:review", "GET", "/ops/reviews/{submitted_id}/", OPERATOR_ONLY),
    Route("backoffice:review", "POST", "/ops/reviews/{submitted_id}/", OPERATOR_ONLY),
    Route("backoffice:listings", "GET", "/ops/listings/", OPERATOR_ONLY),
    Route("backoffice:listing", "GET", "/ops/listings/{published_id}/", OPERATOR_ONLY),
    Route("backoffice:listing", "POST", "/ops/listings/{published_id}/", OPERATOR_ONLY),
    Route("backoffice:registry", "GET", "/ops/registry/", OPERATOR_ONLY),
    Route("backoffice:record", "GET", "/ops/registry/{record_id}/", OPERATOR_ONLY),
    Route("backoffice:record", "POST", "/ops/registry/{record_id}/", OPERATOR_ONLY),
    Route(
        "backoffice:listing_history",
        "GET",
        "/ops/history/listing/{published_id}/",
        OPERATOR_ONLY,
    ),
    Route("backoffice:record_history", "GET", "/ops/history/record/{record_id}/", OPERATOR_ONLY),
    Route("backoffice:institutions", "GET", "/ops/institutions/", OPERATOR_ONLY),
    Route("backoffice:institution_new", "GET", "/ops/institutions/new/", OPERATOR_ONLY),
    Route("backoffice:institution_new", "POST", "/ops/institutions/new/", OPERATOR_ONLY),
    Route("backoffice:analysts", "GET", "/ops/analysts/", OPERATOR_ONLY),
    Route("backoffice:analyst_new", "GET", "/ops/analysts/new/", OPERATOR_ONLY),
    Route("backoffice:analyst_new", "POST", "/ops/analysts/new/", OPERATOR_ONLY),
    Route("backoffice:criteria", "GET", "/ops/criteria/", OPERATOR_ONLY),
    Route("backoffice:criteria", "POST", "/ops/criteria/", OPERATOR_ONLY),
    Route("admin:index", "GET", "/admin/", ADMIN),
    Route("admin:listings_listing_changelist", "GET", "/admin/listings/listing/", ADMIN),
    Route(
        "admin:registry_registryrecord_changelist",
        "GET",
        "/admin/registry/registryrecord/",
        ADMIN,
    ),
    Route("admin:accounts_user_changelist", "GET", "/admin/accounts/user/", ADMIN),
    # Registry operations (issue 4): each area keeps its rows in its own file.
    *permission_rows_public_registry.ROWS,
    *permission_rows_requests.ROWS,
    *permission_rows_registry_ops.ROWS,
    *permission_rows_reports.ROWS,
    # The SME self-diagnosis (issue 5).
    *permission_rows_diagnosis.ROWS,
    # SECURITY ACTION declarations (issue 17, part 3).
    *permission_rows_security_action.ROWS,
    # Inquiries, consultation events and the ordering page (issue 6).
    *permission_rows_inquiries.ROWS,
    *permission_rows_events.ROWS,
    *permission_rows_ordering.ROWS,
    # Running it as a service (issue 12).
    *permission_rows_operations.ROWS,
    # Deemed attendance (issue 14): the specialist's pages and the certifier's link.
    *permission_rows_deemed_me.ROWS,
    # Deemed attendance (issue 14): the operators' pages and the report.
    *permission_rows_deemed_ops.ROWS,
    # The start page, the legal pages and the operators' notices (issue 15).
    *permission_rows_pages.ROWS,
    # Registration intake (issue 16, part 4): /register/ and /ops/applications/.
    *permission_rows_intake.ROWS,
    # Claiming an account and contact-change requests (issue 16, part 1).
    *permission_rows_claim.ROWS,
    # Bulk invitations, registrant mailings and the unsubscribe link (issue 16, parts 2 and 3).
    *permission_rows_onboarding.ROWS,
    # The policy view for analysts and operators (issue 17).
    *permission_rows_insights.ROWS,
    # The supply-and-demand map, prefecture pages and open statistics (issue 17).
    *permission_rows_opendata.ROWS,
)
AREAS = (
    permission_rows_public_registry,
    permission_rows_requests,
    permission_rows_registry_ops,
    permission_rows_reports,
    permission_rows_diagnosis,
    permission_rows_events,
    permission_rows_inquiries,
    permission_rows_ordering,
    permission_rows_operations,
    permission_rows_deemed_me,
    permission_rows_deemed_ops,
    permission_rows_pages,
    permission_rows_intake,
    permission_rows_claim,
    permission_rows_onboarding,
    permission_rows_insights,
    permission_rows_security_action,
    permission_rows_opendata,
)
# Operators' ids in /ops/ URLs are safe: operators may see every object.


def _personas() -> dict[str, Any]:
    """The personas of tests/conftest.py, built once for the module (the
    conftest fixtures are per test)."""
    from tests.factories import make_specialist_user, make_user

    return {
        "anonymous": None,
        "sme": make_user("sme", "sme@example.co.jp", organization="株式会社サンプル製作所"),
        "institution": make_user(
            "institution", "staff@cci.example.jp", organization="サンプル商工会議所"
        ),
        "specialist": make_specialist_user("100001", name="佐藤 健太"),
        "other_specialist": make_specialist_user(
            "100002", name="鈴木 花子", email="suzuki@example.jp"
        ),
        "operator": make_user("operator", "operator@ipa.example.jp", display_name="運営 太郎"),
        "analyst": make_user(
            "analyst",
            "analyst@meti.example.go.jp",
            organization="経済産業省",
            display_name="政策 花子",
        ),
    }


def _build_world() -> dict[str, Any]:
    """Objects the routes point at, and the personas."""
    users = _personas()
    specialist, operator = users["specialist"], users["operator"]
    long_profile = "中小企業の情報セキュリティ規程の整備とリスク分析を支援しています。" * 4
    create_specialists(
        make_input(registration_number="100003", name="山田 一郎", profile=long_profile),
        make_input(registration_number="100004", name="田中 美咲", profile=long_profile),
    )
    Listing.objects.filter(record__registration_number="100003").update(status=ListingStatus.DRAFT)
    Listing.objects.filter(record__registration_number="100004").update(
        status=ListingStatus.SUBMITTED
    )
    invited = RegistryRecord.objects.get(registration_number="100003")
    token = invite_specialist(invited, "yamada@example.jp", actor=operator)
    world: dict[str, Any] = {
        "users": users,
        "published": "100001",
        "published_id": specialist.record.listing.pk,
        "draft": "100003",
        "submitted_id": Listing.objects.get(record__registration_number="100004").pk,
        "record_id": invited.pk,
        "token": token,
    }
    for area in AREAS:
        area.extend_world(world)
    return world


@pytest.fixture(scope="module")
def _module_world(module_db, django_db_blocker) -> dict[str, Any]:
    """Built once per module (per xdist worker) inside `module_db`'s outer
    transaction: rebuilding it for every route cost most of the matrix's time."""
    with django_db_blocker.unblock():
        return _build_world()


@pytest.fixture
def world(_module_world: dict[str, Any], db) -> dict[str, Any]:
    """The module's world with the personas read again from the database: the
    cached instances outlive each test's rollback (force_login saves
    `last_login` on them, for one), so no test sees what an earlier one did."""
    users = {
        role: None if user is None else type(user).objects.get(pk=user.pk)
        for role, user in _module_world["users"].items()
    }
    return {**_module_world, "users": users}


def _route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace or ""
                walk(pattern.url_patterns, f"{namespace}{ns}:" if ns else namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns, "")
    return names


def test_every_route_is_in_the_matrix():
    """Every named route outside the admin has at least one row (the admin's
    own pages all sit behind the one admin permission, sampled above)."""
    covered = {route.name for route in MATRIX}
    missing = {
        name for name in _route_names() if not name.startswith("admin:") and name not in covered
    }
    assert not missing, f"routes without a permission decision: {sorted(missing)}"


def _check(route: Route, role: str, world: dict[str, Any]) -> str | None:
    """None when the cell holds, else what happened instead."""
    client = Client()
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    path = route.path(world)
    response = client.post(path) if route.method == "POST" else client.get(path)
    expected = route.expected[role]
    status = response.status_code
    location = response.get("Location", "")
    if expected == "ok":
        holds = (status < 400 or status == 400) and not (status == 302 and "/login/" in location)
    elif expected == "redirect":
        holds = status == 302
    elif expected == "login":
        holds = status == 302 and "/login/" in location
    else:
        holds = status == expected
    return None if holds else f"{role}: expected {expected}, got {status} {location}"


# One test per route (the seven roles share its setup); every cell is checked
# and all failures are reported together.
@pytest.mark.parametrize("route", MATRIX, ids=[str(r) for r in MATRIX])
def test_permission_matrix(route: Route, world: dict[str, Any]):
    failures = [f for role in ROLES if (f := _check(route, role, world))]
    assert not failures, f"{route} {route.path(world)}: {failures}"


POST_ROUTES = [
    route
    for route in MATRIX
    if route.method == "POST" and {"ok", "redirect"} & set(route.expected.values())
]


def _allowed_role(route: Route) -> str:
    return next(role for role in ROLES[::-1] if route.expected[role] in ("ok", "redirect"))


@pytest.mark.parametrize("route", POST_ROUTES, ids=[str(r) for r in POST_ROUTES])
def test_every_post_without_a_csrf_token_is_refused(route: Route, world: dict[str, Any]):
    """CSRF is enforced on every form: the role allowed to post gets 403 without a token."""
    client = Client(enforce_csrf_checks=True)
    user = world["users"][_allowed_role(route)]
    if user is not None:
        client.force_login(user)
    assert client.post(route.path(world)).status_code == 403


# Views that take a POST without a CSRF token, each for a stated reason.
CSRF_EXEMPT = {
    # RFC 8058: the mailbox provider's server posts; the signed token in the
    # URL authorises it, and only the exact one-click body is accepted.
    "onboarding:unsubscribe_one_click",
}


def test_only_the_json_api_and_one_click_unsubscribe_skip_csrf():
    """The JSON API authenticates no session cookie (django-ninja exempts it);
    anything else exempt from CSRF must be listed above with its reason."""
    from django.urls import URLResolver, get_resolver

    def views(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or ""
                yield from views(
                    pattern.url_patterns, f"{namespace}:{inner}".strip(":") if inner else namespace
                )
            else:
                yield f"{namespace}:{pattern.name}".strip(":"), pattern.callback

    exempt = {
        name
        for name, view in views(get_resolver().url_patterns)
        if getattr(view, "csrf_exempt", False)
    }
    assert {name for name in exempt if not name.startswith("api-v1:")} == CSRF_EXEMPT
