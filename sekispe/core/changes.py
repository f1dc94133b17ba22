"""The search change log: which listings changed, written with the change itself.

Lower apps (registry, listings, inquiries) record here what they changed; the
search app reads it (`sekispe.search.index`). Recording costs one INSERT of a
few rows and takes no lock another writer waits on, unlike the single
generation row it replaces.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from sekispe.core.models import SearchChange

_deferred = threading.local()


def _pending() -> dict[str, set[int] | bool] | None:
    return getattr(_deferred, "pending", None)


def record_changes(
    *, listing_ids: Iterable[int] = (), record_ids: Iterable[int] = (), everything: bool = False
) -> None:
    """Log that these listings (or the listings of these registry records) changed.

    `everything`: too much changed to name (bulk writes that send no signals);
    search then rebuilds its snapshot once instead of applying deltas.
    """
    listings = {int(i) for i in listing_ids if i is not None}
    records = {int(i) for i in record_ids if i is not None}
    if not (listings or records or everything):
        return
    pending = _pending()
    if pending is not None:
        pending["listings"] |= listings  # type: ignore[operator]
        pending["records"] |= records  # type: ignore[operator]
        pending["everything"] = pending["everything"] or everything
        return
    _write(listings, records, everything)


def record_everything() -> None:
    record_changes(everything=True)


def _write(listings: set[int], records: set[int], everything: bool) -> None:
    if everything:
        rows = [SearchChange()]
    else:
        rows = [SearchChange(listing_id=i) for i in sorted(listings)]
        rows += [SearchChange(record_id=i) for i in sorted(records)]
    with transaction.atomic():
        SearchChange.objects.bulk_create(rows, batch_size=2000)


@contextmanager
def deferred_changes() -> Iterator[None]:
    """Inside a long transaction: the changes of the block are written once, at its end.

    A bulk write whose saves record through signals would otherwise insert row
    by row; deferred, duplicates collapse and one INSERT is made. Use it
    directly inside the `transaction.atomic()` it belongs to.
    """
    outer = _pending()
    if outer is not None:  # nested: the outermost block writes
        yield
        return
    _deferred.pending = {"listings": set(), "records": set(), "everything": False}
    try:
        yield
        pending = _deferred.pending
    finally:
        _deferred.pending = None
    # Reached only when the block succeeded: a failed one rolls back anyway.
    _write(pending["listings"], pending["records"], pending["everything"])  # type: ignore[arg-type]


def latest_change() -> int:
    """The id of the newest change (0 when none): the search generation."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM core_searchchange")
        row = cursor.fetchone()
    return int(row[0] or 0)
