"""Which tests .ci/run's PostgreSQL run keeps (SEKISPE_DATABASE_TESTS_ONLY=1):
those pytest-django lets open the database, and no other."""

import pytest

from tests.conftest import uses_database


def test_a_test_that_cannot_open_the_database_is_left_to_the_sqlite_run(request):
    assert not uses_database(request.node)


@pytest.mark.django_db
def test_a_test_marked_for_the_database_runs_on_both(request):
    assert uses_database(request.node)


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_runs_on_both(request):
    assert uses_database(request.node)


def test_a_test_asking_for_the_db_fixture_runs_on_both(request, db):
    assert uses_database(request.node)


@pytest.fixture
def _registry_rows(db):
    return []


def test_a_test_whose_fixture_needs_the_database_runs_on_both(request, _registry_rows):
    assert uses_database(request.node)


def test_a_live_server_test_runs_on_both(request, live_server):
    assert uses_database(request.node)
