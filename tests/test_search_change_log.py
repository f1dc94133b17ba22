"""Issue 13, finding 3, the other bulk paths, under the change log (issue 18): a
long write logs its changes once, at its end, in one INSERT, instead of once
per row; and a failed block logs nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sekispe.core.changes import deferred_changes, record_changes
from sekispe.core.models import SearchChange
from sekispe.registry.models import DisasterMeasure
from sekispe.registry.services import apply_disaster_measure
from tests.factories import create_specialists, make_input

pytestmark = pytest.mark.django_db


def generation_writes(queries: CaptureQueriesContext) -> list[int]:
    """Positions of the statements that write the change log."""
    return [
        i
        for i, q in enumerate(queries.captured_queries)
        if "core_searchchange" in q["sql"].lower()
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]


def test_changes_in_a_block_become_one_insert_at_its_end():
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), deferred_changes():
        for i in range(5):
            record_changes(listing_ids=[i + 1, 1])
        assert not SearchChange.objects.exists()  # nothing written yet
        with deferred_changes():  # nested blocks defer to the outermost
            record_changes(record_ids=[7])
    assert len(generation_writes(queries)) == 1
    logged = SearchChange.objects.values_list("listing_id", "record_id")
    assert sorted(logged, key=str) == sorted(
        [(i, None) for i in range(1, 6)] + [(None, 7)], key=str
    )  # duplicates collapse


def test_a_failed_block_logs_nothing():
    with pytest.raises(RuntimeError), transaction.atomic(), deferred_changes():
        record_changes(listing_ids=[1])
        raise RuntimeError
    assert not SearchChange.objects.exists()
    record_changes(listing_ids=[1])  # and logging works normally afterwards
    assert SearchChange.objects.filter(listing_id=1).count() == 1


def test_everything_is_one_row_naming_nothing():
    record_changes(everything=True)
    assert list(SearchChange.objects.values_list("listing_id", "record_id")) == [(None, None)]


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
    # The last write of the transaction: one INSERT, after every record's change.
    later = [
        q["sql"]
        for q in queries.captured_queries[writes[0] + 1 :]
        if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
    ]
    assert later == []
