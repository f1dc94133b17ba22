from __future__ import annotations

import pytest

from sekispe.search.index import reset_index


@pytest.fixture(autouse=True)
def _fresh_search_index():
    """Each test starts with no in-memory index, so it never sees another test's rows."""
    reset_index()
    yield
    reset_index()


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, started after (so stopped before) the test
    database: otherwise its thread can still hold a PostgreSQL connection when
    the test database is dropped."""
    return live_server
