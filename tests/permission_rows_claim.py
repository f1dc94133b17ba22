"""Permission rows: claiming an account by registration number /accounts/claim/
(public, no account) and the operators' contact-change queue
/ops/contact-changes/ (issue 16, part 1).

Rows use the constants of tests/permission_common.py; `extend_world` adds the
objects their URL templates point at to the matrix's `world`.
"""

from __future__ import annotations

from typing import Any

from tests.permission_common import ALL_405, OPERATOR_ONLY, PUBLIC, Route

ROWS: tuple[Route, ...] = (
    Route("accounts:claim", "GET", "/accounts/claim/", PUBLIC),
    # An empty POST re-renders the form with its error (the matrix's "ok").
    Route("accounts:claim", "POST", "/accounts/claim/", PUBLIC),
    Route("accounts:claim_sent", "GET", "/accounts/claim/sent/", PUBLIC),
    Route("accounts:claim_sent", "POST", "/accounts/claim/sent/", ALL_405),
    Route("accounts:claim_contact_change", "GET", "/accounts/claim/contact-change/", PUBLIC),
    Route("accounts:claim_contact_change", "POST", "/accounts/claim/contact-change/", PUBLIC),
    Route(
        "accounts:claim_contact_change_sent", "GET", "/accounts/claim/contact-change/sent/", PUBLIC
    ),
    Route(
        "accounts:claim_contact_change_sent",
        "POST",
        "/accounts/claim/contact-change/sent/",
        ALL_405,
    ),
    Route("ops_contact_changes:list", "GET", "/ops/contact-changes/", OPERATOR_ONLY),
    Route(
        "ops_contact_changes:list",
        "POST",
        "/ops/contact-changes/",
        {**OPERATOR_ONLY, "operator": 405},
    ),
    Route(
        "ops_contact_changes:detail",
        "GET",
        "/ops/contact-changes/{contact_change_id}/",
        OPERATOR_ONLY,
    ),
    # An empty POST re-renders the decision form with its error.
    Route(
        "ops_contact_changes:detail",
        "POST",
        "/ops/contact-changes/{contact_change_id}/",
        OPERATOR_ONLY,
    ),
    Route(
        "ops_contact_changes:detail",
        "GET",
        "/ops/contact-changes/999999/",
        {**OPERATOR_ONLY, "operator": 404},
    ),
)


def extend_world(world: dict[str, Any]) -> None:
    """One open contact-change request for the detail rows."""
    from sekispe.accounts.claim import submit_contact_change

    world["contact_change_id"] = submit_contact_change(
        registration_number="100003",
        name="山田 一郎",
        name_kana="ヤマダ イチロウ",
        new_email="yamada.new@example.jp",
        phone="",
        reason="登録時のメールアドレスを使わなくなりました。",
    ).pk
