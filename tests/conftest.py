from __future__ import annotations

import os
import shutil

import pytest

from sekispe.search import bots, demand
from sekispe.search.index import reset_index

# Set by .ci/run for its PostgreSQL suite only (docs/deployment.md, "tests only").
DATABASE_TESTS_ONLY = "SEKISPE_DATABASE_TESTS_ONLY"
_DATABASE_FIXTURES = {"_django_db_helper", "live_server"}


def checks_layout(item: pytest.Item) -> bool:
    """Whether the test checks only how pages look in Chromium: widths,
    overflow, clipping, axe-core, the focus ring. The rows behind a page are
    the same fixtures on either database, and geometry does not depend on the
    engine that stored them; the views' data and SQL are tested on both."""
    return item.get_closest_marker("layout") is not None


def uses_database(item: pytest.Item) -> bool:
    """Whether pytest-django lets this test open the test database: a
    `django_db` mark, a fixture built on db or transactional_db, or
    live_server (which asks for transactional_db at run time). The two modules
    that unblock the database by hand carry the mark as well."""
    if item.get_closest_marker("django_db") is not None:
        return True
    return bool(_DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """CI runs the suite twice, on SQLite and on PostgreSQL. A test that cannot
    open the database (pytest-django refuses it) gives the same result on both,
    and so does a layout check in Chromium: the PostgreSQL run leaves both to
    the SQLite run. Together about a fifth of the suite's CPU time, none of
    its database coverage."""
    if os.environ.get(DATABASE_TESTS_ONLY) != "1":
        return
    kept, left = [], []
    for item in items:
        (kept if uses_database(item) and not checks_layout(item) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


@pytest.fixture(autouse=True)
def _fresh_search_index():
    """Each test starts with no in-memory index and no unflushed search-demand
    counts, so it never sees another test's rows (nor writes them into its database)."""
    reset_index()
    demand.reset()
    bots.reset()
    yield
    reset_index()
    demand.reset()
    bots.reset()


@pytest.fixture(autouse=True)
def _default_language():
    """A request in English leaves English active in its thread (LocaleMiddleware
    activates per request and never resets), so each test starts in the default."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session", autouse=True)
def _flush_postgresql_by_delete():
    """On PostgreSQL, flush (after every transactional test: live servers, worker
    processes) deletes the rows instead of truncating the tables. TRUNCATE gives
    each of the ~100 tables new files whether it holds rows or not: a teardown
    took 0.6 s on a quiet machine and 1.5-3 s on a busy one; with DELETE it
    takes 0.25 s (mostly post_migrate re-creating content types), leaving the
    same empty tables. Foreign keys are deferrable (Django creates
    them so), checked at the flush's commit, when every table is empty; there
    are no triggers (no RunSQL in any migration). Sequences are not reset, as
    with TRUNCATE without RESTART IDENTITY (reset_sequences=True keeps Django's
    own TRUNCATE)."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        yield
        return
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            "SET CONSTRAINTS ALL DEFERRED;",
            # Table names from Django's introspection, quoted: no outside input.
            *(f"DELETE FROM {self.quote_name(table)};" for table in tables),  # noqa: S608
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, started after (so stopped before) the test
    database: otherwise its thread can still hold a PostgreSQL connection when
    the test database is dropped."""
    return live_server


# Personas, one per role (see docs/architecture.md, "Roles").
@pytest.fixture
def operator(db):
    from tests.factories import make_user

    return make_user("operator", "operator@ipa.example.jp", display_name="運営 太郎")


@pytest.fixture
def specialist(db):
    from tests.factories import make_specialist_user

    return make_specialist_user("100001", name="佐藤 健太")


@pytest.fixture
def other_specialist(db):
    from tests.factories import make_specialist_user

    return make_specialist_user("100002", name="鈴木 花子", email="suzuki@example.jp")


@pytest.fixture
def sme(db):
    from tests.factories import make_user

    return make_user("sme", "sme@example.co.jp", organization="株式会社サンプル製作所")


@pytest.fixture
def institution(db):
    from tests.factories import make_user

    return make_user("institution", "staff@cci.example.jp", organization="サンプル商工会議所")


@pytest.fixture
def analyst(db):
    from tests.factories import make_user

    return make_user(
        "analyst", "analyst@meti.example.go.jp", organization="経済産業省", display_name="政策 花子"
    )


@pytest.fixture
def client_for(client):
    """`client_for(user)`: the test client signed in as `user` (None: anonymous)."""

    def sign_in(user):
        if user is not None:
            client.force_login(user)
        return client

    return sign_in


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def chromium():
    """Headless Debian Chromium. Request it after the fixtures that write test
    data: Playwright's sync API runs an event loop in this thread, and Django
    then keeps ORM connections per context, out of reach of the test teardown."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    page = chromium.new_page(locale="ja-JP")
    yield page
    page.close()


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker):
    """One outer transaction per database for the whole module, rolled back when
    the module ends: a module-scoped fixture that requests this (and writes under
    `django_db_blocker.unblock()`) builds its rows once instead of once per test.
    Each test still gets pytest-django's own transaction, which nests as a
    savepoint inside this one, so whatever a test writes (sessions, rate-limit
    counters, a POST's changes) is rolled back before the next test starts."""
    from contextlib import ExitStack

    from django.db import connections, transaction

    outer = ExitStack()
    with django_db_blocker.unblock():
        for alias in connections:
            outer.enter_context(transaction.atomic(using=alias))
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            for alias in connections:
                transaction.set_rollback(True, using=alias)
            outer.close()
