"""Which tests .ci/run's PostgreSQL run keeps (SEKISPE_DATABASE_TESTS_ONLY=1):
those pytest-django lets open the database, except the layout checks."""

import pytest

from tests.conftest import (
    DATABASE_TESTS_ONLY,
    checks_layout,
    pytest_collection_modifyitems,
    uses_database,
)


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


@pytest.mark.layout
def test_a_layout_check_is_left_to_the_sqlite_run(request, db):
    assert uses_database(request.node) and checks_layout(request.node)


def test_only_marked_tests_are_layout_checks(request, db):
    assert not checks_layout(request.node)


class _Item:
    def __init__(self, name: str, marks: tuple[str, ...] = (), fixtures: tuple[str, ...] = ()):
        self.name, self.marks, self.fixturenames = name, marks, fixtures

    def get_closest_marker(self, name: str) -> object:
        return name if name in self.marks else None


class _Config:
    def __init__(self) -> None:
        self.deselected: list[str] = []
        self.hook = self

    def pytest_deselected(self, items: list[_Item]) -> None:
        self.deselected += [item.name for item in items]


@pytest.mark.parametrize("variable", ["1", None])
def test_the_postgresql_run_keeps_the_database_tests_but_not_the_layout_checks(
    monkeypatch, variable
):
    items = [
        _Item("no database"),
        _Item("database", ("django_db",)),
        _Item("live server", fixtures=("live_server",)),
        _Item("layout", ("django_db", "layout")),
    ]
    if variable is None:
        monkeypatch.delenv(DATABASE_TESTS_ONLY, raising=False)
    else:
        monkeypatch.setenv(DATABASE_TESTS_ONLY, variable)
    config = _Config()
    pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    if variable is None:
        assert [item.name for item in items] == ["no database", "database", "live server", "layout"]
        assert config.deselected == []
    else:
        assert [item.name for item in items] == ["database", "live server"]
        assert config.deselected == ["no database", "layout"]
