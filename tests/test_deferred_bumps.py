"""Issue 13, finding 3, the other bulk paths: a long write bumps the search
generation once, at its end, instead of once per row (each bump row-locks the
one SearchGeneration row until commit, and every other write waits on it)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sekispe.registry.models import DisasterMeasure
from sekispe.registry.services import apply_disaster_measure
from sekispe.search.index import current_generation
from sekispe.search.services import bump_generation, deferred_bumps
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _generation_row():
    bump_generation()  # the row exists, so one bump is one UPDATE


def generation_writes(queries: CaptureQueriesContext) -> list[int]:
    """Positions of the statements that write the generation row."""
    return [
        i
        for i, q in enumerate(queries.captured_queries)
        if "search_searchgeneration" in q["sql"].lower()
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]


def test_bumps_in_a_block_become_one_at_its_end():
    before = current_generation()
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), deferred_bumps():
        for _ in range(5):
            bump_generation()
        assert current_generation() == before  # nothing locked yet
        with deferred_bumps():  # nested blocks defer to the outermost
            bump_generation()
    assert len(generation_writes(queries)) == 1
    assert current_generation() != before


def test_a_failed_block_does_not_bump():
    before = current_generation()
    with pytest.raises(RuntimeError), transaction.atomic(), deferred_bumps():
        bump_generation()
        raise RuntimeError
    assert current_generation() == before
    bump_generation()  # and bumping works normally afterwards
    assert current_generation() != before


def test_finding_03_a_disaster_measure_over_many_records_bumps_once_at_the_end(operator):
    create_specialists(
        *(
            make_input(
                registration_number=f"{400000 + i}",
                home_prefecture="43",
                expires_on=dt.date(2027, 3, 31),
            )
            for i in range(12)
        )
    )
    measure = DisasterMeasure.objects.create(
        title="令和9年1月地震",
        deadline_from=dt.date(2027, 1, 1),
        deadline_to=dt.date(2027, 1, 31),
        new_deadline=dt.date(2027, 3, 1),
    )
    measure.prefectures.set(["43"])
    with CaptureQueriesContext(connection) as queries:
        result = apply_disaster_measure(measure, actor=operator)
    assert len(result.covered) == 12
    writes = generation_writes(queries)
    assert len(writes) == 1
    # The last write of the transaction, so the row is locked only while it commits.
    later = [
        q["sql"]
        for q in queries.captured_queries[writes[0] + 1 :]
        if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
    ]
    assert later == []
