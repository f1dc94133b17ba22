"""Rebuild every measure into `Fact`, in one transaction.

Each area computes its cells from a few aggregate queries (`insights.areas`);
the old cells are then deleted and the new ones bulk-inserted in the same
transaction, so a page reads either the previous refresh or this one. The
`Refresh` row records when, how long and how many cells.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone

from sekispe.insights.areas import demand, funnel, registrants, security_action, smes, supply
from sekispe.insights.measures import BY_SLUG
from sekispe.insights.models import Fact, Refresh
from sekispe.insights.projection import projection_tally
from sekispe.insights.tally import Cell, Tally

BATCH_SIZE = 5_000

AREAS: tuple[tuple[str, Callable[[dt.date], list[Tally]]], ...] = (
    ("registrants", registrants.compute),
    ("supply", supply.compute),
    ("demand", demand.compute),
    ("funnel", funnel.compute),
    ("smes", smes.compute),
    ("security_action", security_action.compute),
)


def compute_all(today: dt.date, progress: Callable[[str], None] | None = None) -> list[Tally]:
    tallies: list[Tally] = []
    for name, compute in AREAS:
        tallies.extend(compute(today))
        if progress is not None:
            progress(name)
    tallies.append(projection_tally(tallies, today))
    return tallies


def _facts(cells: Iterable[Cell]) -> Iterable[Fact]:
    for cell in cells:
        assert cell.measure in BY_SLUG, cell.measure  # noqa: S101 — declared in measures.py
        yield Fact(
            measure=cell.measure,
            month=cell.month,
            prefecture=cell.prefecture,
            theme=cell.theme,
            key=cell.key,
            value=cell.value,
        )


def refresh_insights(
    today: dt.date | None = None, progress: Callable[[str], None] | None = None
) -> Refresh:
    """Recompute every measure as of `today` (Japan time) and replace the facts.

    `progress` is called with each area's name once it is computed (the
    command's progress bar)."""
    today = today or timezone.localdate()
    started_at = timezone.now()
    clock = time.perf_counter()
    tallies = compute_all(today, progress)
    facts = [fact for tally in tallies for fact in _facts(tally.cells())]
    with transaction.atomic():
        Fact.objects.all().delete()
        Fact.objects.bulk_create(facts, batch_size=BATCH_SIZE)
        seconds = time.perf_counter() - clock
        run = Refresh.objects.create(
            started_at=started_at,
            finished_at=timezone.now(),
            as_of=today,
            cells=len(facts),
            seconds=seconds,
        )
    if progress is not None:
        progress("write")
    return run
