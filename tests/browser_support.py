"""Helpers shared by the Playwright tests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection


def db(query: Any) -> Any:
    """Run an ORM query off this thread: Playwright's event loop runs here, and
    Django refuses synchronous queries from a thread with a running loop."""

    def run() -> Any:
        try:
            return query()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def sign_in(page: Any, base: str, email: str) -> None:
    """Through the real login page, with the factories' password."""
    from tests.factories import PASSWORD

    page.goto(f"{base}/accounts/login/")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_load_state()
